/**
 * Group-commit gathering A/B (issue 2 diagnostics, not part of `./skiff bench`): the bench's p99
 * phase at a fixed rate, with the committer's settings alternating slice by slice in one process,
 * each arm reporting client p99, server-thread CPU per create (and KV's SQLite writer threads', and
 * the whole process's) and writes per KV commit; after each slice, sequential creates (one in
 * flight: the low-rate latency) and a closed loop of 16 in flight (the peak) on the same arm.
 *
 * Run: `deno run -A --config deno.json tests/bench/api_gather.ts [rate=2300] [slices=6] [arms=never,adaptive]`
 * @module
 */
import { startControlPlane } from "../../control/mod.ts";
import type { GatherMode } from "../../control/store/gather.ts";
import { percentile } from "./bench_row.ts";
import { startLoadWorker } from "./api_load.ts";
import { timedListener } from "./api_timed.ts";

const arg = (name: string, dflt: string) =>
  Deno.args.find((a) => a.startsWith(`${name}=`))?.split("=")[1] ?? dflt;
const rate = Number(arg("rate", "2300"));
const slices = Number(arg("slices", "6"));
/** The committer's gathering mode of each arm. */
const arms = arg("arms", "never,adaptive").split(",") as GatherMode[];
const cpuMs = () => Number(Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ")[0]) / 1e6;
/** CPU of this process's SQLite writer threads (`sw-*`, Deno KV's) and of the whole process, in ms. */
function otherCpuMs(): { sqlite: number; all: number } {
  let sqlite = 0, all = 0;
  for (const t of Deno.readDirSync("/proc/self/task")) {
    try {
      const ms = Number(Deno.readTextFileSync(`/proc/self/task/${t.name}/schedstat`).split(" ")[0]) / 1e6;
      all += ms;
      if (Deno.readTextFileSync(`/proc/self/task/${t.name}/comm`).startsWith("sw-")) sqlite += ms;
    } catch { /* the thread ended */ }
  }
  return { sqlite, all };
}

const dir = await Deno.makeTempDir({ prefix: "skiff-bench-gather-" });
const kv = await Deno.openKv(`${dir}/state.kv`);
const cp = await startControlPlane({ kv, port: 0, compactionIntervalMs: 0 });
const load = startLoadWorker();
let commits = 0;
const proto = Object.getPrototypeOf(kv.atomic()) as { commit(): Promise<unknown> };
const commit = proto.commit;
proto.commit = function (this: unknown) {
  commits++;
  return commit.call(this);
};
try {
  const base = `${cp.url}/api/v1/namespaces/default/configmaps`;
  await load.run({ target: { kind: "create", url: base, prefix: "warm-" }, count: 300, concurrency: 16 });
  for (let round = 0; round < 3; round++) {
    await load.run({
      target: { kind: "create", url: base, prefix: `cm-${round}-` },
      count: 1000,
      concurrency: 16,
    });
    await load.run({
      target: { kind: "update", url: base, prefix: `cm-${round}-` },
      count: 1000,
      concurrency: 16,
    });
  }
  // The open-loop slices go through a listener that stamps each response with its handler's time
  // (request handed to the API server → Response returned), as the bench's p99 phase does.
  const timed = timedListener(cp.server);
  const timedBase = timed.configMaps;
  const stats = arms.map(() => ({
    lat: [] as number[],
    server: [] as number[],
    cpu: 0,
    sqlite: 0,
    all: 0,
    commits: 0,
    n: 0,
    seq: [] as number[],
    peakMs: 0,
  }));
  const load0 = Deno.loadavg()[0];
  try {
    for (let s = 0; s < slices; s++) {
      for (let k = 0; k < arms.length; k++) {
        const a = (s + k) % arms.length;
        cp.server.store.gather.mode = arms[a];
        const c0 = cpuMs(), k0 = commits, o0 = otherCpuMs();
        const r = await load.run({
          target: { kind: "create", url: timedBase, prefix: `lat-${s}-${a}-` },
          count: 500,
          rate,
        });
        stats[a].cpu += cpuMs() - c0;
        const o1 = otherCpuMs();
        stats[a].sqlite += o1.sqlite - o0.sqlite;
        stats[a].all += o1.all - o0.all;
        stats[a].commits += commits - k0;
        stats[a].n += 500;
        stats[a].lat.push(...r.latencies);
        stats[a].server.push(...(r.stamps ?? []).map((x) => x.end - x.start));
        const q = await load.run({
          target: { kind: "create", url: base, prefix: `seq-${s}-${a}-` },
          count: 100,
          concurrency: 1,
        });
        stats[a].seq.push(...q.latencies);
        stats[a].peakMs += (await load.run({
          target: { kind: "create", url: base, prefix: `peak-${s}-${a}-` },
          count: 500,
          concurrency: 16,
        })).elapsedMs;
      }
    }
  } finally {
    await timed.shutdown();
  }
  console.log(
    `load ${load0.toFixed(2)} → ${
      Deno.loadavg()[0].toFixed(2)
    }; rate ${rate}/s; ${slices} slices of 500 per arm`,
  );
  stats.forEach((st, a) =>
    console.log(
      `${arms[a]}: p50 ${percentile(st.lat, 50).toFixed(2)} p99 ${percentile(st.lat, 99).toFixed(2)} ms ` +
        `(server side p99 ${percentile(st.server, 99).toFixed(2)} ms); ` +
        `CPU/create ${(st.cpu * 1000 / st.n).toFixed(0)} µs (SQLite ${
          (st.sqlite * 1000 / st.n).toFixed(0)
        }, process ${(st.all * 1000 / st.n).toFixed(0)}); writes/commit ${(st.n / st.commits).toFixed(2)}; ` +
        `sequential p50 ${percentile(st.seq, 50).toFixed(3)} p99 ${percentile(st.seq, 99).toFixed(3)} ms; ` +
        `16 in flight ${Math.round(500 * slices / (st.peakMs / 1000))}/s`,
    )
  );
} finally {
  proto.commit = commit;
  await load.close();
  await cp.close();
  kv.close();
  await Deno.remove(dir, { recursive: true });
}
