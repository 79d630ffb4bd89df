/**
 * Scheduler benchmarks: 5,000 nodes and 10,000 pending pods; pods bound per second end to end
 * through the real API (informer sync, lease, scheduling, `POST pods/{name}/binding`, the pod
 * watch), with and without writing `Scheduled` events, as a ratio to the raw binding-write rate
 * of the same pods (`POST pods/{name}/binding`, 32 in flight, no scheduler, no watchers); plus
 * the scheduling algorithm alone, in memory.
 *
 * Every phase gets a fresh API server child process (this file with `--serve-api`) on its own KV
 * file, seeded over HTTP with the same 5,000 nodes and 10,000 pods before its clock starts; the
 * scheduler runs in this process, as `./skiff scheduler --server URL` would. The raw phase runs
 * before and after the scheduler phases and the two rates are averaged, because load from other
 * processes on the machine drifts.
 *
 * Run alone: `deno run -A tests/bench/scheduler.ts`.
 * @module
 */
import { Client, R } from "../../control/api/client.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { startControlPlane } from "../../control/mod.ts";
import { Framework } from "../../control/scheduler/framework.ts";
import { PodScheduler } from "../../control/scheduler/schedule_pod.ts";
import { Scheduler } from "../../control/scheduler/scheduler.ts";
import { cacheWith, makeNode, makePod, nv } from "../../control/scheduler/testing.ts";
import { podView } from "../../control/scheduler/views.ts";
import { priorityClassLookup } from "../../control/scheduler/priority.ts";
import { type BenchRow, table } from "./bench_row.ts";

const NODES = 5_000;
const PODS = 10_000;
const CONCURRENCY = 32;
const ZONES = 10;

function node(i: number): KubeObject {
  return makeNode(`node-${i}`, {
    cpu: "4",
    memory: "16Gi",
    pods: "110",
    labels: { "topology.kubernetes.io/zone": `zone-${i % ZONES}` },
  });
}

function pod(name: string): KubeObject {
  const p = makePod(name, { cpu: "100m", memory: "128Mi", labels: { app: "bench" } });
  delete p.metadata.uid;
  delete p.metadata.resourceVersion;
  delete p.status;
  return p;
}

/** Runs `fn(i)` for i in [0, n) with `concurrency` calls in flight. */
async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await fn(next++);
  }));
}

/** Starts the API server in a child process; resolves to its URL and a stop function. */
async function serveApiChild(kvPath: string): Promise<{ url: string; stop(): Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--serve-api", kvPath],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  while (!buf.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the API server child exited before listening");
    buf += value;
  }
  const url = buf.split("\n")[0].replace(/^URL /, "").trim();
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await reader.cancel().catch(() => {});
      await child.status;
    },
  };
}

/** The child: an API server on `kvPath` until SIGTERM. */
async function serveApi(kvPath: string): Promise<void> {
  const cp = await startControlPlane({ kvPath, port: 0, compactionIntervalMs: 0 });
  console.log(`URL ${cp.url}`);
  await new Promise<void>((resolve) => Deno.addSignalListener("SIGTERM", () => resolve()));
  await cp.close().catch(() => {});
  Deno.exit(0);
}

/** The scheduling algorithm alone: one cycle per pod over an in-memory cache of 5,000 nodes. */
function benchAlgorithm(): BenchRow {
  const cache = cacheWith(
    Array.from({ length: NODES }, (_, i) =>
      nv(`node-${i}`, {
        cpu: "4",
        memory: "16Gi",
        labels: { "topology.kubernetes.io/zone": `zone-${i % ZONES}` },
      })),
  );
  const algo = new PodScheduler(new Framework());
  const ctx = { priorityClasses: priorityClassLookup([]), runtimeClass: () => undefined };
  const n = 20_000;
  const pods = Array.from(
    { length: n },
    (_, i) => podView(makePod(`p${i}`, { cpu: "100m", memory: "128Mi" }), ctx),
  );
  const t0 = performance.now();
  for (const p of pods) {
    const out = algo.schedule(p, cache);
    if (out.kind !== "scheduled") throw new Error(`pod ${p.key} did not fit: ${out.kind}`);
    cache.assumePod({ ...p, nodeName: out.node });
  }
  const s = (performance.now() - t0) / 1000;
  // Baseline: the cost of merely visiting the nodes a cycle filters and scores (500 of 5,000).
  const nodes = cache.nodes();
  const visits = 500;
  let sink = 0;
  const b0 = performance.now();
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < visits; j++) sink += nodes[(i * visits + j) % nodes.length].requested.milliCPU;
  }
  const bs = (performance.now() - b0) / 1000;
  if (sink < 0) console.log(sink);
  return {
    name: `scheduling algorithm in memory (${NODES.toLocaleString("en-US")} nodes, ${
      n.toLocaleString("en-US")
    } pods)`,
    value: n / s,
    unit: "pods/s",
    baseline: {
      name: "lower bound: read one field of each of the 500 nodes a cycle examines",
      value: n / bs,
      unit: "pods/s",
    },
    ratio: (n / s) / (n / bs),
  };
}

/** A fresh API server child holding 5,000 nodes and 10,000 pending pods, created over HTTP. */
async function seededServer(): Promise<{ client: Client; stop(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "skiff-bench-scheduler-" });
  const api = await serveApiChild(`${dir}/state.kv`);
  const client = new Client({ server: api.url });
  await pool(NODES, CONCURRENCY, async (i) => void await client.create(R.nodes, node(i)));
  await pool(PODS, CONCURRENCY, async (i) => void await client.create(R.pods, pod(`pod-${i}`)));
  return {
    client,
    async stop() {
      await api.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Binds every pod directly, `CONCURRENCY` in flight, no scheduler: the raw binding-write rate. */
async function rawPhase(): Promise<number> {
  const { client, stop } = await seededServer();
  try {
    const t = performance.now();
    await pool(PODS, CONCURRENCY, (i) => client.bind("default", `pod-${i}`, `node-${i % NODES}`));
    return PODS / ((performance.now() - t) / 1000);
  } finally {
    await stop();
  }
}

/** Starts a scheduler and times it until every pod is bound. */
async function schedulerPhase(withEvents: boolean): Promise<{ rate: number; summary: string }> {
  const { client, stop } = await seededServer();
  try {
    const ac = new AbortController();
    const scheduler = new Scheduler({
      client,
      parallelBindings: CONCURRENCY,
      identity: "bench",
      ...(withEvents ? {} : { recorder: { event() {}, flush: () => Promise.resolve() } }),
    });
    const t = performance.now();
    const done = scheduler.run(ac.signal);
    let syncedS = 0;
    while (scheduler.stats.bound < PODS) {
      await new Promise((r) => setTimeout(r, 10));
      if (!syncedS && scheduler.leading) syncedS = (performance.now() - t) / 1000;
      if (performance.now() - t > 300_000) {
        throw new Error(`only ${scheduler.stats.bound} pods bound after 300 s`);
      }
    }
    const boundS = (performance.now() - t) / 1000;
    await scheduler.settled();
    const flushedS = (performance.now() - t) / 1000;
    ac.abort();
    await done;
    const perNode = new Map<string, number>();
    for (const p of (await client.list(R.pods, "default")).items) {
      if (!p.spec.nodeName) throw new Error(`pod ${p.metadata.name} is not bound`);
      perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
    }
    const summary =
      `scheduler${withEvents ? "" : " without events"}: informers synced and lease taken at ${
        syncedS.toFixed(2)
      } s, ` +
      `${PODS} pods bound at ${boundS.toFixed(2)} s` +
      (withEvents ? `, Scheduled events written at ${flushedS.toFixed(2)} s` : "") +
      `; ${perNode.size} nodes used, at most ${Math.max(...perNode.values())} pods per node; ${
        JSON.stringify(scheduler.stats)
      }`;
    return { rate: PODS / boundS, summary };
  } finally {
    await stop();
  }
}

const load = () => Deno.loadavg().map((l) => l.toFixed(1)).join(" ");

/** The whole benchmark; returns the rows. */
export async function benchScheduler(): Promise<BenchRow[]> {
  // Each phase gets a fresh API server with the same 5,000 nodes and 10,000 pods. The raw phase
  // runs before and after the scheduler phases and is averaged: load on this machine drifts.
  console.error(`load average before: ${load()}`);
  const raw1 = await rawPhase();
  const full = await schedulerPhase(true);
  const quiet = await schedulerPhase(false);
  const raw2 = await rawPhase();
  console.error(full.summary);
  console.error(quiet.summary);
  console.error(
    `raw bindings: ${raw1.toFixed(0)} and ${raw2.toFixed(0)} per s; load average after: ${load()}`,
  );
  const raw = (raw1 + raw2) / 2;
  const baseline = {
    name: `raw POST pods/binding of the same pods, ${CONCURRENCY} in flight, no scheduler`,
    value: raw,
    unit: "pods/s",
  };
  return [
    {
      name: `scheduler end to end: ${PODS.toLocaleString("en-US")} pending pods, ${
        NODES.toLocaleString("en-US")
      } nodes`,
      value: full.rate,
      unit: "pods/s",
      baseline,
      ratio: full.rate / raw,
      target: "≥ 1,000 pods/s",
      met: full.rate >= 1000,
    },
    {
      name: "same, without writing Scheduled events",
      value: quiet.rate,
      unit: "pods/s",
      baseline,
      ratio: quiet.rate / raw,
    },
    benchAlgorithm(),
  ];
}

if (import.meta.main) {
  if (Deno.args[0] === "--serve-api") await serveApi(Deno.args[1]);
  else console.log(table(await benchScheduler()));
}
