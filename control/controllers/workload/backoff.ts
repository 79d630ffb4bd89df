/**
 * A per-key exponential back-off with the semantics of client-go's `flowcontrol.Backoff`: `next`
 * doubles a key's delay (from `initialMs`, capped at `maxMs`, reset after `2 × maxMs` of quiet);
 * `remaining` says how long the key must still wait since its last `next`.
 * @module
 */
export class Backoff {
  readonly #entries = new Map<string, { delay: number; at: number }>();
  readonly #initial: number;
  readonly #max: number;

  constructor(initialMs: number, maxMs: number) {
    this.#initial = initialMs;
    this.#max = maxMs;
  }

  /** Records an attempt at `now`, growing the key's delay. */
  next(key: string, now: number): void {
    const e = this.#entries.get(key);
    if (!e || now - e.at > 2 * this.#max) this.#entries.set(key, { delay: this.#initial, at: now });
    else this.#entries.set(key, { delay: Math.min(e.delay * 2, this.#max), at: now });
  }

  /** How long the key is still in back-off at `now` (0 when it is not). */
  remaining(key: string, now: number): number {
    const e = this.#entries.get(key);
    if (!e) return 0;
    return Math.max(0, e.at + e.delay - now);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}
