/**
 * The kubelet's container restart back-off (client-go `flowcontrol.Backoff` as
 * `kuberuntime.doBackOff` uses it): the first restart waits `base` (10 s), each further one
 * doubles up to `cap` (5 min); an entry not touched for twice the cap (10 min of good running)
 * starts over. Keyed by pod UID and container name. Pure apart from its table; the clock is
 * passed in. (Upstream adds a little jitter; this has none, so tests are exact.)
 *
 * @example
 * ```ts
 * const b = new Backoff({ baseMs: 10_000, capMs: 300_000 });
 * b.inBackoffSince(key, finishedAt, now); // false: first restart is immediate
 * b.next(key, now);
 * ```
 * @module
 */

export interface BackoffOptions {
  /** First delay (default 10 s). */
  baseMs?: number;
  /** Longest delay (default 5 min). */
  capMs?: number;
}

interface Entry {
  delayMs: number;
  lastUpdate: number;
}

export class Backoff {
  readonly baseMs: number;
  readonly capMs: number;
  #entries = new Map<string, Entry>();

  constructor(opts: BackoffOptions = {}) {
    this.baseMs = opts.baseMs ?? 10_000;
    this.capMs = opts.capMs ?? 300_000;
  }

  /** The current delay of `key` (0 when it has none). */
  get(key: string): number {
    return this.#entries.get(key)?.delayMs ?? 0;
  }

  #expired(eventTime: number, e: Entry): boolean {
    return eventTime - e.lastUpdate > this.capMs * 2;
  }

  /** Records a restart at `now`, measured from `eventTime` (the previous instance's finish). */
  next(key: string, eventTime: number, now: number): void {
    const e = this.#entries.get(key);
    if (!e || this.#expired(eventTime, e)) {
      this.#entries.set(key, { delayMs: this.baseMs, lastUpdate: now });
      return;
    }
    e.delayMs = Math.min(e.delayMs * 2, this.capMs);
    e.lastUpdate = now;
  }

  /** Whether a restart of `key` must still wait: `now` is within the delay after `eventTime`. */
  inBackoffSince(key: string, eventTime: number, now: number): boolean {
    const e = this.#entries.get(key);
    if (!e || this.#expired(eventTime, e)) return false;
    return now - eventTime < e.delayMs;
  }

  /**
   * Whether `key` must still wait, counted from its last {@linkcode next} (client-go
   * `IsInBackOffSinceUpdate`): image pulls, which have no finish time of their own.
   */
  inBackoffSinceUpdate(key: string, now: number): boolean {
    const e = this.#entries.get(key);
    if (!e || this.#expired(now, e)) return false;
    return now - e.lastUpdate < e.delayMs;
  }

  /** Milliseconds left in `key`'s back-off counted from its last update (0 when it may go now). */
  remainingSinceUpdate(key: string, now: number): number {
    const e = this.#entries.get(key);
    if (!e || this.#expired(now, e)) return 0;
    return Math.max(0, e.lastUpdate + e.delayMs - now);
  }

  /** Milliseconds left until `key` may restart (0 when it may now). */
  remaining(key: string, eventTime: number, now: number): number {
    const e = this.#entries.get(key);
    if (!e || this.#expired(eventTime, e)) return 0;
    return Math.max(0, eventTime + e.delayMs - now);
  }

  /** Forgets every key with `prefix` (a deleted pod). */
  forgetPrefix(prefix: string): void {
    for (const k of this.#entries.keys()) if (k.startsWith(prefix)) this.#entries.delete(k);
  }

  /** Drops entries untouched for twice the cap (upstream's periodic GC). */
  gc(now: number): void {
    for (const [k, e] of this.#entries) if (now - e.lastUpdate > this.capMs * 2) this.#entries.delete(k);
  }
}
