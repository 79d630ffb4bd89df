/**
 * Where the API's write tail goes (issue 2): a diagnostic run of the bench's p99 phase, not part
 * of `./skiff bench`. The server is brought to the state the bench's p99 phase finds (warm-up,
 * 3,000 creates and 3,000 PUTs with 16 in flight), then creates are issued open-loop at a fixed
 * rate from a Web Worker, alternating slices with raw `kv.set` at the same rate on the same file.
 *
 * Each create is split into the client's view and the server's: the client stamps the request
 * with its send time and the server's handler stamps the response with its start and end times
 * (all on the process's one monotonic clock, `performance.timeOrigin + performance.now()`), so a
 * slow request shows whether it waited before the handler (accept, HTTP parsing, the server thread
 * busy), inside it, or after it (response write, the client's own thread). An event-loop probe on
 * the server thread records every gap over 2 ms, and `--v8-flags=--trace-gc` (to stderr: redirect
 * it) gives the collections in the same window (`GC window` lines mark it).
 * The summary also gives the server thread's CPU per create and the writes per KV commit during
 * the API slices themselves (`cpuAtRateUs`, `writesPerCommit`).
 *
 * Run: `deno run -A --config deno.json --v8-flags=--trace-gc tests/bench/api_tail.ts [rate] [slices] [log=stderr]`
 * @module
 */
import { encodeObject } from "../../control/store/codec.ts";
import { startControlPlane } from "../../control/mod.ts";
import { percentile } from "./bench_row.ts";
import { allocatedBytes } from "./api_alloc.ts";
import { configMap, startLoadWorker, warmUp } from "./api_load.ts";
import { startLagProbe } from "./api_lag.ts";
import { timedListener } from "./api_timed.ts";

const now = () => performance.timeOrigin + performance.now();

/** CPU time of this (the main) thread so far, in ms, from /proc (Linux). */
function threadCpuMs(): number {
  const stat = Deno.readTextFileSync(`/proc/thread-self/schedstat`);
  return Number(stat.split(" ")[0]) / 1e6;
}

// `log=stderr`: this script's output goes to stderr, leaving stdout to V8's GC trace (api_gc_nvp.ts).
if (Deno.args.includes("log=stderr")) console.log = console.error;
const rate = Number(Deno.args[0] ?? 1500);
const slices = Number(Deno.args[1] ?? 4);
/** `recent=0` turns off the kept versions (an A/B switch of the store's options). */
const recent = Deno.args.find((a) => a.startsWith("recent="))?.slice(7);
/** `fetch`: the p99 slices' client is `fetch` instead of the raw HTTP/1.1 client. */
const client = Deno.args.includes("fetch") ? "fetch" as const : "raw" as const;
const dir = await Deno.makeTempDir({ prefix: "skiff-bench-tail-" });
const kvPath = `${dir}/state.kv`;
const kv = await Deno.openKv(kvPath);
const cp = await startControlPlane({
  kv,
  port: 0,
  compactionIntervalMs: 0,
  ...(recent !== undefined ? { store: { recentVersionsBytes: Number(recent) } } : {}),
});
const apiLoad = startLoadWorker();
const rawLoad = startLoadWorker();
try {
  const base = `${cp.url}/api/v1/namespaces/default/configmaps`;
  const value = encodeObject(configMap("raw"));
  const sets = (...key: Deno.KvKeyPart[]) => ({ kind: "kv-set", path: kvPath, key, value }) as const;
  await warmUp({ api: apiLoad, raw: rawLoad }, { base, kvPath, value }, 16, false);
  for (let round = 0; round < 3; round++) {
    await apiLoad.run({
      target: { kind: "create", url: base, prefix: `cm-${round}-` },
      count: 1000,
      concurrency: 16,
    });
    await apiLoad.run({
      target: { kind: "update", url: base, prefix: `cm-${round}-` },
      count: 1000,
      concurrency: 16,
    });
  }
  const timed = timedListener(cp.server);
  const timedBase = timed.configMaps;
  const raw: number[] = [];
  const api: { total: number; sent: number; start: number; end: number; done: number }[] = [];
  const probe = startLagProbe();
  // Every KV commit of the process in the window (the store's group commits): when and how long.
  const commits: [number, number][] = [];
  const proto = Object.getPrototypeOf(kv.atomic()) as { commit(): Promise<unknown> };
  const commit = proto.commit;
  proto.commit = function (this: unknown) {
    const t = now();
    return commit.call(this).finally(() => commits.push([t, now() - t]));
  };
  const t0 = now();
  console.log(`GC window start at ${performance.now().toFixed(0)} ms`);
  // The server thread's CPU and KV commits during the API slices alone (the raw slices run in a worker).
  let sliceCpuMs = 0;
  let sliceCommits = 0;
  for (let s = 0; s < slices; s++) {
    raw.push(...(await rawLoad.run({ target: sets("raw-lat", s), count: 500, rate })).latencies);
    const cpuStart = threadCpuMs();
    const commitsStart = commits.length;
    const r = await apiLoad.run({
      target: { kind: "create", url: timedBase, prefix: `lat-${s}-`, client },
      count: 500,
      rate,
    });
    sliceCpuMs += threadCpuMs() - cpuStart;
    sliceCommits += commits.length - commitsStart;
    api.push(...r.stamps!);
    console.log(`client window ${r.window![0].toFixed(0)} ${r.window![1].toFixed(0)}`);
  }
  console.log(`GC window end at ${performance.now().toFixed(0)} ms`);
  probe.stop();
  proto.commit = commit;
  await timed.shutdown();
  const cpu0 = threadCpuMs();
  const bytes = await allocatedBytes(() =>
    apiLoad.run({ target: { kind: "create", url: base, prefix: "alloc-" }, count: 1000, concurrency: 4 })
  );
  const cpuPer = (threadCpuMs() - cpu0) / 1000;
  // The client's own allocation per create, same work (open loop at the rate), in its worker.
  const clientBytes = (await apiLoad.run({
    target: { kind: "create", url: base, prefix: "alloc-client-", client },
    count: 1000,
    rate,
    measureAllocation: true,
  })).allocatedBytes! / 1000;
  const col = (f: (x: typeof api[number]) => number) => api.map(f);
  const pct = (xs: number[]) =>
    `p50 ${percentile(xs, 50).toFixed(2)} p99 ${percentile(xs, 99).toFixed(2)} max ${
      Math.max(...xs).toFixed(1)
    }`;
  console.log(
    `load ${
      Deno.loadavg().map((l) => l.toFixed(2)).join(" ")
    }; rate ${rate}/s, ${api.length} creates, client ${client}, recent ${recent ?? "default"}`,
  );
  console.log(`raw kv.set:       ${pct(raw)}`);
  console.log(`client total:     ${pct(col((x) => x.total))}`);
  console.log(`before handler:   ${pct(col((x) => x.start - x.sent))}`);
  console.log(`handler:          ${pct(col((x) => x.end - x.start))}`);
  console.log(`after handler:    ${pct(col((x) => x.done - x.end))}`);
  console.log(
    `server thread per create (1,000 creates, 4 in flight, heap profiler on): JS allocated ${
      (bytes / 1000 / 1024).toFixed(1)
    } KiB, ` +
      `CPU ${(cpuPer * 1000).toFixed(0)} µs (GC included)`,
  );
  const gaps = probe.gaps;
  const lens = gaps.map(([, l]) => l);
  console.log(
    `event-loop gaps > 2 ms: ${gaps.length}, total ${lens.reduce((a, b) => a + b, 0).toFixed(0)} ms, ` +
      `>5 ms ${lens.filter((l) => l > 5).length}, >10 ms ${lens.filter((l) => l > 10).length}, max ${
        Math.max(0, ...lens).toFixed(1)
      }`,
  );
  // Every gap over 4 ms (ms after t0, length), to set beside a GC trace (api_gc_nvp.ts).
  console.log(
    `gaps over 4 ms: ${
      gaps.filter(([, l]) => l > 4).map(([s, l]) => `${(s - t0).toFixed(0)}+${l.toFixed(1)}`).join(" ")
    }`,
  );
  const cl = commits.map(([, l]) => l);
  console.log(`KV commits in the window: ${commits.length}, ${pct(cl)}`);
  const slow = api.filter((x) => x.total > 10).sort((a, b) => a.sent - b.sent);
  console.log(`creates over 10 ms: ${slow.length}`);
  for (const x of slow.slice(0, 40)) {
    const overlapping = gaps.filter(([s, l]) => s < x.done && s + l > x.sent).map(([s, l]) =>
      `${(s - t0).toFixed(0)}+${l.toFixed(1)}`
    );
    console.log(
      `  at ${(x.sent - t0).toFixed(0)} ms: total ${x.total.toFixed(1)} = before ${
        (x.start - x.sent).toFixed(1)
      } + ` +
        `handler ${(x.end - x.start).toFixed(1)} + after ${(x.done - x.end).toFixed(1)}; gaps ${
          overlapping.join(" ")
        }; commits ${
          commits.filter(([c, l]) => c < x.end && c + l > x.start).map(([c, l]) =>
            `${(c - t0).toFixed(0)}+${l.toFixed(1)}`
          )
            .join(" ")
        }`,
    );
  }
  console.log(`t0 (performance.now of the server) ${(t0 - performance.timeOrigin).toFixed(0)} ms`);
  const p = (xs: number[], q: number) => Number(percentile(xs, q).toFixed(2));
  console.log(`SUMMARY ${
    JSON.stringify({
      load: Deno.loadavg()[0],
      client,
      recent: recent ?? "default",
      rawP99: p(raw, 99),
      p50: p(col((x) => x.total), 50),
      p99: p(col((x) => x.total), 99),
      serverP99: p(col((x) => x.end - x.start), 99),
      beforeP99: p(col((x) => x.start - x.sent), 99),
      afterP99: p(col((x) => x.done - x.end), 99),
      allocKiB: Number((bytes / 1000 / 1024).toFixed(1)),
      clientAllocKiB: Number((clientBytes / 1024).toFixed(1)),
      cpuUs: Math.round(cpuPer * 1000),
      cpuAtRateUs: Math.round(sliceCpuMs * 1000 / api.length),
      writesPerCommit: Number((api.length / sliceCommits).toFixed(2)),
      gaps5: lens.filter((l) => l > 5).length,
      gaps10: lens.filter((l) => l > 10).length,
      gapMax: Number(Math.max(0, ...lens).toFixed(1)),
    })
  }`);
} finally {
  await Promise.all([apiLoad.close(), rawLoad.close()]);
  await cp.close();
  kv.close();
  await Deno.remove(dir, { recursive: true });
}
