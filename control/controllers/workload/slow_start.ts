/**
 * Upstream's `slowStartBatch`: run `count` calls in batches of 1, 2, 4, ... in parallel, stopping
 * after the first batch with an error. A quota or admission error then costs one failed call, not
 * hundreds, and the event log stays readable.
 *
 * @example
 * ```ts
 * const { successes } = await slowStartBatch(5, 1, async () => {});
 * successes; // 5
 * ```
 * @module
 */

/** Upstream `SlowStartInitialBatchSize`. */
export const SLOW_START_INITIAL_BATCH_SIZE = 1;

export interface SlowStartResult {
  successes: number;
  /** The first error of the batch that failed, if any. */
  error?: unknown;
  /** Calls made (successful or not); `count - attempted` were skipped. */
  attempted: number;
}

/** Runs `fn(i)` for i in [0, count) in doubling batches; stops after a batch with an error. */
export async function slowStartBatch(
  count: number,
  initialBatchSize: number,
  fn: (i: number) => Promise<unknown>,
): Promise<SlowStartResult> {
  let remaining = count;
  let successes = 0;
  let next = 0;
  for (let batch = Math.min(remaining, initialBatchSize); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn(next++)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    successes += batch - failed.length;
    if (failed.length) return { successes, error: failed[0].reason, attempted: next };
    remaining -= batch;
  }
  return { successes, attempted: next };
}
