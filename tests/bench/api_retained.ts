/**
 * What the API server keeps per create (issue 2 diagnostics, not part of `./skiff bench`): the
 * JS heap still live after 2,000 creates and a full GC, by allocating stack (V8's sampling heap
 * profiler without collected objects). Those bytes are what young-generation scavenges copy.
 *
 * With `allocated`, every byte allocated instead (what sets the scavenge rate). With `minor`, what
 * survives a young-generation GC instead of a full one: live objects and objects already promoted
 * that have died since but wait for a full GC (what scavenges copy and promote). `rate=N` issues
 * the creates open-loop at N/s instead of `concurrency` in flight. With `minor mid=<ms>`, the GC and
 * the profile come that long into the load (per-create figures still divide by the whole count).
 * `update` profiles PUTs of `count` objects created just before, instead of the creates.
 *
 * Run: `deno run -A --config deno.json --v8-flags=--expose-gc tests/bench/api_retained.ts [recent=0] [allocated|minor] [rate=N]`
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

// `log=stderr`: this script's output goes to stderr, leaving stdout to V8's GC trace (api_gc_nvp.ts).
if (Deno.args.includes("log=stderr")) console.log = console.error;
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
const gc = (globalThis as { gc?: (o?: { type: "minor" }) => void }).gc ?? (() => {});
/** `minor`: what survives a scavenge (see the module's doc). */
const minor = Deno.args.includes("minor");
const rate = Number(Deno.args.find((a) => a.startsWith("rate="))?.slice(5) ?? 0);
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
  // `update`: PUTs of N objects created before the profile starts, instead of creates.
  const update = Deno.args.includes("update");
  if (update) {
    await session.post("HeapProfiler.stopSampling").catch(() => {});
    await load.run({ target: { kind: "create", url: base, prefix: "cm-" }, count: N, concurrency });
    if (profiling) {
      await session.post("HeapProfiler.startSampling", {
        samplingInterval: 256,
        includeObjectsCollectedByMajorGC: allocated,
        includeObjectsCollectedByMinorGC: allocated,
      });
    }
  }
  const running = load.run({
    target: { kind: update ? "update" : "create", url: base, prefix: "cm-" },
    count: N,
    ...(rate ? { rate } : { concurrency }),
  });
  // `mid=<ms>` (with `minor`): the young-generation GC and the profile come that long into the
  // load instead of after it, so the requests in flight are counted too.
  const mid = Number(Deno.args.find((a) => a.startsWith("mid="))?.slice(4) ?? 0);
  let midProfile: Profile | undefined;
  if (mid && minor && profiling) {
    await new Promise((r) => setTimeout(r, mid));
    gc({ type: "minor" });
    midProfile = (await session.post("HeapProfiler.stopSampling")).profile;
  }
  await running;
  console.log(`GC window end at ${performance.now().toFixed(0)} ms`);
  if (midProfile) {
    printProfile(midProfile, N);
  } else if (minor) gc({ type: "minor" });
  else {
    gc();
    const after = Deno.memoryUsage().heapUsed;
    console.log(`heapUsed after a full GC: +${((after - before) / N).toFixed(0)} B per create`);
  }
  if (profiling && !midProfile) printProfile((await session.post("HeapProfiler.stopSampling")).profile, N);
  session.disconnect();
} finally {
  await load.close();
  await cp.close();
  kv.close();
  await Deno.remove(dir, { recursive: true });
}
