/**
 * Summarizes V8 CPU profiles (`.cpuprofile`, written by `deno run --cpu-prof`) over a window of
 * wall-clock time: self time by function and by file, per operation. With a start-up trace of the
 * containers benchmark (`SKIFF_TRACE_STARTUP=1`, plugins/host/trace.ts) the window is its
 * start-up phase, from the first pod's `post>` to the last pod's `ready-seen`.
 *
 * ```sh
 * SKIFF_BENCH_AGENT_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof/agent" \
 * SKIFF_RUNNER_DENO_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof/runners" \
 * SKIFF_TRACE_STARTUP=1 SKIFF_BENCH_CTR_DENSITY=0 deno run -A tests/bench/containers.ts 2> trace.txt
 * deno run -A tests/bench/cpu_profile.ts --trace trace.txt --per 50 /tmp/prof/agent/*.cpuprofile
 * ```
 *
 * V8 stamps samples with CLOCK_MONOTONIC (µs); the trace with the epoch. The two are matched with
 * this machine's current offset between the epoch and `/proc/uptime` (CLOCK_BOOTTIME, equal to
 * CLOCK_MONOTONIC on a machine that was never suspended), so run it on the machine, and soon after
 * (an NTP step in between would shift the window).
 * @module
 */
import { parseArgs } from "node:util";
import { parseTrace } from "./trace_summary.ts";

/** The parts of a `.cpuprofile` read here. */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self time (ms) of each function (`name file:line`) in [`fromUs`, `toUs`) of monotonic µs. Pure. */
export function selfTimes(p: CpuProfile, fromUs: number, toUs: number): Map<string, number> {
  const label = new Map<number, string>();
  for (const n of p.nodes) {
    const f = n.callFrame;
    const file = f.url
      ? f.url.replace(/^file:\/\/.*?\/(?=(?:node|plugins|control|wasm|cli|tests|ext|node_modules)\/)/, "")
      : "";
    label.set(n.id, `${f.functionName || "(anonymous)"}${file ? ` ${file}:${f.lineNumber + 1}` : ""}`);
  }
  const out = new Map<string, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    if (t < fromUs || t >= toUs) continue;
    // A sample's time is the gap to the next one (the last sample's: the previous gap).
    const dt = (p.timeDeltas[i + 1] ?? p.timeDeltas[i]) / 1000;
    const l = label.get(p.samples[i]) ?? "?";
    out.set(l, (out.get(l) ?? 0) + dt);
  }
  return out;
}

/**
 * Self time (ms) in [`fromUs`, `toUs`) of the functions whose label includes `name`, by their
 * callers' chain (`depth` frames up, innermost first). Pure.
 */
export function callers(
  p: CpuProfile,
  fromUs: number,
  toUs: number,
  name: string,
  depth = 4,
): Map<string, number> {
  const parent = new Map<number, number>();
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const short = (id: number) => {
    const f = byId.get(id)!.callFrame;
    return `${f.functionName || "(anonymous)"}${
      f.url ? `@${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}` : ""
    }`;
  };
  const out = new Map<string, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    if (t < fromUs || t >= toUs) continue;
    const id = p.samples[i];
    if (!short(id).includes(name)) continue;
    const chain: string[] = [];
    for (let up = parent.get(id); up !== undefined && chain.length < depth; up = parent.get(up)) {
      chain.push(short(up));
    }
    const k = chain.join(" < ");
    out.set(k, (out.get(k) ?? 0) + (p.timeDeltas[i + 1] ?? p.timeDeltas[i]) / 1000);
  }
  return out;
}

/** Sums `times` by the file in each label (`(native)` for V8's own and ops without one). Pure. */
export function byFile(times: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [l, ms] of times) {
    const m = / (\S+):\d+$/.exec(l);
    const k = m ? m[1] : l.startsWith("(") ? l : "(native)";
    out.set(k, (out.get(k) ?? 0) + ms);
  }
  return out;
}

/** The start-up phase of a containers benchmark trace, epoch ms: first `post>` to last `ready-seen`. Pure. */
export function startupWindow(traceText: string): { from: number; to: number; pods: number } {
  const lines = parseTrace(traceText);
  const posts = lines.filter((l) => l.step === "post>" && /^s-\d+$/.test(l.detail));
  const ready = lines.filter((l) => l.step === "ready-seen" && /^s-\d+$/.test(l.detail));
  if (!posts.length || !ready.length) {
    throw new Error("the trace has no start-up phase (post> s-N … ready-seen s-N)");
  }
  return { from: posts[0].at, to: ready[ready.length - 1].at, pods: posts.length };
}

/** Epoch ms minus CLOCK_MONOTONIC ms, now (see the module's note). */
function epochMinusMonotonic(): number {
  const up = Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]) * 1000;
  return Date.now() - up;
}

function top(m: Map<string, number>, per: number, n: number, total: number): string {
  return [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, ms]) =>
    `${(ms / per).toFixed(3).padStart(8)} ms ${(100 * ms / total).toFixed(1).padStart(5)}%  ${k}`
  ).join("\n");
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      trace: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
      per: { type: "string" },
      top: { type: "string", default: "40" },
      callers: { type: "string" },
      depth: { type: "string", default: "4" },
    },
  });
  if (!positionals.length) {
    console.error("usage: cpu_profile.ts [--trace FILE | --from MS --to MS] [--per N] [--top N] PROFILE…");
    Deno.exit(2);
  }
  let from = values.from ? Number(values.from) : -Infinity, to = values.to ? Number(values.to) : Infinity;
  let per = values.per ? Number(values.per) : 1;
  if (values.trace) {
    const w = startupWindow(await Deno.readTextFile(values.trace));
    from = w.from;
    to = w.to;
    if (!values.per) per = w.pods;
  }
  const off = epochMinusMonotonic();
  if (values.callers) {
    const all = new Map<string, number>();
    for (const file of positionals) {
      const p = JSON.parse(await Deno.readTextFile(file)) as CpuProfile;
      const m = callers(p, (from - off) * 1000, (to - off) * 1000, values.callers, Number(values.depth));
      for (const [k, ms] of m) all.set(k, (all.get(k) ?? 0) + ms);
    }
    const total = [...all.values()].reduce((a, b) => a + b, 0);
    console.log(
      `callers of ${values.callers}: ${(total / per).toFixed(3)} ms per op\n` +
        top(all, per, Number(values.top), total),
    );
    Deno.exit(0);
  }
  const all = new Map<string, number>();
  for (const file of positionals) {
    const p = JSON.parse(await Deno.readTextFile(file)) as CpuProfile;
    for (const [k, ms] of selfTimes(p, (from - off) * 1000, (to - off) * 1000)) {
      all.set(k, (all.get(k) ?? 0) + ms);
    }
  }
  const total = [...all.values()].reduce((a, b) => a + b, 0);
  const idle = all.get("(idle)") ?? 0;
  console.log(
    `window ${((to - from) / 1000).toFixed(2)} s, sampled ${(total / per).toFixed(2)} ms per op, ` +
      `not idle ${
        ((total - idle) / per).toFixed(2)
      } ms per op (${positionals.length} profile(s), per ${per})`,
  );
  console.log("\nby function (self):\n" + top(all, per, Number(values.top), total));
  console.log("\nby file (self):\n" + top(byFile(all), per, 25, total));
}
