/**
 * Scheduling attributes of the calling thread, for the API bench's load generator (issue 2): its
 * kernel thread id, its nice value and the CPUs it may run on, through `Deno.dlopen` of glibc
 * (Deno has no API for them). On Linux both are attributes of one thread, not of the process
 * (`setpriority(PRIO_PROCESS, 0, n)` and `sched_setaffinity(0, …)` change only the caller), so a
 * Web Worker can lower its own priority without touching the server's thread. Also the process's
 * CLOCK_MONOTONIC, to place `performance.now()` times on the kernel's trace clock. A thread's
 * EEVDF slice (`sched_setattr`, Linux ≥ 6.12) is set by `thread_slice.ts` through
{@linkcode schedGetattr} and {@linkcode schedSetattr} here.
 *
 * @example
 * ```ts ignore
 * const tid = threadId();
 * setThreadNice(10); // this thread only
 * setThreadCpus([1]);
 * ```
 * @module
 */

const SYMBOLS = {
  syscall: { parameters: ["i64"], result: "i64" },
  syscall4: { name: "syscall", parameters: ["i64", "i64", "buffer", "i64", "i64"], result: "i64" },
  setpriority: { parameters: ["i32", "u32", "i32"], result: "i32" },
  getpriority: { parameters: ["i32", "u32"], result: "i32" },
  sched_setaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

const SYS_GETTID = 186n; // x86_64
const PRIO_PROCESS = 0;
const CLOCK_MONOTONIC = 1;

let lib: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | undefined;
const libc = () => lib ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;

function errno(): number {
  const p = libc().__errno_location();
  return p ? new Deno.UnsafePointerView(p).getInt32() : 0;
}

/** The calling thread's kernel id (`gettid(2)`; the main thread's equals the process id). */
export function threadId(): number {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    throw new Error("thread_ctl needs Linux on x86_64");
  }
  return Number(libc().syscall(SYS_GETTID));
}

/**
 * Sets a thread's nice value (-20…19; lowering it below the current needs root): the calling
 * thread's, or thread `tid`'s (any thread of any process, given the permission).
 */
export function setThreadNice(nice: number, tid = 0): void {
  if (!Number.isInteger(nice) || nice < -20 || nice > 19) {
    throw new Error(`nice must be an integer in -20…19, not ${nice}`);
  }
  if (libc().setpriority(PRIO_PROCESS, tid, nice) !== 0) {
    throw new Error(`setpriority(${tid || "self"}, ${nice}) failed: errno ${errno()}`);
  }
}

/** Restricts a thread to the given CPUs (numbers from 0): the calling thread, or thread `tid`. */
export function setThreadCpus(cpus: number[], tid = 0): void {
  const mask = new Uint8Array(128);
  for (const c of cpus) {
    if (!Number.isInteger(c) || c < 0 || c >= mask.length * 8) throw new Error(`not a CPU number: ${c}`);
    mask[c >> 3] |= 1 << (c & 7);
  }
  if (libc().sched_setaffinity(tid, BigInt(mask.length), mask) !== 0) {
    throw new Error(`sched_setaffinity(${cpus.join(",")}) failed: errno ${errno()}`);
  }
}

const SCHED_ATTR_SYSCALLS: Record<string, { setattr: bigint; getattr: bigint }> = {
  x86_64: { setattr: 314n, getattr: 315n },
  aarch64: { setattr: 274n, getattr: 275n },
};

function schedAttrSyscalls(): { setattr: bigint; getattr: bigint } {
  const nr = Deno.build.os === "linux" ? SCHED_ATTR_SYSCALLS[Deno.build.arch] : undefined;
  if (!nr) {
    throw new Error(`thread slices need Linux on x86_64 or aarch64, not ${Deno.build.os}/${Deno.build.arch}`);
  }
  return nr;
}

/** `sched_getattr(tid)` into `buf` (a `struct sched_attr` of `buf.length` bytes). */
export function schedGetattr(tid: number, buf: Uint8Array): void {
  if (libc().syscall4(schedAttrSyscalls().getattr, BigInt(tid), buf, BigInt(buf.length), 0n) !== 0n) {
    throw new Error(`sched_getattr(${tid}) failed: errno ${errno()}`);
  }
}

/** `sched_setattr(tid, attr)`; `what` names the request in the error. */
export function schedSetattr(tid: number, attr: Uint8Array, what: string): void {
  if (libc().syscall4(schedAttrSyscalls().setattr, BigInt(tid), attr, 0n, 0n) !== 0n) {
    throw new Error(`sched_setattr(${tid}, ${what}) failed: errno ${errno()}`);
  }
}

/** CLOCK_MONOTONIC now, in ms (the clock `perf record -k CLOCK_MONOTONIC` stamps events with). */
export function monotonicMs(): number {
  const ts = new BigInt64Array(2);
  libc().clock_gettime(CLOCK_MONOTONIC, ts);
  return Number(ts[0]) * 1e3 + Number(ts[1]) / 1e6;
}

/**
 * `monotonicMs() - (performance.timeOrigin + performance.now())`: add it to the bench's absolute
 * times to get the kernel's. The smallest of a few reads, so a preemption between them does not
 * skew it by more than a few µs.
 */
export function monotonicOffsetMs(): number {
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < 20; i++) {
    const a = performance.timeOrigin + performance.now();
    const m = monotonicMs();
    const b = performance.timeOrigin + performance.now();
    if (b - a < best) best = b - a, offset = m - (a + b) / 2;
  }
  return offset;
}
