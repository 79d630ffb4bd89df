/**
 * A de-duplicating work queue of keys, as client-go's: a key queued several times is processed
 * once; a key re-added while being processed is processed again after `done`; failures requeue
 * with per-key exponential back-off.
 *
 * @example
 * ```ts
 * const q = new WorkQueue();
 * q.add("default/web");
 * const key = await q.get(); // "default/web"
 * q.done(key!);
 * ```
 * @module
 */

export interface WorkQueueOptions {
  /** First back-off delay in ms (default 5). */
  baseDelayMs?: number;
  /** Longest back-off delay in ms (default 1000 s). */
  maxDelayMs?: number;
}

export class WorkQueue<K = string> {
  #queue: K[] = [];
  #dirty = new Set<K>();
  #processing = new Set<K>();
  #failures = new Map<K, number>();
  #timers = new Map<K, ReturnType<typeof setTimeout>>();
  #waiters: ((k: K | undefined) => void)[] = [];
  #shutdown = false;
  readonly #base: number;
  readonly #max: number;

  constructor(opts: WorkQueueOptions = {}) {
    this.#base = opts.baseDelayMs ?? 5;
    this.#max = opts.maxDelayMs ?? 1_000_000;
  }

  get length(): number {
    return this.#queue.length;
  }

  get shuttingDown(): boolean {
    return this.#shutdown;
  }

  add(key: K): void {
    if (this.#shutdown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      waiter(key);
    } else this.#queue.push(key);
  }

  /** Adds the key after a delay (an earlier pending delay for the same key wins). */
  addAfter(key: K, ms: number): void {
    if (this.#shutdown) return;
    if (ms <= 0) return this.add(key);
    if (this.#timers.has(key)) return;
    const t = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, ms);
    Deno.unrefTimer(t as unknown as number);
    this.#timers.set(key, t);
  }

  /** Requeues after the key's next back-off delay. */
  addRateLimited(key: K): void {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    this.addAfter(key, Math.min(this.#base * 2 ** n, this.#max));
  }

  /** Clears the key's back-off (after a success). */
  forget(key: K): void {
    this.#failures.delete(key);
  }

  failures(key: K): number {
    return this.#failures.get(key) ?? 0;
  }

  /** The next key to process; undefined once shut down. Call `done(key)` when finished. */
  get(): Promise<K | undefined> {
    if (this.#queue.length) {
      const key = this.#queue.shift()!;
      this.#dirty.delete(key);
      this.#processing.add(key);
      return Promise.resolve(key);
    }
    if (this.#shutdown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  done(key: K): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) {
      this.#dirty.delete(key);
      this.add(key);
    }
  }

  shutdown(): void {
    this.#shutdown = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    for (const w of this.#waiters.splice(0)) w(undefined);
  }
}

/** What a reconcile may ask for besides success. */
export interface ReconcileResult {
  /** Reconcile this key again after the delay (level-based polling, e.g. for deadlines). */
  requeueAfterMs?: number;
}

/**
 * Runs `workers` loops that take keys and reconcile them: errors requeue with back-off, success
 * forgets the back-off. Resolves when the queue shuts down.
 */
export async function runWorkers<K>(
  queue: WorkQueue<K>,
  workers: number,
  reconcile: (key: K) => Promise<ReconcileResult | void>,
  onError: (key: K, e: unknown) => void = (key, e) => console.error(`reconcile ${String(key)} failed:`, e),
): Promise<void> {
  const loop = async () => {
    while (true) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        const result = await reconcile(key);
        queue.forget(key);
        if (result?.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
      } catch (e) {
        onError(key, e);
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
}
