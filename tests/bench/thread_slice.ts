/**
 * A thread's EEVDF slice, for the API bench's diagnostics (issue 2, `api_stalls.ts`'s `slice<µs>`
 * arms). Since Linux 6.12 the fair scheduler takes a per-task slice from `sched_setattr(2)`'s
 * `sched_runtime` for SCHED_OTHER (clamped to 0.1–100 ms; upstream commit 857b158dc5e8
 * "sched/eevdf: Use sched_attr::sched_runtime to set request/slice suggestion"), and with the
 * PREEMPT_SHORT feature a woken task whose slice is shorter may preempt the running one instead of
 * waiting for the tick (85e511df3cec "sched/eevdf: Allow shorter slices to wakeup-preempt").
 * `/proc/<pid>/task/<tid>/sched` shows it as `se.slice` (1.4 ms by default on this 2-CPU VM).
 * Threads inherit their creator's slice (measured on 6.18). On an older kernel the call succeeds
 * and the value is ignored (the read-back then differs); without permission it fails (EPERM).
 *
 * Measured and not adopted by `./skiff up` (docs/benchmarks.md, "A shorter EEVDF slice for the
 * server's thread"): it lowered the write p99 in some pairs and raised it in others.
 *
 * @example
 * ```ts ignore
 * const r = applyThreadSlice(Deno.pid, 300_000); // every thread of this process, 0.3 ms
 * console.log(describeSliceResult(r));
 * ```
 * @module
 */
import { schedGetattr, schedSetattr } from "./thread_ctl.ts";

/** `SCHED_OTHER` (`SCHED_NORMAL`), the policy the slice applies to. */
export const SCHED_OTHER = 0;
/** `SCHED_BATCH`: fair too, so it keeps the slice. */
export const SCHED_BATCH = 3;
/** `SCHED_ATTR_SIZE_VER0`: the 48-byte first version of `struct sched_attr`. */
export const SCHED_ATTR_SIZE = 48;
/** The kernel's clamp of a requested slice, ns (`kernel/sched/syscalls.c`). */
export const MIN_SLICE_NS = 100_000;
export const MAX_SLICE_NS = 100_000_000;

/** The fields of `struct sched_attr` (include/uapi/linux/sched/types.h) up to `sched_period`. */
export interface SchedAttr {
  policy: number;
  flags: bigint;
  nice: number;
  priority: number;
  /** For fair policies since 6.12: the requested slice, ns (0 = the default). */
  runtimeNs: bigint;
  deadlineNs: bigint;
  periodNs: bigint;
}

/** `struct sched_attr` as the kernel reads it (little-endian x86_64/aarch64). Pure. */
export function encodeSchedAttr(a: SchedAttr): Uint8Array {
  const buf = new Uint8Array(SCHED_ATTR_SIZE);
  const v = new DataView(buf.buffer);
  v.setUint32(0, SCHED_ATTR_SIZE, true);
  v.setUint32(4, a.policy, true);
  v.setBigUint64(8, a.flags, true);
  v.setInt32(16, a.nice, true);
  v.setUint32(20, a.priority, true);
  v.setBigUint64(24, a.runtimeNs, true);
  v.setBigUint64(32, a.deadlineNs, true);
  v.setBigUint64(40, a.periodNs, true);
  return buf;
}

/** The inverse of {@linkcode encodeSchedAttr} (a buffer `sched_getattr` filled). Pure. */
export function decodeSchedAttr(buf: Uint8Array): SchedAttr {
  if (buf.length < SCHED_ATTR_SIZE) {
    throw new Error(`sched_attr needs ${SCHED_ATTR_SIZE} bytes, got ${buf.length}`);
  }
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    policy: v.getUint32(4, true),
    flags: v.getBigUint64(8, true),
    nice: v.getInt32(16, true),
    priority: v.getUint32(20, true),
    runtimeNs: v.getBigUint64(24, true),
    deadlineNs: v.getBigUint64(32, true),
    periodNs: v.getBigUint64(40, true),
  };
}

/**
 * The attributes to write for a slice of `sliceNs` on a thread now at `current`: the same policy
 * and nice (sched_setattr sets both), `sched_runtime` = the slice. `undefined` when the thread is
 * not fair-scheduled (real-time or deadline: left alone). Throws on a slice outside 0.1–100 ms
 * (0 restores the default). Pure.
 */
export function sliceAttr(current: SchedAttr, sliceNs: number): SchedAttr | undefined {
  if (!Number.isInteger(sliceNs) || (sliceNs !== 0 && (sliceNs < MIN_SLICE_NS || sliceNs > MAX_SLICE_NS))) {
    throw new Error(
      `a thread slice must be 0 (the default) or ${MIN_SLICE_NS}–${MAX_SLICE_NS} ns, not ${sliceNs}`,
    );
  }
  if (current.policy !== SCHED_OTHER && current.policy !== SCHED_BATCH) return undefined;
  return {
    policy: current.policy,
    flags: 0n,
    nice: current.nice,
    priority: 0,
    runtimeNs: BigInt(sliceNs),
    deadlineNs: 0n,
    periodNs: 0n,
  };
}

/** `sched_getattr(tid)`: a thread's policy, nice and (fair, ≥ 6.12) slice. */
export function getThreadAttr(tid: number): SchedAttr {
  const buf = new Uint8Array(SCHED_ATTR_SIZE);
  schedGetattr(tid, buf);
  return decodeSchedAttr(buf);
}

/**
 * Requests a slice of `sliceNs` (0 = the default) for thread `tid`, keeping its policy and nice.
 * Returns the slice the kernel then reports (`sched_getattr`), which on a kernel before 6.12 is
 * not the one asked for. Throws when the syscall fails (e.g. EPERM).
 */
export function setThreadSlice(tid: number, sliceNs: number): number {
  const attr = sliceAttr(getThreadAttr(tid), sliceNs);
  if (!attr) return Number(getThreadAttr(tid).runtimeNs);
  schedSetattr(tid, encodeSchedAttr(attr), `slice ${sliceNs} ns`);
  return Number(getThreadAttr(tid).runtimeNs);
}

/** What {@linkcode applyThreadSlice} did. */
export interface SliceResult {
  sliceNs: number;
  /** Threads whose read-back slice is the one asked for (or the kernel's default, for 0). */
  applied: number[];
  /** Threads the kernel refused, or whose read-back slice differs (an older kernel). */
  failed: { tid: number; reason: string }[];
}

/**
 * Requests the slice for every thread of process `pid` (`/proc/<pid>/task`) except `skip`.
 * Threads started later inherit their creator's slice. Never throws for a thread: failures are
 * returned.
 */
export function applyThreadSlice(pid: number, sliceNs: number, opts: { skip?: number[] } = {}): SliceResult {
  const result: SliceResult = { sliceNs, applied: [], failed: [] };
  let tids: number[];
  try {
    tids = [...Deno.readDirSync(`/proc/${pid}/task`)].map((e) => Number(e.name));
  } catch (e) {
    result.failed.push({ tid: pid, reason: `cannot list /proc/${pid}/task: ${(e as Error).message}` });
    return result;
  }
  for (const tid of tids.sort((a, b) => a - b)) {
    if (opts.skip?.includes(tid)) continue;
    try {
      const got = setThreadSlice(tid, sliceNs);
      if (sliceNs === 0 || got === sliceNs) result.applied.push(tid);
      else {result.failed.push({
          tid,
          reason: `the kernel reports a slice of ${got} ns (needs Linux ≥ 6.12)`,
        });}
    } catch (e) {
      if (e instanceof Error && /errno 3$/.test(e.message)) continue; // ESRCH: the thread ended
      result.failed.push({ tid, reason: (e as Error).message });
    }
  }
  return result;
}

/** One log line for a {@linkcode SliceResult}. Pure. */
export function describeSliceResult(r: SliceResult): string {
  const what = r.sliceNs === 0 ? "the default slice" : `a ${r.sliceNs / 1e6} ms slice`;
  const failed = r.failed.length ? `; not on ${r.failed.length}: ${r.failed[0].reason}` : "";
  return `thread slice: ${what} on ${r.applied.length} thread(s)${failed}`;
}
