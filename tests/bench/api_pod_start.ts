/**
 * The API server's share of a container pod start, on an idle server without a node (issue 5):
 * the container benchmark's pod manifest (`tests/bench/containers.ts`) sent one after another,
 *
 * - `POST` of the pod alone (no scheduler, no watch), and `PUT` of its status as the kubelet writes
 *   it when the container runs, against a raw `kv.set` and a raw two-key `kv.atomic()` commit (the
 *   object and its change-log entry) of the same bytes, in the same process and run;
 * - the whole API loop of a start, as in the container benchmark: the `POST`, the scheduler's
 *   binding, a kubelet-like informer (`spec.nodeName=<node>`) seeing the bound pod, its status
 *   `PUT`, and the client's watch seeing the pod Ready; with the step medians and the requests.
 *
 * Each figure comes with this process's CPU per request (API server, store, the scheduler and the
 * clients: all in this process, as in the container benchmark) and the server's own time per
 * request (from its filters' entry to the response object).
 *
 * Run alone: `deno run -A --config deno.json tests/bench/api_pod_start.ts`.
 * @module
 */
import { Client, R } from "../../control/api/client.ts";
import { Informer } from "../../control/api/informer.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { RequestFilters } from "../../control/apiserver/auth/filters.ts";
import { startControlPlane } from "../../control/mod.ts";
import { startScheduler } from "../../control/scheduler/mod.ts";
import { type BenchRow, percentile, table } from "./bench_row.ts";
import { ReadyWatch } from "./bench_node.ts";
import { processCpu } from "./proc_cpu.ts";
import { threadCpu } from "./api_threads.ts";
import { Timeline } from "./api_timeline.ts";

const PODS = Number(Deno.env.get("SKIFF_BENCH_API_POD_START") ?? 200);
const NODE = "bench-node";

/** The container benchmark's pod. */
function pod(name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "bench", labels: { app: "bench" } },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{ name: "httpd", image: "127.0.0.1:5000/bench/busybox:1", ports: [{ containerPort: 8080 }] }],
    },
  };
}

/** The status the kubelet writes once the container runs (its fields, as node/kubelet makes them). */
function runningStatus(p: KubeObject, i: number): Record<string, unknown> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const ip = `198.18.${(i >> 8) & 255}.${i & 255}`;
  const cond = (type: string) => ({ type, status: "True", lastProbeTime: null, lastTransitionTime: now });
  return {
    ...(p.status as Record<string, unknown>),
    phase: "Running",
    conditions: ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map(cond),
    hostIP: "127.0.0.1",
    hostIPs: [{ ip: "127.0.0.1" }],
    podIP: ip,
    podIPs: [{ ip }],
    startTime: now,
    containerStatuses: [{
      name: "httpd",
      state: { running: { startedAt: now } },
      lastState: {},
      ready: true,
      restartCount: 0,
      image: "127.0.0.1:5000/bench/busybox:1",
      imageID: `127.0.0.1:5000/bench/busybox@sha256:${"ab".repeat(32)}`,
      containerID: `crun://${crypto.randomUUID().replaceAll("-", "")}`,
      started: true,
    }],
    qosClass: "BestEffort",
  };
}

const nodeObject: KubeObject = {
  apiVersion: "v1",
  kind: "Node",
  metadata: { name: NODE, labels: { "kubernetes.io/hostname": NODE } },
  spec: {},
  status: {
    capacity: { cpu: "2", memory: "24Gi", pods: "10000" },
    allocatable: { cpu: "2", memory: "24Gi", pods: "10000" },
    conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "ready" }],
    addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
  },
};

/** The server's own time per request, by `METHOD path-kind`, and the requests' count. */
class ServerTimes {
  readonly byKind = new Map<string, number[]>();
  #restore: () => void;

  constructor() {
    const serve = RequestFilters.prototype.serve;
    const byKind = this.byKind;
    RequestFilters.prototype.serve = async function (req, arrival) {
      const t0 = performance.now();
      const res = await serve.call(this, req, arrival);
      const path = new URL(req.url).pathname.replace(/\/namespaces\/[^/]+/, "").replace(/\/pods\/[^/]+/, "/pods/*");
      const k = `${req.method} ${path}`;
      if (!byKind.has(k)) byKind.set(k, []);
      byKind.get(k)!.push(performance.now() - t0);
      return res;
    };
    this.#restore = () => RequestFilters.prototype.serve = serve;
  }

  clear(): void {
    this.byKind.clear();
  }

  p50(kind: string): number {
    return percentile(this.byKind.get(kind) ?? [0], 50);
  }

  restore(): void {
    this.#restore();
  }
}

/** p50 of `count` sequential runs of `op`, and this process's CPU ms per run. */
async function measure(count: number, op: (i: number) => Promise<unknown>): Promise<{ p50: number; cpu: number }> {
  const ms: number[] = [];
  const cpu0 = processCpu(Deno.pid, false);
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await op(i);
    ms.push(performance.now() - t);
  }
  return { p50: percentile(ms, 50), cpu: ((processCpu(Deno.pid, false) - cpu0) * 1000) / count };
}

/** Runs the benchmark. */
export async function benchApiPodStart(): Promise<{ rows: BenchRow[]; requests: string[]; timeline: string[] }> {
  const rows: BenchRow[] = [];
  const dataDir = await Deno.makeTempDir({ prefix: "skiff-bench-api-pod-" });
  const times = new ServerTimes();
  const cp = await startControlPlane({ kvPath: `${dataDir}/state.kv`, port: 0, compactionIntervalMs: 0 });
  const client = new Client({ server: cp.url });
  const raw = await Deno.openKv(`${dataDir}/raw.kv`);
  const requests: string[] = [], timeline: string[] = [];
  try {
    await client.create(R.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } });
    // Warm up the paths (JIT, caches).
    for (let i = 0; i < 50; i++) {
      const p = await client.create(R.pods, pod(`warm-${i}`));
      await client.updateStatus(R.pods, { ...p, status: runningStatus(p, i) } as KubeObject);
    }
    const sample = await client.get(R.pods, "bench", "warm-0");
    const bytes = new TextEncoder().encode(JSON.stringify(sample));

    // Raw KV, same bytes.
    const kvSet = await measure(PODS, (i) => raw.set(["pods", "bench", `p-${i}`], bytes));
    const kvAtomic = await measure(PODS, (i) =>
      raw.atomic().set(["pods", "bench", `a-${i}`], bytes).set(["log", i], bytes).commit()
    );
    const base = { name: "raw `kv.set` of the pod's bytes (p50)", value: kvSet.p50, unit: "ms" };
    rows.push({ name: "raw `kv.set` of the stored pod's bytes, p50", value: kvSet.p50, unit: "ms" });
    rows.push({ name: "  CPU per `kv.set` (this process)", value: kvSet.cpu, unit: "ms CPU" });
    rows.push({
      name: "raw `kv.atomic()` of the pod and a log entry (two sets, one commit), p50",
      value: kvAtomic.p50,
      unit: "ms",
      baseline: base,
      ratio: kvAtomic.p50 / kvSet.p50,
    });

    // POST alone, then PUT of the status alone.
    times.clear();
    const created: KubeObject[] = [];
    const post = await measure(PODS, async (i) => created.push(await client.create(R.pods, pod(`c-${i}`))));
    const postServer = times.p50("POST /api/v1/pods");
    rows.push({
      name: "`POST` of the pod, idle server, no watcher, p50",
      value: post.p50,
      unit: "ms",
      baseline: base,
      ratio: post.p50 / kvSet.p50,
    });
    rows.push({ name: "  of which the server's own (filters → response), p50", value: postServer, unit: "ms" });
    rows.push({ name: "  CPU per `POST` (server + client, this process)", value: post.cpu, unit: "ms CPU" });
    times.clear();
    const put = await measure(PODS, (i) =>
      client.updateStatus(R.pods, { ...created[i], status: runningStatus(created[i], i) } as KubeObject)
    );
    rows.push({
      name: "status `PUT` (the kubelet's Running/Ready status), idle server, p50",
      value: put.p50,
      unit: "ms",
      baseline: base,
      ratio: put.p50 / kvSet.p50,
    });
    rows.push({ name: "  of which the server's own, p50", value: times.p50("PUT /api/v1/pods/*/status"), unit: "ms" });
    rows.push({ name: "  CPU per status `PUT` (server + client)", value: put.cpu, unit: "ms CPU" });

    // The same two requests, step by step (a separate phase: the stamps cost a little).
    {
      using t = new Timeline();
      for (let i = 0; i < PODS; i++) {
        let p: KubeObject | undefined;
        await t.run("POST", async () => p = await client.create(R.pods, pod(`t-${i}`)));
        await t.run("status PUT", () => client.updateStatus(R.pods, { ...p!, status: runningStatus(p!, i) } as KubeObject));
      }
      for (const label of ["POST", "status PUT"]) {
        for (const [step, ms] of t.medians(label)) timeline.push(`| ${label} | ${step} | ${ms.toFixed(3)} |`);
      }
    }

    // The whole API loop of a start: scheduler, a kubelet-like informer, the client's watch.
    await client.create(R.nodes, nodeObject);
    const ac = new AbortController();
    const scheduler = startScheduler({ client, signal: ac.signal, leaderElection: false });
    const kubelet = new Informer(client, R.pods, { fieldSelector: `spec.nodeName=${NODE}` });
    const seen = new Map<string, (p: KubeObject) => void>();
    kubelet.addHandler({
      onAdd: (p) => seen.get(p.metadata.name!)?.(p),
      onUpdate: (_, p) => seen.get(p.metadata.name!)?.(p),
    });
    kubelet.start();
    await kubelet.synced();
    const ready = new ReadyWatch(client, "bench");
    const steps = { post: [] as number[], bound: [] as number[], put: [] as number[], watch: [] as number[] };
    try {
      const loop = async (name: string, i: number) => {
        const t0 = performance.now();
        const sees = new Promise<KubeObject>((r) => seen.set(name, r));
        await client.create(R.pods, pod(name));
        const t1 = performance.now();
        const p = await sees;
        seen.delete(name);
        const t2 = performance.now();
        await client.updateStatus(R.pods, { ...p, status: runningStatus(p, i) } as KubeObject);
        const t3 = performance.now();
        await ready.ready(name, 10_000);
        const t4 = performance.now();
        return [t1 - t0, t2 - t1, t3 - t2, t4 - t3];
      };
      for (let i = 0; i < 20; i++) await loop(`lw-${i}`, i);
      times.clear();
      const threads0 = threadCpu();
      // Change-log scans (the watch feeds' reads back of what was committed), counted.
      let logReads = 0;
      const list = Deno.Kv.prototype.list;
      Deno.Kv.prototype.list = function (this: Deno.Kv, selector, options) {
        if ("prefix" in selector && selector.prefix[0] === "l") logReads++;
        return list.call(this, selector, options);
      } as typeof list;
      const whole = await measure(PODS, async (i) => {
        const [a, b, c, d] = await loop(`l-${i}`, i);
        steps.post.push(a), steps.bound.push(b), steps.put.push(c), steps.watch.push(d);
      });
      Deno.Kv.prototype.list = list;
      const loopRows: [string, number[]][] = [
        ["  `POST` of the pod", steps.post],
        ["  scheduler, binding, watch to the kubelet-like informer", steps.bound],
        ["  status `PUT`", steps.put],
        ["  watch event to the client", steps.watch],
      ];
      rows.push({
        name: "the API loop of a pod start (POST → bound pod seen → status PUT → Ready seen), p50",
        value: whole.p50,
        unit: "ms",
        baseline: base,
        ratio: whole.p50 / kvSet.p50,
      });
      for (const [name, v] of loopRows) rows.push({ name: `${name}, p50`, value: percentile(v, 50), unit: "ms" });
      rows.push({ name: "  CPU per loop (server, scheduler, clients; this process)", value: whole.cpu, unit: "ms CPU" });
      rows.push({ name: "  change-log reads by the watch feeds per loop", value: logReads / PODS, unit: "reads" });
      for (const [name, end] of [...threadCpu()].sort((a, b) => b[1] - a[1])) {
        const ms = ((end - (threads0.get(name) ?? 0)) * 1000) / PODS;
        if (ms >= 0.05) rows.push({ name: `    thread ${name}`, value: ms, unit: "ms CPU" });
      }
      for (const [k, v] of [...times.byKind].sort((a, b) => b[1].length - a[1].length)) {
        requests.push(`| ${k} | ${(v.length / PODS).toFixed(2)} | ${percentile(v, 50).toFixed(3)} |`);
      }
    } finally {
      ac.abort();
      await scheduler.done;
      await kubelet.stop();
      await ready.close();
    }
  } finally {
    times.restore();
    raw.close();
    await cp.close();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
  return { rows, requests, timeline };
}

if (import.meta.main) {
  const load = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  const { rows, requests, timeline } = await benchApiPodStart();
  console.log(`load average before: ${load}`);
  console.log(table(rows));
  console.log("\n| request in the API loop | per pod start | server ms p50 |\n|---|---|---|");
  for (const r of requests) console.log(r);
  console.log("\n| request | step | ms after the client's call (p50) |\n|---|---|---|");
  for (const r of timeline) console.log(r);
}
