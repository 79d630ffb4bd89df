/**
 * The ReplicaSet controller's reconcile latency: a ReplicaSet scaled from 0 to 100, until all
 * 100 pods exist, against 100 raw pod creates through the same API server in the same run.
 *
 * Definitions:
 * - per-pod creation latency: from the moment the scale-up PATCH returns (for the baseline: the
 *   moment the first create is sent) to the moment a separate watch sees that pod ADDED;
 *   p50 and p99 over every pod of every run;
 * - time to all 100 pods: the same, for the last pod of a run; median over runs.
 *
 * The baseline sends its creates in the controller's own slow-start pattern (batches of 1, 2, 4,
 * ... in parallel), so the ratio isolates what the controller adds: the watch that brings it the
 * new `spec.replicas`, the queue, claiming, expectations, and one Event per pod.
 *
 * Run alone: `deno run -A tests/bench/reconcile.ts`.
 * @module
 */
import { Client, R } from "../../control/api/client.ts";
import { eventRecorder } from "../../control/api/events.ts";
import { Informer, InformerFactory } from "../../control/api/informer.ts";
import type { KubeObject } from "../../control/api/types.ts";
import type { ControllerContext } from "../../control/controllers/controller.ts";
import { replicaSetController } from "../../control/controllers/replicaset/mod.ts";
import { slowStartBatch } from "../../control/controllers/workload/slow_start.ts";
import { startControlPlane } from "../../control/mod.ts";
import { type BenchRow, percentile, table } from "./bench_row.ts";

const PODS = 100;
const RUNS = 5;

const template = (run: string) => ({
  metadata: { labels: { bench: run } },
  spec: {
    containers: [{ name: "app", image: "registry.local/app:1.0", resources: { requests: { cpu: "10m" } } }],
  },
});

/** A run that has not seen all its pods after this long fails instead of hanging. */
const RUN_TIMEOUT_MS = 60_000;

/** Watches pods labelled `bench=<run>` and resolves with each one's ADDED time once `n` were seen. */
function watchAdds(
  client: Client,
  run: string,
  n: number,
): { ready: Promise<void>; done: Promise<number[]>; stop(): Promise<void> } {
  const inf = new Informer(client, R.pods, { namespace: "default", labelSelector: `bench=${run}` });
  const times: number[] = [];
  const done = Promise.withResolvers<number[]>();
  const timer = setTimeout(
    () => done.reject(new Error(`${run}: saw ${times.length} of ${n} pods after ${RUN_TIMEOUT_MS} ms`)),
    RUN_TIMEOUT_MS,
  );
  inf.addHandler({
    onAdd: () => {
      times.push(performance.now());
      if (times.length === n) {
        clearTimeout(timer);
        done.resolve(times);
      }
    },
  });
  inf.start();
  return {
    ready: inf.synced(),
    done: done.promise,
    stop: () => {
      clearTimeout(timer);
      return inf.stop();
    },
  };
}

async function scaleUpRun(client: Client, i: number): Promise<number[]> {
  const run = `rs-${i}`;
  await client.create(R.replicasets, {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: run, namespace: "default" },
    spec: { replicas: 0, selector: { matchLabels: { bench: run } }, template: template(run) },
  });
  const w = watchAdds(client, run, PODS);
  await w.ready;
  await new Promise((r) => setTimeout(r, 200)); // let the controller observe the empty ReplicaSet
  await client.patch(R.replicasets, "default", run, { spec: { replicas: PODS } });
  const t0 = performance.now();
  try {
    return (await w.done).map((t) => t - t0);
  } finally {
    await w.stop();
  }
}

async function rawRun(client: Client, i: number): Promise<number[]> {
  const run = `raw-${i}`;
  const w = watchAdds(client, run, PODS);
  await w.ready;
  const t0 = performance.now();
  const r = await slowStartBatch(
    PODS,
    1,
    () =>
      client.create(
        R.pods,
        {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { generateName: `${run}-`, namespace: "default", ...template(run).metadata },
          spec: template(run).spec,
        } as KubeObject,
      ),
  );
  try {
    if (r.error) throw r.error;
    return (await w.done).map((t) => t - t0);
  } finally {
    await w.stop();
  }
}

const median = (xs: number[]) => percentile(xs, 50);

/** Runs the benchmark and returns its rows. */
export async function benchReconcile(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "skiff-bench-reconcile-" });
  const kv = await Deno.openKv(`${dir}/state.kv`);
  const cp = await startControlPlane({ kv, port: 0 });
  const client = new Client({ server: cp.url });
  const informers = new InformerFactory(client);
  const recorder = eventRecorder(client, "replicaset-controller");
  const ctx: ControllerContext = { client, informers, recorder: () => recorder, now: Date.now, options: {} };
  const controller = replicaSetController(ctx);
  const ac = new AbortController();
  try {
    await informers.start();
    const running = controller.run(ac.signal);
    const rsLatencies: number[] = [], rawLatencies: number[] = [];
    const rsTotals: number[] = [], rawTotals: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // Alternate, so drift (KV growth, JIT warm-up) affects both sides alike.
      const raw = await rawRun(client, i);
      await recorder.flush();
      const rs = await scaleUpRun(client, i);
      await recorder.flush();
      rawLatencies.push(...raw);
      rsLatencies.push(...rs);
      rawTotals.push(Math.max(...raw));
      rsTotals.push(Math.max(...rs));
    }
    ac.abort();
    await running;
    const row = (name: string, value: number, baseline: number, baselineName: string): BenchRow => ({
      name,
      value,
      unit: "ms",
      baseline: { name: baselineName, value: baseline, unit: "ms" },
      ratio: value / baseline,
      target: "report (no target)",
    });
    return [
      row(
        `ReplicaSet 0→${PODS}: per-pod creation latency p50`,
        percentile(rsLatencies, 50),
        percentile(rawLatencies, 50),
        `${PODS} raw creates p50`,
      ),
      row(
        `ReplicaSet 0→${PODS}: per-pod creation latency p99`,
        percentile(rsLatencies, 99),
        percentile(rawLatencies, 99),
        `${PODS} raw creates p99`,
      ),
      row(
        `ReplicaSet 0→${PODS}: all pods created (median of ${RUNS})`,
        median(rsTotals),
        median(rawTotals),
        `${PODS} raw creates`,
      ),
    ];
  } finally {
    ac.abort();
    await informers.stop();
    await recorder.flush();
    await cp.close();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  console.log(table(await benchReconcile()));
}
