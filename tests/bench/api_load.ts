/**
 * The API bench's load generator (issue 2), run in a Web Worker: its own isolate, heap, event
 * loop and thread, so the server under test keeps the bench process's main thread to itself, as
 * it would with clients in other processes. The raw `kv.set` baseline runs in the same kind of
 * worker, on its own `Deno.openKv` of the server's KV file, so both sides are measured the same
 * way. Latencies are taken on the worker's side: from just before the request (or `kv.set`) is
 * issued to the moment its response has been read (or the commit has returned).
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
  | { kind: "create"; url: string; prefix: string }
  /** `PUT url/<prefix + i>` of that ConfigMap with `data.index` changed; expects 200. */
  | { kind: "update"; url: string; prefix: string }
  /** `kv.set([...key, i], value)` on the worker's own handle of the KV file at `path`. */
  | { kind: "kv-set"; path: string; key: Deno.KvKeyPart[]; value: Uint8Array };

/**
 * `count` jobs, either closed-loop with `concurrency` in flight (throughput) or open-loop at
 * `rate` per second, each issued on schedule whether or not earlier ones have finished (latency).
 */
export type LoadJob =
  & { target: LoadTarget; count: number }
  & ({ concurrency: number; rate?: never } | { rate: number; concurrency?: never });

/** The worker's measurement of one job: wall time of the whole job, and each job's latency. */
export interface LoadResult {
  elapsedMs: number;
  /** Milliseconds per job, in completion order. */
  latencies: number[];
}

type LoadRequest = { id: number; job: LoadJob } | { id: number; close: true };
type LoadReply = { id: number; result?: LoadResult; error?: string };

/** A started load worker; `run` one job at a time. */
export interface LoadWorker extends AsyncDisposable {
  run(job: LoadJob): Promise<LoadResult>;
  /** Closes the worker's KV handles, then terminates it. */
  close(): Promise<void>;
}

/** Starts the load generator in a Web Worker (with the bench's permissions). */
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
  const inflight: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const start = performance.now();
    inflight.push(job(i).then(() => void latencies.push(performance.now() - start)));
  }
  await Promise.all(inflight);
  return { elapsedMs: performance.now() - t0, latencies };
}

/** Sends one write and reads its whole response; a status other than `expected` is an error. */
async function send(method: string, url: string, body: unknown, expected: number): Promise<void> {
  const res = await fetch(url, {
    method,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== expected) throw new Error(`${method} ${url} failed: ${res.status} ${text}`);
}

const kvs = new Map<string, Promise<Deno.Kv>>();

function openKv(path: string): Promise<Deno.Kv> {
  let kv = kvs.get(path);
  if (!kv) kvs.set(path, kv = Deno.openKv(path));
  return kv;
}

async function jobFor(target: LoadTarget): Promise<(i: number) => Promise<unknown>> {
  switch (target.kind) {
    case "create":
      return (i) => send("POST", target.url, configMap(`${target.prefix}${i}`, i), 201);
    case "update":
      return (i) => {
        const cm = configMap(`${target.prefix}${i}`, i);
        cm.data.index = `updated-${i}`;
        return send("PUT", `${target.url}/${cm.metadata.name}`, cm, 200);
      };
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
    return { id: req.id };
  }
  const { target, count, rate, concurrency } = req.job;
  const job = await jobFor(target);
  const result = rate !== undefined
    ? await openLoop(rate, count, job)
    : await closedLoop(count, concurrency, job);
  return { id: req.id, result };
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
