/**
 * CPU time of processes from `/proc` (Linux), for the benchmarks' "CPU per operation" figures:
 * a process's own user + system time, with or without what its reaped children used
 * (`cutime` + `cstime`: a short-lived child such as `nsenter`, `crun start` or `mount` is counted
 * in its parent once waited for), and the machine's busy time (every process, other sessions'
 * included) from `/proc/stat`.
 * @module
 */

/** USER_HZ on Linux: `/proc` counts CPU time in 1/100 s. */
const CLOCK_TICKS = 100;

/** The fields of `/proc/<pid>/stat` after the command name (field 3, the state, is [0]). Pure. */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/**
 * CPU seconds (user + system) of `pid`, with its waited-for children's when `children` is set;
 * 0 for a process that is gone.
 */
export function processCpu(pid: number, children = true): number {
  let f: string[];
  try {
    f = statFields(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return 0;
  }
  const own = Number(f[11]) + Number(f[12]);
  return (children ? own + Number(f[13]) + Number(f[14]) : own) / CLOCK_TICKS;
}

/** PIDs of the live children of `pid` (from `/proc/<pid>/task/*\/children`). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
      const s = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/children`).trim();
      if (s) { for (const c of s.split(" ")) out.push(Number(c)); }
    }
  } catch { /* gone */ }
  return out;
}

/** CPU seconds of `pid` and every live descendant, each with its waited-for children's. */
export function treeCpu(pid: number): number {
  let total = processCpu(pid);
  for (const c of childPids(pid)) total += treeCpu(c);
  return total;
}

/** Busy CPU seconds of the whole machine since boot, every CPU (all but idle and iowait). */
export function machineBusy(): number {
  const cpu = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.slice(0, 8).reduce((n, x) => n + x, 0); // user … steal (guest is in user)
  return (total - cpu[3] - cpu[4]) / CLOCK_TICKS;
}
