/**
 * The agent's side of the spawner (node/mountns/spawner_main.ts): one long-lived process inside
 * the node's mount namespace that starts the node's short commands there and does its mounts, so
 * that the agent's thread does not spawn an `nsenter` process per command.
 *
 * - It is started in the background ({@linkcode Spawner.warm}); until it has said it is ready,
 *   and whenever it is not running, {@linkcode Spawner.request} answers `undefined` and the caller
 *   runs its command through `nsenter` as before (node/mountns/mount_ns.ts).
 * - A spawner that dies is started again at the next request (meanwhile: `nsenter`); requests it
 *   had not answered fail with {@linkcode SpawnerExitedError} (their commands may have run, so
 *   they are not repeated). One that cannot start (not ready within `startTimeoutMs`) is tried
 *   again after `retryMs`.
 * - {@linkcode Spawner.close} waits a moment for requests in flight, then closes its stdin: the
 *   spawner exits at the end of its input, as it does when the agent dies.
 *
 * @example
 * ```ts ignore
 * await using sp = new Spawner(`${dir}/mnt`);
 * sp.warm();
 * const r = await sp.request({ op: "run", argv: ["crun", "list"] }); // undefined: use nsenter
 * ```
 * @module
 */
import { ownCgroupProcsFile } from "./cgroup_warm.ts";
import type { SyncMessage } from "./conmon_sync.ts";
import type {
  MountRequest,
  Request,
  Response,
  SpawnerReady,
  SpawnRequest,
  SyncEvent,
  UnmountRequest,
  UnshareRequest,
} from "./spawner_protocol.ts";

/** A request without its id (the spawner's client numbers them). */
export type RequestBody =
  | Omit<SpawnRequest, "id">
  | Omit<MountRequest, "id">
  | Omit<UnmountRequest, "id">
  | Omit<UnshareRequest, "id">;

const NSENTER = "/usr/bin/nsenter";
const enc = new TextEncoder();

/** The spawner exited before it answered a request. */
export class SpawnerExitedError extends Error {
  override name = "SpawnerExitedError";
}

/** What a `run` request answers, decoded. */
export interface SpawnResult {
  code: number;
  signal?: string;
  stdout: Uint8Array;
  stderr: Uint8Array;
  timedOut: boolean;
  /** A `syncPipe` run: what the process writes to its sync pipe (node/mountns/conmon_sync.ts). */
  sync?: Promise<SyncMessage>;
}

export interface SpawnerOptions {
  /** How long a new spawner may take to say it is ready (default 20 s). */
  startTimeoutMs?: number;
  /** After a spawner could not start, how long requests go through `nsenter` (default 30 s). */
  retryMs?: number;
  /** The spawner's argv after `nsenter --mount=<file> --` (default: this Deno running spawner_main.ts). */
  command?: string[];
}

type Pending = { resolve(r: Response): void; reject(e: Error): void };

/** One spawner process. */
class SpawnerProcess {
  readonly child: Deno.ChildProcess;
  readonly pending = new Map<number, Pending>();
  /** `syncPipe` runs whose event has not come. */
  readonly syncs = new Map<number, (m: SyncMessage) => void>();
  readonly ready: Promise<boolean>;
  readonly done: Promise<void>;
  pid = 0;
  exited = false;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #next = 1;

  constructor(argv: string[], startTimeoutMs: number) {
    this.child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.child.stdin.getWriter();
    let ready!: (ok: boolean) => void;
    this.ready = new Promise((r) => ready = r);
    const timer = setTimeout(() => {
      ready(false);
      this.kill();
    }, startTimeoutMs);
    this.done = this.#read((line) => {
      const v = JSON.parse(line) as SpawnerReady;
      if (v.ready) {
        this.pid = v.pid;
        clearTimeout(timer);
        ready(true);
      }
    }).finally(() => {
      clearTimeout(timer);
      ready(false);
    });
  }

  async #read(onFirst: (line: string) => void): Promise<void> {
    let buf = "", first = true;
    const dec = new TextDecoder();
    try {
      // The bytes as they come, decoded here: cheaper per answer than a decoder stream stage.
      for await (const bytes of this.child.stdout) {
        buf += dec.decode(bytes, { stream: true });
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (first) {
            first = false;
            onFirst(line);
            continue;
          }
          const r = JSON.parse(line) as Response | SyncEvent;
          if ("event" in r) {
            const { event: _, id, ...m } = r;
            this.syncs.get(id)?.(m);
            this.syncs.delete(id);
            continue;
          }
          const p = this.pending.get(r.id);
          if (!p) continue;
          this.pending.delete(r.id);
          p.resolve(r);
        }
      }
    } catch {
      this.kill(); // a broken line or pipe: the spawner is unusable
    }
    this.exited = true;
    this.#writer.close().catch(() => {});
    await this.child.status;
    const err = new SpawnerExitedError(
      `the mount namespace's spawner (pid ${this.pid || this.child.pid}) exited`,
    );
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const s of this.syncs.values()) s({ error: err.message });
    this.syncs.clear();
  }

  /** Sends a request; `sync` receives a `syncPipe` run's event. */
  request(
    req: RequestBody,
    sync?: (m: SyncMessage) => void,
  ): Promise<Response> {
    if (this.exited) return Promise.reject(new SpawnerExitedError("the mount namespace's spawner exited"));
    const id = this.#next++;
    if (sync) this.syncs.set(id, sync);
    const { promise, resolve, reject } = Promise.withResolvers<Response>();
    this.pending.set(id, { resolve, reject });
    this.#writer.write(enc.encode(JSON.stringify({ ...req, id } as Request) + "\n")).catch(() => {});
    return promise;
  }

  /** Ends its input (it exits then) and waits for it, killing it after `graceMs`. */
  async close(graceMs = 2000): Promise<void> {
    await this.#writer.close().catch(() => {});
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.done;
    clearTimeout(timer);
  }

  kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch { /* gone */ }
  }
}

/** The spawner of one mount namespace, started again when it dies. */
export class Spawner implements AsyncDisposable {
  readonly nsFile: string;
  readonly #opts: Required<Omit<SpawnerOptions, "command">> & { command?: string[] };
  #proc?: SpawnerProcess;
  #downUntil = 0;
  #closed = false;

  constructor(nsFile: string, opts: SpawnerOptions = {}) {
    this.nsFile = nsFile;
    this.#opts = {
      startTimeoutMs: opts.startTimeoutMs ?? 20_000,
      retryMs: opts.retryMs ?? 30_000,
      command: opts.command,
    };
  }

  /** The running spawner's pid (0 while none is ready). */
  get pid(): number {
    return this.#proc && !this.#proc.exited ? this.#proc.pid : 0;
  }

  /** Starts a spawner in the background when none runs (and none failed lately). */
  warm(): void {
    if (this.#closed || (this.#proc && !this.#proc.exited) || Date.now() < this.#downUntil) return;
    const argv = [NSENTER, `--mount=${this.nsFile}`, "--", ...(this.#opts.command ?? defaultCommand() ?? [])];
    if (argv.length === 3) {
      this.#downUntil = Infinity;
      return;
    }
    let proc: SpawnerProcess;
    try {
      proc = new SpawnerProcess(argv, this.#opts.startTimeoutMs);
    } catch (e) {
      console.error(
        `skiff: the mount namespace's spawner could not start (${(e as Error).message}); using nsenter`,
      );
      this.#downUntil = Date.now() + this.#opts.retryMs;
      return;
    }
    this.#proc = proc;
    proc.ready.then((ok) => {
      if (ok || this.#closed) return;
      console.error(
        `skiff: the mount namespace's spawner did not start; using nsenter for ${
          this.#opts.retryMs / 1000
        } s`,
      );
      this.#downUntil = Date.now() + this.#opts.retryMs;
    });
  }

  /** Whether a spawner is running and ready. */
  #ready(): SpawnerProcess | undefined {
    const p = this.#proc;
    if (p && !p.exited && p.pid) return p;
    this.warm();
    return undefined;
  }

  /**
   * Sends one request; `undefined` when no spawner is ready (run it through `nsenter` then).
   * Rejects with {@linkcode SpawnerExitedError} when the spawner dies before answering.
   */
  request(
    req: RequestBody,
    sync?: (m: SyncMessage) => void,
  ): Promise<Response> | undefined {
    if (this.#closed) return undefined;
    return this.#ready()?.request(req, sync);
  }

  /**
   * Runs a command; `undefined` when no spawner is ready. Rejects when it could not be started.
   * With `syncPipe`, the result's `sync` is what the command writes to its sync pipe.
   */
  async run(
    req: Omit<SpawnRequest, "id" | "op" | "stdin"> & { stdin?: Uint8Array },
  ): Promise<SpawnResult | undefined> {
    const { stdin, ...rest } = req;
    const sync = req.syncPipe ? Promise.withResolvers<SyncMessage>() : undefined;
    const r = await this.request({
      ...rest,
      op: "run",
      ...(stdin?.length ? { stdin: stdin.toBase64() } : {}),
    }, sync?.resolve);
    if (!r) return undefined;
    if (r.error !== undefined) throw new Error(r.error);
    return {
      code: r.code ?? 1,
      ...(r.signal ? { signal: r.signal } : {}),
      stdout: Uint8Array.fromBase64(r.stdout ?? ""),
      stderr: Uint8Array.fromBase64(r.stderr ?? ""),
      timedOut: r.timedOut === true,
      ...(sync ? { sync: sync.promise } : {}),
    };
  }

  /** Stops the spawner: waits up to `waitMs` for requests in flight, then ends its input. */
  async close(waitMs = 5000): Promise<void> {
    this.#closed = true;
    const p = this.#proc;
    this.#proc = undefined;
    if (!p) return;
    if (p.pending.size && !p.exited) {
      const inFlight = [...p.pending.keys()];
      const end = Date.now() + waitMs;
      while (Date.now() < end && !p.exited && inFlight.some((id) => p.pending.has(id))) {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    await p.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** `deno run … spawner_main.ts` with this process's Deno; undefined when this module is not a file. */
function defaultCommand(): string[] | undefined {
  const url = new URL("./spawner_main.ts", import.meta.url);
  if (url.protocol !== "file:") return undefined;
  // SKIFF_CGROUP_WARM=0 turns the warming off, for A/B runs of the benchmarks (cgroup_warm.ts).
  const procs = Deno.env.get("SKIFF_CGROUP_WARM") === "0" ? undefined : ownCgroupProcsFile();
  return [
    Deno.execPath(),
    "run",
    "--quiet",
    "--no-config",
    // All permissions: --allow-run and --allow-ffi, which it needs, are already all of them, and
    // Deno lets only such a process write /sys (cgroup_warm.ts).
    "--allow-all",
    decodeURIComponent(url.pathname),
    ...(procs ? [`--warm-cgroup-procs=${procs}`] : []),
  ];
}
