/**
 * The API bench's load generator (issue 2), run in a Web Worker: its own isolate, heap, event
 * loop and thread, so the server under test keeps the bench process's main thread to itself, as
 * it would with clients in other processes. The raw `kv.set` baseline runs in the same kind of
 * worker, on its own `Deno.openKv` of the server's KV file, so both sides are measured the same
 * way. Latencies are taken on the worker's side: from just before the request (or `kv.set`) is
 * issued to the moment its response has been read (or the commit has returned). HTTP requests are
 * encoded before the clock starts and sent by a raw HTTP/1.1 client (api_raw_http.ts), so the
 * worker allocates next to nothing per request and its own GC pauses stay out of the figures.
 *
 * Imported, the module only shares {@linkcode configMap} and {@linkcode startLoadWorker}; started
 * as a worker (its `import.meta.main`), it serves {@linkcode LoadJob}s.
 *
 * @example
 * ```ts ignore
 * await using load = startLoadWorker();
 * const { latencies } = await load.run({ target: { kind: "create", url, prefix: "cm-" }, count: 500, rate: 1000 });
 * ```
 * @module
 */

import { allocatedBytes } from "./api_alloc.ts";
import { encodeRequest, RawHttp } from "./api_raw_http.ts";
import { setThreadCpus, setThreadNice, threadId } from "./thread_ctl.ts";

/** A ConfigMap of ≈700 bytes, the object every API write phase creates. */
export function configMap(name: string, i = 0) {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: "default", labels: { app: "bench", shard: String(i % 10) } },
    data: { "config.yaml": "x".repeat(512), index: String(i) },
  };
}

/** What job `i` does. */
export type LoadTarget =
  /** `POST url` of `configMap(prefix + i, i)`; expects 201. */
  | { kind: "create"; url: string; prefix: string; client?: HttpClient }
  /** `PUT url/<prefix + i>` of that ConfigMap with `data.index` changed; expects 200. */
  | { kind: "update"; url: string; prefix: string; client?: HttpClient }
  /** `kv.set([...key, i], value)` on the worker's own handle of the KV file at `path`. */
  | { kind: "kv-set"; path: string; key: Deno.KvKeyPart[]; value: Uint8Array };

/**
 * The HTTP client of a write job: the raw HTTP/1.1 client with requests encoded beforehand (the
 * default), or Deno's `fetch` with each body encoded as the request is sent (the bench's client
 * until the 2026-11-27 morning session; kept for comparisons, see docs/benchmarks.md).
 */
export type HttpClient = "raw" | "fetch";

/**
 * `count` jobs, either closed-loop with `concurrency` in flight (throughput) or open-loop at
 * `rate` per second, each issued on schedule whether or not earlier ones have finished (latency).
 */
export type LoadJob =
  & {
    target: LoadTarget;
    count: number;
    /** Also measure the worker's own JS heap allocation over the job (`allocatedBytes`; slows it). */
    measureAllocation?: boolean;
  }
  & ({ concurrency: number; rate?: never } | { rate: number; concurrency?: never });

/** The worker's measurement of one job: wall time of the whole job, and each job's latency. */
export interface LoadResult {
  elapsedMs: number;
  /** The worker's JS heap bytes allocated over the job, when the job asked for it. */
  allocatedBytes?: number;
  /** When the job started and ended, in the worker's `performance.now()` (to place its GCs). */
  window?: [number, number];
  /** Milliseconds per job, in completion order. */
  latencies: number[];
  /**
   * Writes answered by a handler that stamps its response with an `x-bench-handler` header
   * (`"<start> <end>"`, absolute ms on the process's clock, as `api_tail.ts` does): each one's
   * latency split at those stamps. Absent otherwise.
   */
  stamps?: Stamp[];
}

/** One write's timeline, absolute ms (`performance.timeOrigin + performance.now()`). */
export interface Stamp {
  total: number;
  sent: number;
  /** The server's handler started... */
  start: number;
  /** ...and returned its Response. */
  end: number;
  /** The client has read the whole response. */
  done: number;
}

/**
 * The worker thread's scheduling: its nice value (`setpriority`, this thread only) and the CPUs it
 * may run on (`sched_setaffinity`); absent fields stay as they are.
 */
export interface ThreadSettings {
  nice?: number;
  cpus?: number[];
}

type LoadRequest =
  | { id: number; job: LoadJob }
  | { id: number; close: true }
  | { id: number; thread: ThreadSettings };
type LoadReply = { id: number; result?: LoadResult; tid?: number; error?: string };

/** A started load worker; `run` one job at a time. */
export interface LoadWorker extends AsyncDisposable {
  run(job: LoadJob): Promise<LoadResult>;
  /** Applies `settings` to the worker's thread; resolves to its kernel thread id. */
  thread(settings?: ThreadSettings): Promise<number>;
  /** Closes the worker's KV handles, then terminates it. */
  close(): Promise<void>;
}

/** Starts the load generator in a Web Worker (with the bench's permissions). */
/**
 * The API bench's warm-up (JIT, caches; the workers' too) of both paths, outside the clock: 300
 * raw `kv.set`s of `value` under `raw-warm`, 300 creates of `warm-` objects at `base` and, unless
 * `updates` is false, 300 updates of them.
 */
export async function warmUp(
  loads: { api: LoadWorker; raw: LoadWorker },
  at: { base: string; kvPath: string; value: Uint8Array },
  concurrency: number,
  updates = true,
): Promise<void> {
  await loads.raw.run({
    target: { kind: "kv-set", path: at.kvPath, key: ["raw-warm"], value: at.value },
    count: 300,
    concurrency,
  });
  await loads.api.run({ target: { kind: "create", url: at.base, prefix: "warm-" }, count: 300, concurrency });
  if (updates) {
    await loads.api.run({
      target: { kind: "update", url: at.base, prefix: "warm-" },
      count: 300,
      concurrency,
    });
  }
}

export function startLoadWorker(): LoadWorker {
  const worker = new Worker(new URL(import.meta.url), { type: "module" });
  const pending = new Map<number, { resolve(r: LoadReply): void; reject(e: Error): void }>();
  let nextId = 0;
  let closed = false;
  worker.onmessage = (e: MessageEvent<LoadReply>) => {
    pending.get(e.data.id)?.resolve(e.data);
    pending.delete(e.data.id);
  };
  worker.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    for (const p of pending.values()) p.reject(new Error(`load worker failed: ${e.message}`));
    pending.clear();
  };
  const call = (req: LoadRequest) =>
    new Promise<LoadReply>((resolve, reject) => {
      pending.set(req.id, { resolve, reject });
      worker.postMessage(req);
    });
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      await call({ id: nextId++, close: true });
    } finally {
      worker.terminate();
    }
  };
  return {
    async run(job) {
      if (closed) throw new Error("load worker is closed");
      const reply = await call({ id: nextId++, job });
      if (reply.error !== undefined) throw new Error(reply.error);
      return reply.result!;
    },
    async thread(settings = {}) {
      if (closed) throw new Error("load worker is closed");
      const reply = await call({ id: nextId++, thread: settings });
      if (reply.error !== undefined) throw new Error(reply.error);
      return reply.tid!;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

// ---- the worker's side ----

/** Runs `total` jobs with `concurrency` in flight, recording each one's latency. */
async function closedLoop(
  total: number,
  concurrency: number,
  job: (i: number) => Promise<unknown>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      const start = performance.now();
      await job(next++);
      latencies.push(performance.now() - start);
    }
  }));
  return { elapsedMs: performance.now() - t0, latencies };
}

/** Issues `count` jobs open-loop at `rate` per second, recording each one's latency. */
async function openLoop(
  rate: number,
  count: number,
  job: (i: number) => Promise<unknown>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const stamps: Stamp[] = [];
  const inflight: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const start = performance.now();
    inflight.push(
      job(i).then((handler) => {
        const end = performance.now();
        latencies.push(end - start);
        if (typeof handler !== "string") return;
        const [hs, he] = handler.split(" ").map(Number);
        const at = performance.timeOrigin;
        stamps.push({ total: end - start, sent: at + start, start: hs, end: he, done: at + end });
      }),
    );
  }
  await Promise.all(inflight);
  const t1 = performance.now();
  return { elapsedMs: t1 - t0, window: [t0, t1], latencies, ...(stamps.length ? { stamps } : {}) };
}

const kvs = new Map<string, Promise<Deno.Kv>>();
const clients = new Map<string, RawHttp>();

function openKv(path: string): Promise<Deno.Kv> {
  let kv = kvs.get(path);
  if (!kv) kvs.set(path, kv = Deno.openKv(path));
  return kv;
}

/**
 * Job `i` of `count` writes: each request is encoded before the clock starts, sent on a keep-alive
 * connection of the worker's raw HTTP/1.1 client (api_raw_http.ts) and read whole; a status other
 * than `expected` is an error. Resolves to the response's `x-bench-handler` stamps, if any.
 */
function writes(
  url: string,
  count: number,
  expected: number,
  request: (i: number, path: string, host: string) => Uint8Array,
): (i: number) => Promise<string | null> {
  const u = new URL(url);
  let http = clients.get(u.host);
  if (!http) clients.set(u.host, http = new RawHttp(u.hostname, Number(u.port)));
  const requests = Array.from({ length: count }, (_, i) => request(i, u.pathname, u.host));
  return async (i) => {
    const res = await http.send(requests[i], expected, "x-bench-handler");
    if (res.status !== expected) throw new Error(`${url} failed: ${res.status} ${res.body}`);
    return res.header;
  };
}

/** A write sent with `fetch`, its JSON encoded as it is sent; same checks and result as `writes`. */
async function fetchWrite(
  method: string,
  url: string,
  body: unknown,
  expected: number,
): Promise<string | null> {
  const res = await fetch(url, {
    method,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== expected) throw new Error(`${method} ${url} failed: ${res.status} ${text}`);
  return res.headers.get("x-bench-handler");
}

async function jobFor(target: LoadTarget, count: number): Promise<(i: number) => Promise<unknown>> {
  if (target.kind !== "kv-set" && target.client === "fetch") {
    const { url, prefix } = target;
    if (target.kind === "create") return (i) => fetchWrite("POST", url, configMap(`${prefix}${i}`, i), 201);
    return (i) => {
      const cm = configMap(`${prefix}${i}`, i);
      cm.data.index = `updated-${i}`;
      return fetchWrite("PUT", `${url}/${cm.metadata.name}`, cm, 200);
    };
  }
  switch (target.kind) {
    case "create":
      return writes(
        target.url,
        count,
        201,
        (i, path, host) =>
          encodeRequest("POST", path, host, JSON.stringify(configMap(`${target.prefix}${i}`, i))),
      );
    case "update":
      return writes(target.url, count, 200, (i, path, host) => {
        const cm = configMap(`${target.prefix}${i}`, i);
        cm.data.index = `updated-${i}`;
        return encodeRequest("PUT", `${path}/${cm.metadata.name}`, host, JSON.stringify(cm));
      });
    case "kv-set": {
      const kv = await openKv(target.path);
      return (i) => kv.set([...target.key, i], target.value);
    }
  }
}

async function serve(req: LoadRequest): Promise<LoadReply> {
  if ("close" in req) {
    for (const kv of kvs.values()) (await kv).close();
    kvs.clear();
    for (const http of clients.values()) http.close();
    clients.clear();
    return { id: req.id };
  }
  if ("thread" in req) {
    if (req.thread.nice !== undefined) setThreadNice(req.thread.nice);
    if (req.thread.cpus !== undefined) setThreadCpus(req.thread.cpus);
    return { id: req.id, tid: threadId() };
  }
  const { target, count, rate, concurrency, measureAllocation } = req.job;
  const job = await jobFor(target, count);
  const run = () => rate !== undefined ? openLoop(rate, count, job) : closedLoop(count, concurrency, job);
  if (!measureAllocation) return { id: req.id, result: await run() };
  let result: LoadResult | undefined;
  const bytes = await allocatedBytes(async () => void (result = await run()));
  return { id: req.id, result: { ...result!, allocatedBytes: bytes } };
}

/** The worker global's part this module uses (the bench type-checks with the window's types). */
interface WorkerScope {
  onmessage: ((e: MessageEvent<LoadRequest>) => void) | null;
  postMessage(reply: LoadReply): void;
}

if (import.meta.main) {
  const scope = self as unknown as WorkerScope;
  scope.onmessage = (e) => {
    serve(e.data).then(
      (reply) => scope.postMessage(reply),
      (err) => scope.postMessage({ id: e.data.id, error: err instanceof Error ? err.message : String(err) }),
    );
  };
}
