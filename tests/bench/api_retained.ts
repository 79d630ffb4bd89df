/**
 * What the API server keeps per create (issue 2 diagnostics, not part of `./skiff bench`): the
 * JS heap still live after 2,000 creates and a full GC, by allocating stack (V8's sampling heap
 * profiler without collected objects). Those bytes are what young-generation scavenges copy.
 *
 * With `allocated`, every byte allocated instead (what sets the scavenge rate).
 *
 * Run: `deno run -A --config deno.json --v8-flags=--expose-gc tests/bench/api_retained.ts [recent=0] [allocated]`
 * @module
 */
import { Session } from "node:inspector/promises";
import { startControlPlane } from "../../control/mod.ts";
import { startLoadWorker } from "./api_load.ts";

interface Profile {
  head: ProfileNode;
}
interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** Prints the profile's bytes per create by allocating stack (its innermost five frames). */
function printProfile(profile: Profile, n: number) {
  const rows: [number, string][] = [];
  const walk = (node: ProfileNode, path: string[]) => {
    const f = node.callFrame;
    const here = [
      ...path,
      `${f.functionName || "(anon)"}@${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`,
    ];
    if (node.selfSize) rows.push([node.selfSize, here.slice(-5).join(" < ")]);
    for (const c of node.children) walk(c, here);
  };
  walk(profile.head, []);
  rows.sort((a, b) => b[0] - a[0]);
  const total = rows.reduce((s, [b]) => s + b, 0);
  console.log(`sampled ${allocated ? "allocated" : "live"}: ${(total / n).toFixed(0)} B per create`);
  for (const [b, p] of rows.slice(0, allocated ? 60 : 25)) {
    console.log(`${(b / n).toFixed(0).padStart(6)} B  ${p}`);
  }
}

const recent = Deno.args.find((a) => a.startsWith("recent="))?.slice(7);
/** `allocated`: every byte allocated (collected objects included), by the innermost frames. */
const allocated = Deno.args.includes("allocated");
/** `concurrency=N`: requests in flight (default 4). */
const concurrency = Number(Deno.args.find((a) => a.startsWith("concurrency="))?.slice(12) ?? 4);
const dir = await Deno.makeTempDir({ prefix: "skiff-bench-retained-" });
const kv = await Deno.openKv(`${dir}/state.kv`);
const cp = await startControlPlane({
  kv,
  port: 0,
  compactionIntervalMs: 0,
  ...(recent !== undefined ? { store: { recentVersionsBytes: Number(recent) } } : {}),
});
const load = startLoadWorker();
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
try {
  const base = `${cp.url}/api/v1/namespaces/default/configmaps`;
  await load.run({ target: { kind: "create", url: base, prefix: "warm-" }, count: 500, concurrency: 4 });
  const session = new Session();
  session.connect();
  gc();
  const before = Deno.memoryUsage().heapUsed;
  // `no-profiler`: only the creates (for a `--trace-gc-nvp` run: the profiler slows scavenges).
  const profiling = !Deno.args.includes("no-profiler");
  if (profiling) {
    await session.post("HeapProfiler.startSampling", {
      samplingInterval: 256,
      includeObjectsCollectedByMajorGC: allocated,
      includeObjectsCollectedByMinorGC: allocated,
    });
  }
  const N = Number(Deno.args.find((a) => a.startsWith("count="))?.slice(6) ?? 2000);
  console.log(`GC window start at ${performance.now().toFixed(0)} ms`);
  await load.run({ target: { kind: "create", url: base, prefix: "cm-" }, count: N, concurrency });
  console.log(`GC window end at ${performance.now().toFixed(0)} ms`);
  gc();
  const after = Deno.memoryUsage().heapUsed;
  console.log(`heapUsed after a full GC: +${((after - before) / N).toFixed(0)} B per create`);
  if (profiling) printProfile((await session.post("HeapProfiler.stopSampling")).profile, N);
  session.disconnect();
} finally {
  await load.close();
  await cp.close();
  kv.close();
  await Deno.remove(dir, { recursive: true });
}
