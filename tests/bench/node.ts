/**
 * Node agent benchmarks (issue "Node agent and WebAssembly component pods"):
 *
 * - Wasm pod start-up with a warm cache (image pulled, component transpiled, the namespace's
 *   sandbox running): create → Ready through the whole loop — API server, scheduler, binding,
 *   the node agent's sync, instantiate and serve, status write, the watch event — p50 and p99
 *   over 200 pods created one after another, against a raw in-process instantiate of the same
 *   component measured in this run (target p99 ≤ 150 ms);
 * - density: 1,000 idle HTTP component pods on one node, every one answering on its pod IP, and
 *   the node's whole memory (PSS of the agent, its shims and sandbox processes) against the one
 *   of the node with one pod (target: within 4 GiB; MiB per pod reported) — measured twice: just
 *   after every pod answered (each holds a live instance), and once the pods have been idle past
 *   the idle-instance time (30 s; their instances reclaimed, see docs/isolation.md).
 *
 * The control plane and scheduler run in this process; the node agent runs as its own process
 * (`cli/node.ts`, started with `--pod-cidr`: there is no node IPAM controller here), so its
 * memory is its own; the RuntimeClasses are created here, as `./skiff up` does. Needs root,
 * iproute2, docker-registry and Node.js. `SKIFF_BENCH_NODE_STARTUP` / `SKIFF_BENCH_NODE_DENSITY`
 * shrink the runs; `SKIFF_BENCH_KEEP_DATA=1` keeps the node's data dir (logs) afterwards.
 *
 * Run alone: `deno run -A tests/bench/node.ts`.
 * @module
 */
import { Client, R } from "../../control/api/client.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { registerConnectHandlers } from "../../control/apiserver/connect/mod.ts";
import { startControlPlane } from "../../control/mod.ts";
import { startScheduler } from "../../control/scheduler/mod.ts";
import { ensureRuntimeClass } from "../../node/runtime_class.ts";
import { ComponentCache, createWasi, loadComponent } from "../../wasm/mod.ts";
import { buildFixture } from "../fixtures/build.ts";
import { pushFixture } from "../fixtures/push.ts";
import { startRegistry } from "../registry.ts";
import { benchNodeReady, ReadyWatch, spawnBenchNode } from "./bench_node.ts";
import { type BenchRow, percentile, table } from "./bench_row.ts";

/** Pods of the start-up figure (`SKIFF_BENCH_NODE_STARTUP` overrides, for quick runs). */
const STARTUP_PODS = Number(Deno.env.get("SKIFF_BENCH_NODE_STARTUP") ?? 200);
/** Pods of the density figure (`SKIFF_BENCH_NODE_DENSITY` overrides). */
const DENSITY_PODS = Number(Deno.env.get("SKIFF_BENCH_NODE_DENSITY") ?? 1000);
const CREATE_CONCURRENCY = 16;
/** The node's idle-instance time (the Wasm runtime's default). */
const IDLE_INSTANCE_MS = 30_000;

function pod(name: string, image: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "bench", labels: { app: "bench" } },
    spec: {
      runtimeClassName: "wasm",
      terminationGracePeriodSeconds: 0,
      containers: [{ name: "web", image, ports: [{ containerPort: 8080 }] }],
    },
  };
}

function children(pid: number): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(e.name));
    } catch { /* gone */ }
  }
  return out;
}

/** The PSS of `pid` and all its descendants, in bytes, and how many processes that is. */
function treePss(pid: number): { bytes: number; processes: number } {
  let bytes = 0, processes = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    try {
      const kb = Number(
        Deno.readTextFileSync(`/proc/${p}/smaps_rollup`).match(/^Pss:\s+(\d+) kB/m)?.[1] ?? 0,
      );
      bytes += kb * 1024;
      processes++;
    } catch { /* gone */ }
    stack.push(...children(p));
  }
  return { bytes, processes };
}

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await fn(items[i++]);
  }));
}

/** Median raw in-process instantiate time of the component (the baseline). */
async function rawInstantiateMs(bytes: Uint8Array): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "skiff-bench-cache-" });
  try {
    await using cache = new ComponentCache({ dir });
    const component = await cache.prepare({ bytes });
    const loaded = await loadComponent(component, 256 * 1024 * 1024); // the runtime's default cap
    const times: number[] = [];
    for (let i = 0; i < 41; i++) {
      const wasi = createWasi({ env: [], args: ["bench"], preopens: [], stdout() {}, stderr() {} });
      const t = performance.now();
      await loaded.instantiate(wasi.imports);
      times.push(performance.now() - t);
      wasi.close();
    }
    return percentile(times.slice(1), 50);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs the node benchmarks. */
export async function benchNode(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dataDir = await Deno.makeTempDir({ prefix: "skiff-bench-node-" });
  const cp = await startControlPlane({ kvPath: `${dataDir}/state.kv`, port: 0, compactionIntervalMs: 0 });
  registerConnectHandlers(cp.server);
  const client = new Client({ server: cp.url });
  const ac = new AbortController();
  const scheduler = startScheduler({
    client,
    signal: ac.signal,
    leaderElection: false,
    initialBackoffMs: 100,
    maxBackoffMs: 500,
  });
  await using registry = await startRegistry();
  // A cluster admin's step (./skiff up does it): nodes may not create RuntimeClasses.
  await ensureRuntimeClass(client, "wasm");
  await ensureRuntimeClass(client, "oci");
  // No node IPAM controller here: the node is configured with its pod CIDR (the kubelet's
  // --pod-cidr), a /21 (2,046 addresses) that no bridge on this machine uses yet.
  const bridge = `skbench${Deno.pid % 10000}`;
  const agent = await spawnBenchNode({
    server: cp.url,
    dataDir: `${dataDir}/node`,
    bridge,
    mask: 21,
    maxPods: DENSITY_PODS + 100,
  });
  let watch: ReadyWatch | undefined;
  try {
    await client.create(R.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } });
    const fixture = await buildFixture("http_sm");
    const image = (await pushFixture(registry.host, "http_sm")).reference;
    const baseline = await rawInstantiateMs(fixture.bytes);
    const ready = watch = new ReadyWatch(client, "bench");
    await benchNodeReady(client);

    // Warm up: pull, transpile, start the namespace's sandbox.
    await client.create(R.pods, pod("warm", image));
    const warm = await ready.ready("warm");
    await fetch(`http://${warm.status.podIP}:8080/`).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 1000)); // let the first pod's events settle
    const oneOnly = treePss(agent.pid);

    // Start-up: one pod after another, create → Ready observed through the watch.
    const latencies: number[] = [];
    for (let i = 0; i < STARTUP_PODS; i++) {
      const name = `s-${i}`;
      const t0 = performance.now();
      await client.create(R.pods, pod(name, image));
      await ready.ready(name);
      latencies.push(performance.now() - t0);
    }
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const raw = { name: "raw in-process instantiate (median)", value: baseline, unit: "ms" };
    rows.push({
      name: `Wasm pod create → Ready, warm cache, p50 of ${STARTUP_PODS}`,
      value: p50,
      unit: "ms",
      baseline: raw,
      ratio: p50 / baseline,
    });
    rows.push({
      name: `Wasm pod create → Ready, warm cache, p99 of ${STARTUP_PODS}`,
      value: p99,
      unit: "ms",
      baseline: raw,
      ratio: p99 / baseline,
      target: "≤ 150 ms",
      met: p99 <= 150,
    });

    // Density: fill up to DENSITY_PODS, all must answer on their pod IPs.
    const names = Array.from({ length: DENSITY_PODS - STARTUP_PODS - 1 }, (_, i) => `d-${i}`);
    const t0 = performance.now();
    await pool(names, CREATE_CONCURRENCY, async (name) => {
      await client.create(R.pods, pod(name, image));
    });
    // Bounded: a node that cannot take them all is a figure, not a hang.
    let deadline: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(names.map((n) => ready.ready(n))),
      new Promise((r) => deadline = setTimeout(r, 15 * 60_000)),
    ]);
    clearTimeout(deadline);
    const fillSeconds = (performance.now() - t0) / 1000;
    const pods = (await client.list(R.pods, "bench")).items;
    // Every pod must answer; one that does not (its sandbox was just being restarted) is asked
    // again, up to three rounds 10 s apart.
    const answered = new Set<string>();
    for (let round = 0; round < 3 && answered.size < pods.length; round++) {
      if (round) await new Promise((r) => setTimeout(r, 10_000));
      await pool(pods.filter((p) => !answered.has(p.metadata.name!)), 32, async (p) => {
        if (!p.status?.podIP) return;
        try {
          const res = await fetch(`http://${p.status.podIP}:8080/`, { signal: AbortSignal.timeout(10_000) });
          if (res.ok && (await res.text()).startsWith("hello from")) answered.add(p.metadata.name!);
        } catch { /* not answering */ }
      });
    }
    const answering = answered.size;
    const answeredAt = performance.now();
    await new Promise((r) => setTimeout(r, 2000));
    const live = treePss(agent.pid);
    // Idle: every pod's instance has gone unused for the idle-instance time (30 s) and was
    // dropped; what remains is the pods' listeners, records and the shared processes.
    await new Promise((r) =>
      setTimeout(r, Math.max(0, answeredAt + IDLE_INSTANCE_MS + 25_000 - performance.now()))
    );
    const idle = treePss(agent.pid);
    rows.push({
      name: `idle HTTP pods answering on one node (started in ${fillSeconds.toFixed(1)} s)`,
      value: answering,
      unit: "pods",
      target: `≥ ${DENSITY_PODS}`,
      met: answering >= DENSITY_PODS,
    });
    const oneOnlyMiB = { name: "the same node with 1 pod", value: oneOnly.bytes / 2 ** 20, unit: "MiB" };
    rows.push({
      name: `node memory, ${pods.length} idle pods (PSS of agent + ${
        idle.processes - 1
      } shim/sandbox processes)`,
      value: idle.bytes / 2 ** 20,
      unit: "MiB",
      baseline: oneOnlyMiB,
      ratio: idle.bytes / oneOnly.bytes,
      target: "≤ 4,096 MiB",
      met: idle.bytes <= 4 * 2 ** 30,
    });
    rows.push({
      name: "  per idle pod (node total / pods)",
      value: idle.bytes / pods.length / 2 ** 20,
      unit: "MiB",
    });
    rows.push({
      name: "  per extra idle pod ((total − 1-pod node) / extra pods)",
      value: (idle.bytes - oneOnly.bytes) / (pods.length - 1) / 2 ** 20,
      unit: "MiB",
    });
    rows.push({
      name:
        `node memory at the end of the answer round, ${pods.length} pods (those answered in the last 30 s hold a live instance)`,
      value: live.bytes / 2 ** 20,
      unit: "MiB",
      baseline: oneOnlyMiB,
      ratio: live.bytes / oneOnly.bytes,
    });
    rows.push({
      name: "  per pod at the end of the answer round (node total / pods)",
      value: live.bytes / pods.length / 2 ** 20,
      unit: "MiB",
    });
  } finally {
    await watch?.close(); // an open watch would keep the API server from shutting down
    try {
      agent.kill("SIGTERM");
    } catch { /* gone */ }
    const timer = setTimeout(() => {
      try {
        agent.kill("SIGKILL");
      } catch { /* gone */ }
    }, 60_000);
    await agent.status;
    clearTimeout(timer);
    ac.abort();
    await scheduler.done;
    await cp.close();
    // SKIFF_BENCH_KEEP_DATA=1 keeps the node's logs (shim.log, sandbox.log, pods/) for a post-mortem.
    if (Deno.env.get("SKIFF_BENCH_KEEP_DATA")) console.error(`bench node data kept in ${dataDir}`);
    else await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
  return rows;
}

if (import.meta.main) console.log(table(await benchNode()));
