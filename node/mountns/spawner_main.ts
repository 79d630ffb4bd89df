/**
 * The spawner: a long-lived process inside the node agent's mount namespace, started once per
 * node (`nsenter --mount=<dir>/mnt -- deno run … spawner_main.ts`, node/mountns/spawner.ts). It
 * reads requests from stdin and answers on stdout, one JSON line each
 * (node/mountns/spawner_protocol.ts), several at once:
 *
 * - `run`: starts a short, non-streaming command here and answers its exit code, stdout and
 *   stderr (killed with SIGKILL past its timeout); with `syncPipe` (conmon) it also hands the
 *   command a sync pipe and sends what is written there as a `sync` event (sync_pipe.ts);
 * - `mount` / `umount`: calls mount(2) / umount2(2) itself, no process;
 * - `unshare`: makes a pod's IPC/UTS namespaces on its own thread, no process
 *   (pod_namespaces.ts); if its thread cannot return to its own namespaces it exits.
 *
 * So the agent's thread neither blocks in `vfork` until each child has exec'd nor pays an `exec`
 * of `nsenter` per command: the spawns happen on this process's thread. It exits when its stdin
 * ends (the agent closed it, or died); commands still running then go on as orphans, as they
 * would under `nsenter`. It ignores SIGINT (a Ctrl-C at the agent's terminal reaches the whole
 * process group; the agent still needs this process while it shuts down).
 * @module
 */
import { createsContainer, warmCgroupMove } from "./cgroup_warm.ts";
import { runBounded } from "./run_bounded.ts";
import { mountFs, preloadLibc, unmount } from "./libc.ts";
import { NamespaceRestoreError, unsharePodNamespaces } from "./pod_namespaces.ts";
import { trace } from "../../plugins/host/trace.ts";
import { SyncPipe } from "./sync_pipe.ts";
import {
  DEFAULT_MAX_OUTPUT,
  type MountRequest,
  parseRequest,
  type Response,
  type SpawnRequest,
  type UnmountRequest,
  type UnshareRequest,
} from "./spawner_protocol.ts";

const enc = new TextEncoder();
let writing: Promise<void> = Promise.resolve();

/** Writes one line to stdout, after the lines before it (never interleaved). */
function send(v: unknown): void {
  const bytes = enc.encode(JSON.stringify(v) + "\n");
  writing = writing.then(async () => {
    let off = 0;
    while (off < bytes.length) off += await Deno.stdout.write(bytes.subarray(off));
  }).catch(() => Deno.exit(0)); // the agent is gone
}

/** `--warm-cgroup-procs=<file>`: this process's own `cgroup.procs`, for cgroup_warm.ts. */
const warmProcs = Deno.args.find((a) => a.startsWith("--warm-cgroup-procs="))?.slice(20);

/** A `syncPipe` request's pipe, or undefined (then its one event, an error, is sent here). */
function syncPipe(req: SpawnRequest): SyncPipe | undefined {
  if (!req.syncPipe) return undefined;
  try {
    return new SyncPipe();
  } catch (e) {
    send({ event: "sync", id: req.id, error: `no sync pipe: ${(e as Error).message}` });
    return undefined;
  }
}

async function run(req: SpawnRequest): Promise<Response> {
  if (warmProcs && createsContainer(req.argv)) warmCgroupMove(warmProcs);
  const pipe = syncPipe(req);
  let r;
  try {
    const running = runBounded({
      argv: req.argv,
      cwd: req.cwd,
      env: pipe ? { ...req.env, ...pipe.env } : req.env,
      clearEnv: req.clearEnv,
      afterSpawn: () => pipe?.spawned(),
      stdin: req.stdin ? Uint8Array.fromBase64(req.stdin) : undefined,
      timeoutMs: req.timeoutMs,
      drainMs: req.drainMs,
      maxOutput: req.maxOutput ?? DEFAULT_MAX_OUTPUT,
    });
    // Read while the command runs: conmon's message may come before its first process exits.
    pipe?.message().then((m) => {
      trace("spawner-sync", String(m.data ?? ""));
      send({ event: "sync", id: req.id, ...m });
    });
    r = await running;
  } catch (e) {
    return { id: req.id, error: `could not run ${req.argv[0]}: ${(e as Error).message}` };
  }
  return {
    id: req.id,
    code: r.code,
    ...(r.signal ? { signal: r.signal } : {}),
    ...(r.stdout.length ? { stdout: r.stdout.toBase64() } : {}),
    ...(r.stderr.length ? { stderr: r.stderr.toBase64() } : {}),
    ...(r.timedOut ? { timedOut: true } : {}),
  };
}

function mount(req: MountRequest): Response {
  // Synchronous: the working directory is the process's, and nothing else runs meanwhile.
  if (req.cwd) Deno.chdir(req.cwd);
  try {
    mountFs(req.source, req.target, req.fstype, req.data);
    return { id: req.id, code: 0 };
  } finally {
    if (req.cwd) Deno.chdir("/");
  }
}

function umount(req: UnmountRequest): Response {
  return { id: req.id, code: 0, unmounted: unmount(req.target, req.detach) };
}

function unshare(req: UnshareRequest): Response {
  trace("spawner-unshare>", req.uts ?? req.ipc);
  unsharePodNamespaces({ ipc: req.ipc, uts: req.uts, hostname: req.hostname });
  trace("spawner-unshare<");
  return { id: req.id, code: 0 };
}

function perform(req: Exclude<ReturnType<typeof parseRequest>, { invalid: string }>): Promise<Response> | Response {
  switch (req.op) {
    case "run":
      return run(req);
    case "mount":
      return mount(req);
    case "umount":
      return umount(req);
    case "unshare":
      return unshare(req);
  }
}

async function serve(line: string): Promise<void> {
  const req = parseRequest(line);
  if ("invalid" in req) {
    send({ id: req.id ?? -1, error: `invalid request: ${req.invalid}` });
    return;
  }
  try {
    send(await perform(req));
  } catch (e) {
    send({ id: req.id, error: (e as Error).message });
    // Its thread is still in a pod's namespaces: every later spawn would inherit them.
    if (e instanceof NamespaceRestoreError) await writing.then(() => Deno.exit(70));
  }
}

if (import.meta.main) {
  Deno.addSignalListener("SIGINT", () => {});
  // libc's FFI bindings now, not in the first pod's `unshare` or overlay mount (≈5 ms).
  try {
    preloadLibc();
  } catch { /* no FFI permission: mount and unshare requests fail with the reason */ }
  send({ ready: true, pid: Deno.pid });
  const dec = new TextDecoder();
  const chunk = new Uint8Array(64 * 1024);
  let buf = "";
  for (;;) {
    // Plain reads: cheaper per request than a stream with a decoder stage.
    const n = await Deno.stdin.read(chunk);
    if (n === null) break;
    buf += dec.decode(chunk.subarray(0, n), { stream: true });
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line) serve(line);
    }
  }
  Deno.exit(0);
}
