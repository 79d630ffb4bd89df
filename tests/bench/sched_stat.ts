/**
 * Where a process tree's time went, from `/proc` (Linux): per process, the CPU its threads ran
 * and the time they waited runnable for a CPU (run-queue delay, `/proc/<pid>/task/<tid>/schedstat`),
 * and their voluntary and involuntary context switches (`status`). The plugin benchmarks use it
 * to tell a round trip's own cost from the wait for a core on a shared machine.
 * @module
 */

/** PIDs of the live children of `pid` (from `/proc/<pid>/task/*\/children`). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
      const s = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/children`).trim();
      if (s) for (const c of s.split(" ")) out.push(Number(c));
    }
  } catch { /* gone */ }
  return out;
}

/** One thread's counters. */
export interface ThreadStat {
  /** ns on a CPU. */
  runNs: number;
  /** ns runnable but waiting for a CPU. */
  delayNs: number;
  voluntary: number;
  involuntary: number;
}

/** A snapshot: `<pid>/<tid>` → the process's role and the thread's counters. */
export type TreeSnapshot = Map<string, { role: string; main: boolean; stat: ThreadStat }>;

/** The counters out of a thread's `schedstat` and `status` texts. Pure. */
export function parseThread(schedstat: string, status: string): ThreadStat {
  const [run, delay] = schedstat.trim().split(/\s+/).map(Number);
  const field = (name: string) => Number(new RegExp(`^${name}:\\s*(\\d+)`, "m").exec(status)?.[1] ?? 0);
  return { runNs: run, delayNs: delay, voluntary: field("voluntary_ctxt_switches"), involuntary: field("nonvoluntary_ctxt_switches") };
}

/** Every thread of `pid` and its live descendants; `role(pid)` names each process. */
export function snapshotTree(pid: number, role: (pid: number) => string): TreeSnapshot {
  const out: TreeSnapshot = new Map();
  const walk = (p: number) => {
    let tasks: string[];
    try {
      tasks = [...Deno.readDirSync(`/proc/${p}/task`)].map((t) => t.name);
    } catch {
      return;
    }
    const r = role(p);
    for (const t of tasks) {
      try {
        const stat = parseThread(
          Deno.readTextFileSync(`/proc/${p}/task/${t}/schedstat`),
          Deno.readTextFileSync(`/proc/${p}/task/${t}/status`),
        );
        out.set(`${p}/${t}`, { role: r, main: String(p) === t, stat });
      } catch { /* the thread ended */ }
    }
    for (const c of childPids(p)) walk(c);
  };
  walk(pid);
  return out;
}

/** Per role, the sum over its threads (and its main thread alone) between two snapshots. Pure. */
export function treeDelta(
  before: TreeSnapshot,
  after: TreeSnapshot,
): Map<string, { all: ThreadStat; main: ThreadStat }> {
  const zero = (): ThreadStat => ({ runNs: 0, delayNs: 0, voluntary: 0, involuntary: 0 });
  const out = new Map<string, { all: ThreadStat; main: ThreadStat }>();
  for (const [k, a] of after) {
    const b = before.get(k)?.stat ?? zero();
    const r = out.get(a.role) ?? { all: zero(), main: zero() };
    out.set(a.role, r);
    for (const into of a.main ? [r.all, r.main] : [r.all]) {
      into.runNs += a.stat.runNs - b.runNs;
      into.delayNs += a.stat.delayNs - b.delayNs;
      into.voluntary += a.stat.voluntary - b.voluntary;
      into.involuntary += a.stat.involuntary - b.involuntary;
    }
  }
  return out;
}

/** `role: run R ms (main M), waited D ms (main W) per op; …` per `ops`. Pure. */
export function formatDelta(d: Map<string, { all: ThreadStat; main: ThreadStat }>, ops: number): string {
  const ms = (ns: number) => (ns / 1e6 / ops).toFixed(3);
  return [...d].filter(([, v]) => v.all.runNs > 0).map(([role, v]) =>
    `${role} CPU ${ms(v.all.runNs)} (main thread ${ms(v.main.runNs)}), run-queue wait ${ms(v.all.delayNs)} (main ${
      ms(v.main.delayNs)
    }) ms, switches ${(v.main.voluntary / ops).toFixed(2)} vol / ${(v.main.involuntary / ops).toFixed(2)} invol (main)`
  ).join("; ");
}

/** A role for the benchmark's processes, from their command lines. */
export function benchRole(pid: number): string {
  let cmd = "";
  try {
    cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
  } catch { /* gone */ }
  if (cmd.includes("runner.ts")) return "runner";
  if (cmd.includes("--serve-api")) return "API server";
  if (cmd.includes("--plugin-host")) return "plugin host";
  if (pid === Deno.pid) return "scheduler";
  return "other";
}
