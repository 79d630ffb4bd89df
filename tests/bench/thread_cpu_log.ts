/**
 * Logs, every `--every` ms, the CPU time so far (`schedstat`) of each thread of the processes whose command
 * line contains `--match` (by default the node agent `cli/node.ts` and the plugin runners), as
 * JSON lines `{at, pid, tid, comm, cmd, cpuMs}` (at: epoch ms). With `--summary TRACE LOG` it
 * prints the CPU each thread kind used per pod over the start-up window of a containers
 * benchmark trace (tests/bench/cpu_profile.ts), so the runners' and the agent's CPU per pod
 * split into their main thread, V8's helper threads (GC, compilers) and Deno's blocking pool.
 *
 * ```sh
 * deno run -A tests/bench/thread_cpu_log.ts > threads.jsonl &   # while the benchmark runs
 * deno run -A tests/bench/thread_cpu_log.ts --summary trace.txt threads.jsonl
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { statFields } from "./proc_cpu.ts";
import { startupWindow } from "./cpu_profile.ts";

/**
 * CPU ms a thread has run, from `/proc/<pid>/task/<tid>/schedstat` (the scheduler's own ns
 * count: exact, where `stat`'s user + system time is sampled at each 10 ms tick).
 */
export function threadCpuMs(pid: number, tid: number): number {
  return Number(Deno.readTextFileSync(`/proc/${pid}/task/${tid}/schedstat`).split(" ")[0]) / 1e6;
}

interface Sample {
  at: number;
  pid: number;
  tid: number;
  comm: string;
  cmd: string;
  /** The process's parent. */
  ppid: number;
  cpuMs: number;
}

/** A thread's kind from its `comm`: V8's helper threads, tokio's, or the process's main thread. Pure. */
export function threadKind(comm: string, main: boolean): string {
  if (main) return "main thread";
  if (comm.startsWith("V8 ") || /DefaultWorke/.test(comm)) return "V8 helper threads";
  if (comm.startsWith("tokio")) return "tokio blocking pool";
  return `other (${comm.replace(/\d+$/, "")})`;
}

function sampleOnce(match: RegExp[]): Sample[] {
  const out: Sample[] = [];
  const at = Date.now();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replaceAll("\0", " ");
      if (!match.some((m) => m.test(cmd))) continue;
      const ppid = Number(statFields(Deno.readTextFileSync(`/proc/${e.name}/stat`))[1]);
      for (const t of Deno.readDirSync(`/proc/${e.name}/task`)) {
        const comm = Deno.readTextFileSync(`/proc/${e.name}/task/${t.name}/comm`).trim();
        out.push({
          at,
          pid: Number(e.name),
          tid: Number(t.name),
          comm,
          cmd: /runner\.ts/.test(cmd)
            ? `runner ${/"plugin":"([^"]+)"/.exec(cmd)?.[1] ?? "?"}`
            : `agent ${/--name (\S+)/.exec(cmd)?.[1] ?? "?"}`,
          ppid,
          cpuMs: threadCpuMs(Number(e.name), Number(t.name)),
        });
      }
    } catch { /* gone */ }
  }
  return out;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { every: { type: "string", default: "250" }, summary: { type: "boolean" } },
  });
  if (values.summary) {
    const w = startupWindow(await Deno.readTextFile(positionals[0]));
    // The benchmark's agent (`--name bench-node`) and its runners: other sessions' nodes run here too.
    const all = (await Deno.readTextFile(positionals[1])).split("\n").filter(Boolean).map((l) =>
      JSON.parse(l) as Sample
    );
    const agents = new Set(all.filter((s) => s.cmd === "agent bench-node").map((s) => s.pid));
    const samples = all.filter((s) => agents.has(s.pid) || agents.has(s.ppid));
    // Each thread's CPU at the last sample before the window and the first after it.
    const first = new Map<number, Sample>(), last = new Map<number, Sample>();
    for (const s of samples) {
      if (s.at <= w.from) first.set(s.tid, s);
      if (s.at >= w.to && !last.has(s.tid)) last.set(s.tid, s);
    }
    const sums = new Map<string, number>();
    let span = 0;
    for (const [tid, b] of last) {
      const a = first.get(tid);
      const used = b.cpuMs - (a?.cpuMs ?? 0);
      const k = `${b.cmd.replace(/^agent .*/, "agent")}: ${threadKind(b.comm, b.tid === b.pid)}`;
      sums.set(k, (sums.get(k) ?? 0) + used);
      if (a) span = Math.max(span, b.at - a.at);
    }
    console.log(
      `CPU per pod (${w.pods} pods; samples ${span} ms apart around a ${
        (w.to - w.from).toFixed(0)
      } ms window):`,
    );
    for (const [k, ms] of [...sums].sort((x, y) => y[1] - x[1])) {
      console.log(`${(ms / w.pods).toFixed(2).padStart(7)} ms  ${k}`);
    }
    Deno.exit(0);
  }
  const match = positionals.length
    ? positionals.map((p) => new RegExp(p))
    : [/cli\/node\.ts/, /plugins\/host\/runner\.ts/];
  const every = Number(values.every);
  const enc = new TextEncoder();
  for (;;) {
    const lines = sampleOnce(match).map((s) => JSON.stringify(s)).join("\n");
    if (lines) await Deno.stdout.write(enc.encode(lines + "\n"));
    await new Promise((r) => setTimeout(r, every));
  }
}
