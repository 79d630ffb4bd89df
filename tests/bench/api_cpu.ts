/**
 * Where the API server's thread spends its CPU per create (issue 2 diagnostics, not part of
 * `./skiff bench`): V8's CPU profiler over creates sent from a load worker, self time by function
 * and the inclusive time of the server's own files.
 *
 * Run: `deno run -A --config deno.json tests/bench/api_cpu.ts [count=3000] [concurrency=4] [cpu-only]`
 * (`CPU_GREP=<text>` also lists every function whose label contains the text).
 * @module
 */
import { Session } from "node:inspector/promises";
import { startControlPlane } from "../../control/mod.ts";
import { startLoadWorker } from "./api_load.ts";

const arg = (name: string, dflt: number) =>
  Number(Deno.args.find((a) => a.startsWith(`${name}=`))?.split("=")[1] ?? dflt);
const N = arg("count", 3000);
const concurrency = arg("concurrency", 4);
const dir = await Deno.makeTempDir({ prefix: "skiff-bench-cpu-" });
const kv = await Deno.openKv(`${dir}/state.kv`);
const cp = await startControlPlane({ kv, port: 0, compactionIntervalMs: 0 });
const load = startLoadWorker();
try {
  const base = `${cp.url}/api/v1/namespaces/default/configmaps`;
  await load.run({ target: { kind: "create", url: base, prefix: "warm-" }, count: 1000, concurrency });
  // The server thread's CPU time (scheduler accounting, so time spent waiting for a CPU does not
  // count), without the profiler: the figure to compare across runs on a busy machine.
  const cpu = () => Number(Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ")[0]) / 1000;
  const perRound: number[] = [];
  for (let round = 0; round < 3; round++) {
    const c0 = cpu();
    await load.run({ target: { kind: "create", url: base, prefix: `cpu-${round}-` }, count: N, concurrency });
    perRound.push((cpu() - c0) / N);
  }
  console.log(
    `server thread CPU per create (scheduler time, 3 rounds): ${
      perRound.map((c) => c.toFixed(0)).join(", ")
    } µs`,
  );
  if (!Deno.args.includes("cpu-only")) {
    const session = new Session();
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 100 });
    await session.post("Profiler.start");
    await load.run({ target: { kind: "create", url: base, prefix: "cm-" }, count: N, concurrency });
    const { profile } = await session.post("Profiler.stop");
    session.disconnect();
    const dt = (profile.endTime - profile.startTime) / profile.samples!.length; // µs per sample
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const self = new Map<string, number>();
    const incl = new Map<string, number>();
    const label = (id: number) => {
      const f = byId.get(id)!.callFrame;
      return `${f.functionName || "(anon)"} ${f.url.replace(/^.*\/work\/main\//, "")}:${f.lineNumber + 1}`;
    };
    let busy = 0;
    for (const id of profile.samples!) {
      const l = label(id);
      if (l.startsWith("(idle)")) continue;
      busy += dt;
      self.set(l, (self.get(l) ?? 0) + dt);
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const f = byId.get(at)!.callFrame;
        const file = f.url.replace(/^.*\/work\/main\//, "");
        const key = file.startsWith("control/") || file.startsWith("ext:") || file.includes("node_modules")
          ? `${f.functionName || "(anon)"} ${file}`
          : "";
        if (key && !seen.has(key)) {
          seen.add(key);
          incl.set(key, (incl.get(key) ?? 0) + dt);
        }
      }
    }
    console.log(
      `busy ${(busy / N).toFixed(0)} µs per create (sampled on the server thread; GC and native included)`,
    );
    console.log("self time, µs per create:");
    for (
      const [l, t] of [...self].sort((a, b) => b[1] - a[1]).filter(([l], i) =>
        i < 30 || l.includes(Deno.env.get("CPU_GREP") ?? "\u0000")
      )
    ) {
      console.log(`${(t / N).toFixed(1).padStart(7)}  ${l}`);
    }
    console.log("inclusive time, µs per create:");
    for (const [l, t] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 45)) {
      console.log(`${(t / N).toFixed(1).padStart(7)}  ${l}`);
    }
  }
} finally {
  await load.close();
  await cp.close();
  kv.close();
  await Deno.remove(dir, { recursive: true });
}
