/**
 * The integration-test harness: real clusters, in-process or as `./skiff up` processes, torn down
 * on close, plus test declarations that skip when a prerequisite (kubectl, ...) is missing and fail
 * instead under `CI=true`.
 *
 * @example
 * ```ts
 * import { kubectlTest, startCluster } from "./harness.ts";
 *
 * kubectlTest("kubectl lists the default namespace", async () => {
 *   await using cluster = await startCluster();
 *   const r = await cluster.kubectl(["get", "ns", "default"]);
 *   if (r.code !== 0) throw new Error(r.stderr);
 * });
 * ```
 * @module
 */
import { writeKubeconfig } from "../cli/kubeconfig.ts";
import { readStat } from "../cli/proc.ts";
import { type Client, R } from "../control/api/client.ts";
import { startControlPlane } from "../control/mod.ts";

/** The repository root. */
export const ROOT: string = Deno.env.get("SKIFF_ROOT") ??
  decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

/** What a `kubectl` run returned. */
export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of one `kubectl` run. */
export interface KubectlOptions {
  /** Text written to kubectl's stdin (for `apply -f -`). */
  stdin?: string;
  /** Kills kubectl after this long (default 60 s). */
  timeoutMs?: number;
}

/** A running cluster; `await using` closes it. */
export interface Cluster extends AsyncDisposable {
  /** The API server URL. */
  url: string;
  /** Path of the admin kubeconfig. */
  kubeconfig: string;
  /** The data dir (state.kv, kubeconfig, logs). */
  dataDir: string;
  /** Runs kubectl against this cluster, with a discovery cache private to it. */
  kubectl(args: string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** Stops everything the harness started for this cluster. Idempotent. */
  close(): Promise<void>;
}

/** A cluster run as a `./skiff up` child process. */
export interface ClusterProcess extends Cluster {
  /** PID of `./skiff up` (the launcher execs Deno, so it is the Deno process). */
  pid: number;
  /** Sends `signal` to the `./skiff up` process. */
  kill(signal?: Deno.Signal): void;
  /** Resolves when the process has exited. */
  exited: Promise<Deno.CommandStatus>;
  /** Every stdout line so far. */
  stdoutLines(): string[];
  /** stderr so far. */
  stderr(): string;
  /** Live processes started by this `./skiff up` or its descendants (found by an environment mark). */
  processes(): number[];
  /** `fetch` against the cluster's API with its kubeconfig's CA and admin token (paths or full URLs). */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

/** Options of {@linkcode startCluster}. */
export interface ClusterOptions {
  /** Use this data dir (kept on close) instead of a fresh temporary one (removed on close). */
  dataDir?: string;
}

/** Options of {@linkcode startClusterProcess}. */
export interface ClusterProcessOptions extends ClusterOptions {
  /** Start the node agent (drops `--no-node`). Default false. */
  node?: boolean;
  /** More `./skiff up` flags. */
  args?: string[];
  /** How long to wait for the ready lines (default 30 s). */
  readyTimeoutMs?: number;
}

/** Starts a control plane in this process on a KV file in a temporary data dir, port 0. */
export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const { dataDir, dispose } = await dataDirFor(opts, "skiff-cluster-");
  let cp: Awaited<ReturnType<typeof startControlPlane>>;
  try {
    cp = await startControlPlane({ kvPath: `${dataDir}/state.kv`, port: 0 });
  } catch (e) {
    await dispose();
    throw e;
  }
  const kubeconfig = `${dataDir}/kubeconfig`;
  await writeKubeconfig(kubeconfig, cp.url);
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      try {
        await cp.close();
      } finally {
        await dispose();
      }
    })();
  return {
    url: cp.url,
    kubeconfig,
    dataDir,
    kubectl: (args, o) => runKubectl(kubeconfig, dataDir, args, o),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Runs `./skiff up --port 0 --no-node --data-dir <dir>` and waits for its `server:` and
 * `kubeconfig:` lines. For restart tests pass the same `dataDir` (from {@linkcode tempDir}) twice.
 */
export async function startClusterProcess(opts: ClusterProcessOptions = {}): Promise<ClusterProcess> {
  const { dataDir, dispose } = await dataDirFor(opts, "skiff-cluster-");
  const mark = crypto.randomUUID();
  const args = [
    "up",
    "--port",
    "0",
    "--data-dir",
    dataDir,
    ...(opts.node ? [] : ["--no-node"]),
    ...(opts.args ?? []),
  ];
  const child = new Deno.Command(`${ROOT}/skiff`, {
    args,
    // Built-in plugins are built once for every test (plugins/host/build.ts's default cache).
    env: { SKIFF_HARNESS_MARK: mark, SKIFF_PLUGIN_BUILD_CACHE: `${ROOT}/tests/.cache/plugins` },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let stderr = "";
  const ready = Promise.withResolvers<void>();
  const outReader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const errReader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const stdoutDone = (async () => {
    for await (const line of readLines(outReader)) {
      lines.push(line);
      if (lines.some((l) => l.startsWith("server: ")) && lines.some((l) => l.startsWith("kubeconfig: "))) {
        ready.resolve();
      }
    }
  })();
  const stderrDone = (async () => {
    for (let r = await errReader.read(); !r.done; r = await errReader.read()) stderr += r.value;
  })();
  const exited = child.status;
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      try {
        await stopProcess(child, 10_000);
        // The pipes close when the last holder exits: a descendant that outlived `up` keeps them open.
        const drained = await settlesWithin(Promise.all([stdoutDone, stderrDone]), 5_000);
        if (!drained) {
          const leaked = markedProcesses(mark);
          await Promise.all([outReader.cancel(), errReader.cancel()]);
          throw new Error(
            `./skiff up exited but its stdout/stderr stayed open: leaked processes ${leaked.join(", ")}`,
          );
        }
      } finally {
        await dispose();
      }
    })();

  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      ready.promise,
      exited.then((s) => {
        throw new Error(`./skiff up exited with code ${s.code} before it was ready; stderr:\n${stderr}`);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`./skiff up was not ready after ${readyTimeoutMs} ms; stderr:\n${stderr}`)),
          readyTimeoutMs,
        );
      }),
    ]);
  } catch (e) {
    await close();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  const url = lines.find((l) => l.startsWith("server: "))!.slice("server: ".length);
  const kubeconfig = lines.find((l) => l.startsWith("kubeconfig: "))!.slice("kubeconfig: ".length);
  const authed = await kubeconfigFetch(kubeconfig);
  const closeAll = () => {
    authed.close();
    return close();
  };
  return {
    url,
    kubeconfig,
    dataDir,
    fetch: (path, init) => authed.fetch(path.startsWith("http") ? path : url + path, init),
    pid: child.pid,
    exited,
    kill(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch { /* already exited */ }
    },
    stdoutLines: () => [...lines],
    stderr: () => stderr,
    processes: () => markedProcesses(mark),
    kubectl: (a, o) => runKubectl(kubeconfig, dataDir, a, o),
    close: closeAll,
    [Symbol.asyncDispose]: closeAll,
  };
}

/** A `fetch` that presents a kubeconfig's credentials (bearer token; CA for HTTPS), and its closer. */
export async function kubeconfigFetch(
  kubeconfig: string,
): Promise<{ fetch: (url: string, init?: RequestInit) => Promise<Response>; close(): void }> {
  const { clientConfig } = await import("../cli/controller_manager.ts");
  const cfg = await clientConfig({ kubeconfig }, "/");
  const client = cfg.caCert ? Deno.createHttpClient({ caCerts: [cfg.caCert] }) : undefined;
  return {
    fetch: (url, init = {}) => {
      const headers = new Headers(init.headers);
      if (cfg.token) headers.set("Authorization", `Bearer ${cfg.token}`);
      return fetch(url, { ...init, headers, ...(client ? { client } : {}) });
    },
    close: () => client?.close(),
  };
}

/**
 * Polls `check` every `intervalMs` until it returns something other than `undefined`, `null` or
 * `false`, and returns that. A check that throws is tried again. Fails after `timeoutMs`, saying
 * what it waited for and the last error.
 */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message ?? last}` : ""}`);
}

/**
 * Records each waiting reason (with its message) the first container of pod `namespace/name`
 * shows, through a watch started now: a reason that lasts only until the next sync (ErrImagePull)
 * is missed by polling, never by the watch.
 */
export function recordWaitingReasons(
  client: Client,
  namespace: string,
  name: string,
): { reasons: Map<string, string>; stop(): Promise<void> } {
  const reasons = new Map<string, string>();
  const ac = new AbortController();
  const watching = (async () => {
    for await (
      const ev of client.watch(R.pods, namespace, {
        fieldSelector: `metadata.name=${name}`,
        signal: ac.signal,
      })
    ) {
      const waiting = ev.object.status?.containerStatuses?.[0]?.state?.waiting;
      if (waiting?.reason && !reasons.has(waiting.reason)) reasons.set(waiting.reason, waiting.message ?? "");
    }
  })().catch(() => {});
  return {
    reasons,
    async stop() {
      ac.abort();
      await watching;
    },
  };
}

/** A temporary directory removed on dispose. */
export async function tempDir(prefix = "skiff-test-"): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}) };
}

// ---------------------------------------------------------------------------------------------
// Prerequisites

/** Something a test needs from the machine. */
export interface Prerequisite {
  name: string;
  available(): boolean;
  /** How to get it, for the skip message. */
  hint: string;
}

let kubectlCache: string | null | undefined;

/** Path of kubectl: /usr/bin/kubectl, else the first on PATH; undefined when there is none. */
export function kubectlPath(): string | undefined {
  if (kubectlCache === undefined) {
    const dirs = ["/usr/bin", ...(Deno.env.get("PATH") ?? "").split(":").filter(Boolean)];
    kubectlCache = dirs.map((d) => `${d}/kubectl`).find(isExecutable) ?? null;
  }
  return kubectlCache ?? undefined;
}

/** Whether kubectl is installed. */
export function kubectlAvailable(): boolean {
  return kubectlPath() !== undefined;
}

/** kubectl v1.32 (`/usr/bin/kubectl` or on PATH). */
export const KUBECTL: Prerequisite = {
  name: "kubectl",
  available: kubectlAvailable,
  hint: "install kubectl v1.32 as /usr/bin/kubectl",
};

const announced = new Set<string>();

/**
 * Declares a test that needs `prerequisites`. When one is missing the test is skipped with a
 * printed reason, except under `CI=true`, where the test fails saying what is missing.
 */
export function testWith(
  prerequisites: readonly Prerequisite[],
  name: string,
  fn: (t: Deno.TestContext) => void | Promise<void>,
  options: Omit<Deno.TestDefinition, "name" | "fn" | "ignore"> = {},
): void {
  const missing = prerequisites.filter((p) => !p.available());
  if (missing.length === 0) {
    Deno.test({ ...options, name, fn });
    return;
  }
  const reason = missing.map((p) => `${p.name} is missing (${p.hint})`).join("; ");
  if (Deno.env.get("CI") === "true") {
    Deno.test({ ...options, name, fn: () => Promise.reject(new Error(`CI=true requires it: ${reason}`)) });
    return;
  }
  if (!announced.has(reason)) {
    announced.add(reason);
    console.error(`skipping tests: ${reason}`);
  }
  Deno.test({ ...options, name, ignore: true, fn });
}

/** Declares a test that needs kubectl (see {@linkcode testWith}). */
export function kubectlTest(name: string, fn: (t: Deno.TestContext) => void | Promise<void>): void {
  testWith([KUBECTL], name, fn);
}

// ---------------------------------------------------------------------------------------------
// Helpers

async function dataDirFor(opts: ClusterOptions, prefix: string) {
  if (opts.dataDir) return { dataDir: opts.dataDir, dispose: () => Promise.resolve() };
  const dir = await tempDir(prefix);
  return { dataDir: dir.path, dispose: () => dir[Symbol.asyncDispose]() };
}

/** Runs kubectl with `kubeconfig` and a discovery cache under `dataDir`; killed after the timeout. */
export async function runKubectl(
  kubeconfig: string,
  dataDir: string,
  args: string[],
  opts: KubectlOptions = {},
): Promise<KubectlResult> {
  const path = kubectlPath();
  if (!path) throw new Error(`kubectl is missing (${KUBECTL.hint}); declare the test with kubectlTest()`);
  const child = new Deno.Command(path, {
    args: ["--kubeconfig", kubeconfig, "--cache-dir", `${dataDir}/kube-cache`, ...args],
    env: { KUBECONFIG: kubeconfig },
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    const out = await child.output();
    const dec = new TextDecoder();
    const stderr = dec.decode(out.stderr) +
      (out.signal === "SIGKILL" ? `\nkubectl killed after ${timeoutMs} ms` : "");
    return { code: out.code, stdout: dec.decode(out.stdout), stderr };
  } finally {
    clearTimeout(timer);
  }
}

async function stopProcess(child: Deno.ChildProcess, graceMs: number): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch { /* already exited */ }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  }, graceMs);
  try {
    await child.status;
  } finally {
    clearTimeout(timer);
  }
}

async function* readLines(reader: ReadableStreamDefaultReader<string>): AsyncGenerator<string> {
  let buf = "";
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    buf += r.value;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
  if (buf) yield buf;
}

async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Live (not zombie) processes whose environment carries `SKIFF_HARNESS_MARK=<mark>`. */
function markedProcesses(mark: string): number[] {
  const needle = new TextEncoder().encode(`SKIFF_HARNESS_MARK=${mark}\0`);
  const found: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^[0-9]+$/.test(e.name)) continue;
    try {
      const env = Deno.readFileSync(`/proc/${e.name}/environ`);
      if (contains(env, needle) && readStat(Number(e.name))?.state !== "Z") found.push(Number(e.name));
    } catch { /* gone, or not readable */ }
  }
  return found;
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

function isExecutable(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}
