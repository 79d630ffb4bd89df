/**
 * Reading Linux `/proc`: process start times and process-group members.
 * @module
 */

/** The fields of `/proc/<pid>/stat` skiff uses. */
export interface ProcStat {
  pid: number;
  /** One letter: R, S, D, Z (zombie), T, ... */
  state: string;
  ppid: number;
  pgrp: number;
  /** Clock ticks since boot (field 22). */
  startTime: number;
}

/** Parses the text of `/proc/<pid>/stat` (the command name may contain spaces and parentheses). */
export function parseStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const pid = Number(text.slice(0, text.indexOf(" ")));
  const f = text.slice(close + 2).split(" "); // f[0] is field 3 (state)
  const stat = { pid, ppid: Number(f[1]), pgrp: Number(f[2]), startTime: Number(f[19]) };
  if (!Object.values(stat).every(Number.isSafeInteger)) return undefined;
  return { ...stat, state: f[0] };
}

/** `/proc/<pid>/stat` parsed, or undefined when the process does not exist. */
export function readStat(pid: number): ProcStat | undefined {
  try {
    return parseStat(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return undefined;
  }
}

/** The start time of `pid`, or undefined when it does not exist. */
export function processStartTime(pid: number): number | undefined {
  return readStat(pid)?.startTime;
}

/** Every process on the machine (that can still be read). */
export function allProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^[0-9]+$/.test(e.name)) continue;
    const stat = readStat(Number(e.name));
    if (stat) out.push(stat);
  }
  return out;
}

/** PIDs of the live (not zombie) members of process group `pgid` started at or after `minStartTime`. */
export function groupMembers(pgid: number, minStartTime = 0): number[] {
  return allProcesses()
    .filter((p) => p.pgrp === pgid && p.startTime >= minStartTime && p.state !== "Z")
    .map((p) => p.pid);
}
