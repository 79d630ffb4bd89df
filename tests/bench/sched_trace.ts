/**
 * What each thread was doing in a window, from the kernel's scheduler trace (issue 2
 * diagnostics): `perf record -a -k CLOCK_MONOTONIC -e sched:sched_switch -e sched:sched_wakeup`,
 * printed with `perf script -F tid,cpu,time,event,trace`. A thread is, at every moment, running
 * on a CPU, runnable but waiting for one (switched out while still runnable, i.e. preempted, or
 * woken and not yet running), or sleeping (blocked: waiting for I/O, a timer, a futex). For a
 * stretch in which the API server's thread ran no timer (a stall), that splits the stretch into
 * on-CPU time (a long task or GC), run-queue wait (another thread had the CPU) and sleep (the
 * thread blocked), and names who had the CPUs meanwhile. Pure: the caller runs perf.
 * @module
 */

/** One scheduler event, times in ms on CLOCK_MONOTONIC. */
export type SchedEvent =
  | {
    kind: "switch";
    at: number;
    cpu: number;
    prev: number;
    prevComm: string;
    prevState: string;
    next: number;
    nextComm: string;
  }
  /** `by`: the thread that issued the wakeup (the one running when it was traced; 0 for an interrupt in idle). */
  | { kind: "wakeup"; at: number; cpu: number; tid: number; by: number };

const SWITCH =
  /^\s*(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:sched_switch:\s+prev_comm=(.*?) prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+) next_prio=\d+/;
const WAKEUP =
  /^\s*(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:sched_wakeup(?:_new)?:\s+comm=(.*?) pid=(\d+) prio=\d+/;

/** The events of `perf script -F tid,cpu,time,event,trace` output, in order; other lines are skipped. */
export function parsePerfSched(text: string): SchedEvent[] {
  const out: SchedEvent[] = [];
  for (const line of text.split("\n")) {
    let m = SWITCH.exec(line);
    if (m) {
      out.push({
        kind: "switch",
        at: Number(m[3]) * 1e3,
        cpu: Number(m[2]),
        prevComm: m[4],
        prev: Number(m[5]),
        prevState: m[6],
        nextComm: m[7],
        next: Number(m[8]),
      });
      continue;
    }
    m = WAKEUP.exec(line);
    if (m) {
      out.push({
        kind: "wakeup",
        at: Number(m[3]) * 1e3,
        cpu: Number(m[2]),
        tid: Number(m[5]),
        by: Number(m[1]),
      });
    }
  }
  return out;
}

/**
 * A thread's state over `[from, to)`: on a CPU, runnable (waiting for one), sleeping (blocked
 * interruptibly: a socket, a timer, a futex), or in uninterruptible sleep (`D`: mostly disk I/O).
 */
export type ThreadState = "running" | "runnable" | "sleeping" | "disk";
export interface Segment {
  from: number;
  to: number;
  state: ThreadState;
}

/**
 * Each thread's state segments, from its first event on (before that its state is unknown), and
 * each CPU's running thread as segments too (`tid` 0 is idle). `end` closes the last segments.
 */
export function timelines(events: SchedEvent[], end: number): {
  threads: Map<number, Segment[]>;
  cpus: Map<number, { from: number; to: number; tid: number; comm: string }[]>;
  comms: Map<number, string>;
} {
  const threads = new Map<number, Segment[]>();
  const open = new Map<number, { from: number; state: ThreadState }>();
  const cpus = new Map<number, { from: number; to: number; tid: number; comm: string }[]>();
  const onCpu = new Map<number, { from: number; tid: number; comm: string }>();
  const comms = new Map<number, string>();
  const enter = (tid: number, at: number, state: ThreadState) => {
    if (tid === 0) return;
    const o = open.get(tid);
    if (o && o.state === state) return;
    if (o && at > o.from) {
      let segs = threads.get(tid);
      if (!segs) threads.set(tid, segs = []);
      segs.push({ from: o.from, to: at, state: o.state });
    }
    open.set(tid, { from: at, state });
  };
  for (const e of events) {
    if (e.kind === "wakeup") {
      // A wakeup of a thread already runnable or running changes nothing.
      const o = open.get(e.tid);
      if (!o || o.state === "sleeping" || o.state === "disk") enter(e.tid, e.at, "runnable");
      continue;
    }
    comms.set(e.prev, e.prevComm);
    comms.set(e.next, e.nextComm);
    // `R` / `R+`: preempted, still runnable; `D`: uninterruptible (I/O); anything else: it blocked.
    enter(
      e.prev,
      e.at,
      e.prevState.startsWith("R") ? "runnable" : e.prevState.startsWith("D") ? "disk" : "sleeping",
    );
    enter(e.next, e.at, "running");
    const c = onCpu.get(e.cpu);
    if (c && e.at > c.from) {
      let segs = cpus.get(e.cpu);
      if (!segs) cpus.set(e.cpu, segs = []);
      segs.push({ from: c.from, to: e.at, tid: c.tid, comm: c.comm });
    }
    onCpu.set(e.cpu, { from: e.at, tid: e.next, comm: e.nextComm });
  }
  for (const [tid, o] of open) {
    let segs = threads.get(tid);
    if (!segs) threads.set(tid, segs = []);
    if (end > o.from) segs.push({ from: o.from, to: end, state: o.state });
  }
  for (const [cpu, c] of onCpu) {
    let segs = cpus.get(cpu);
    if (!segs) cpus.set(cpu, segs = []);
    if (end > c.from) segs.push({ from: c.from, to: end, tid: c.tid, comm: c.comm });
  }
  return { threads, cpus, comms };
}

/** Milliseconds of each state of `segs` inside `[from, to)`; `unknown` is the part before the first segment. */
export function statesIn(
  segs: Segment[] | undefined,
  from: number,
  to: number,
): Record<ThreadState | "unknown", number> {
  const out = { running: 0, runnable: 0, sleeping: 0, disk: 0, unknown: to - from };
  for (const s of segs ?? []) {
    const d = Math.min(to, s.to) - Math.max(from, s.from);
    if (d > 0) out[s.state] += d, out.unknown -= d;
  }
  return out;
}

/**
 * CPU time of each thread (by `role(tid, comm)`; tid 0 is a CPU's idle task) inside `[from, to)`,
 * optionally only while `during` holds.
 */
export function cpuByRole(
  cpus: Map<number, { from: number; to: number; tid: number; comm: string }[]>,
  from: number,
  to: number,
  role: (tid: number, comm: string) => string,
  during?: Segment[],
): Map<string, number> {
  const out = new Map<string, number>();
  const windows = during ? during.filter((s) => s.to > from && s.from < to) : [{ from, to }];
  for (const segs of cpus.values()) {
    for (const s of segs) {
      if (s.to <= from || s.from >= to) continue;
      for (const w of windows) {
        const d = Math.min(to, s.to, w.to) - Math.max(from, s.from, w.from);
        if (d > 0) out.set(role(s.tid, s.comm), (out.get(role(s.tid, s.comm)) ?? 0) + d);
      }
    }
  }
  return out;
}

/** The kind of a stall: whatever took at least half of it, else "mixed". */
export function stallKind(
  s: Record<ThreadState | "unknown", number>,
): "on-CPU" | "run-queue wait" | "blocked" | "mixed" {
  const total = s.running + s.runnable + s.sleeping + s.disk + s.unknown;
  if (s.running >= total / 2) return "on-CPU";
  if (s.runnable >= total / 2) return "run-queue wait";
  if (s.sleeping + s.disk >= total / 2) return "blocked";
  return "mixed";
}

/**
 * Where a wait for a CPU (`wait`, a runnable segment of `tid`) was spent: the CPU the thread then
 * ran on, how long that CPU sat idle meanwhile (the thread was woken onto an idle CPU that took that
 * long to run it: in a VM, the wake-up of a halted vCPU), how long it ran other threads (the thread
 * queued behind them), and how long the other CPUs sat idle meanwhile (a CPU free, yet the thread
 * was not moved to it). `cpu` is -1 when the switch-in was not traced.
 */
export function waitPlacement(
  cpus: Map<number, { from: number; to: number; tid: number; comm: string }[]>,
  tid: number,
  wait: Segment,
): { cpu: number; ownIdle: number; ownBusy: number; otherIdle: number } {
  let cpu = -1;
  for (const [c, segs] of cpus) {
    if (segs.some((s) => s.tid === tid && Math.abs(s.from - wait.to) < 1e-6)) cpu = c;
  }
  let ownIdle = 0, ownBusy = 0, otherIdle = 0;
  for (const [c, segs] of cpus) {
    for (const s of segs) {
      const d = Math.min(wait.to, s.to) - Math.max(wait.from, s.from);
      if (d <= 0) continue;
      if (c === cpu) s.tid === 0 ? (ownIdle += d) : (ownBusy += d);
      else if (s.tid === 0) otherIdle += d;
    }
  }
  return { cpu, ownIdle, ownBusy, otherIdle };
}

/** Every wakeup of `tid` in `[from, to)`: when, and by which thread. */
export function wakeupsOf(
  events: SchedEvent[],
  tid: number,
  from: number,
  to: number,
): { at: number; by: number }[] {
  const out: { at: number; by: number }[] = [];
  for (const e of events) {
    if (e.kind === "wakeup" && e.tid === tid && e.at >= from && e.at < to) out.push({ at: e.at, by: e.by });
  }
  return out;
}
