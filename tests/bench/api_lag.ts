/**
 * An event-loop lag probe for the API bench (issue 2): a 1 ms interval timer on the thread under
 * test, recording how late each tick fires. A late tick means the thread was busy (a handler's
 * synchronous work, a GC pause) or not running at all (waiting for a CPU), and every request that
 * arrived meanwhile waited that long before its handler ran. Timers here tick about every 1–2 ms
 * when the thread is free, so only gaps above `minMs` are kept.
 *
 * @example
 * ```ts ignore
 * const probe = startLagProbe();
 * await phase();
 * probe.stop();
 * console.log(probe.gaps.length, lagSummary(probe.gaps));
 * ```
 * @module
 */

/** A stretch in which the thread ran no timer: when it began (absolute ms) and how long it was. */
export type Gap = [start: number, length: number];

export interface LagProbe {
  /** Gaps longer than `minMs`, in order. */
  readonly gaps: Gap[];
  stop(): void;
}

const now = () => performance.timeOrigin + performance.now();

/** Starts the probe on the calling thread. */
export function startLagProbe(minMs = 2): LagProbe {
  const gaps: Gap[] = [];
  let last = now();
  const id = setInterval(() => {
    const t = now();
    if (t - last > minMs) gaps.push([last, t - last]);
    last = t;
  }, 1);
  return { gaps, stop: () => clearInterval(id) };
}

/** Count over 5 ms, over 10 ms, the longest gap and the sum of gaps over 5 ms (ms). */
export function lagSummary(gaps: Gap[]): { over5: number; over10: number; max: number; sumOver5: number } {
  let over5 = 0, over10 = 0, max = 0, sumOver5 = 0;
  for (const [, l] of gaps) {
    if (l > 5) over5++, sumOver5 += l;
    if (l > 10) over10++;
    if (l > max) max = l;
  }
  return { over5, over10, max, sumOver5 };
}
