/**
 * Overload protection: bounded requests in flight, with a per-user share so one flooding client
 * cannot starve the others. Upstream's API Priority and Fairness classifies requests into
 * priority levels and queues them fairly by flow; Skiff keeps the part that matters for a small
 * cluster: a total bound and a per-user bound on short requests, and separately on long-running
 * ones (watches, logs, exec), answered at once with 429 TooManyRequests and `Retry-After: 1`.
 * Members of `system:masters` are exempt, like upstream's `exempt` priority level.
 *
 * @example
 * ```ts
 * const limiter = new InflightLimiter({ maxInflight: 400, maxPerUser: 100 });
 * const release = limiter.acquire("alice", false); // throws 429 when over a bound
 * try { … } finally { release(); }
 * ```
 * @module
 */
import { tooManyRequests } from "../../api/status.ts";

export interface InflightLimits {
  /** Short (non-long-running) requests in flight in total (default 400, upstream's --max-requests-inflight). */
  maxInflight?: number;
  /** Short requests in flight per user (default 100: a quarter of the total). */
  maxPerUser?: number;
  /** Long-running requests (watches, logs, exec, port-forward, proxy) in total (default 10,000). */
  maxLongRunning?: number;
  /** Long-running requests per user (default 1,000). */
  maxLongRunningPerUser?: number;
}

class Pool {
  readonly #total: number;
  readonly #perUser: number;
  #inUse = 0;
  readonly #byUser = new Map<string, number>();

  constructor(total: number, perUser: number) {
    this.#total = total;
    this.#perUser = perUser;
  }

  get inUse(): number {
    return this.#inUse;
  }

  /** Takes a slot for `user`; false when a bound is reached. */
  take(user: string): boolean {
    const mine = this.#byUser.get(user) ?? 0;
    if (this.#inUse >= this.#total || mine >= this.#perUser) return false;
    this.#inUse++;
    this.#byUser.set(user, mine + 1);
    return true;
  }

  give(user: string): void {
    this.#inUse--;
    const mine = (this.#byUser.get(user) ?? 1) - 1;
    if (mine <= 0) this.#byUser.delete(user);
    else this.#byUser.set(user, mine);
  }
}

export class InflightLimiter {
  readonly #short: Pool;
  readonly #long: Pool;

  constructor(limits: InflightLimits = {}) {
    const max = limits.maxInflight ?? 400;
    this.#short = new Pool(max, limits.maxPerUser ?? Math.max(1, Math.floor(max / 4)));
    this.#long = new Pool(limits.maxLongRunning ?? 10_000, limits.maxLongRunningPerUser ?? 1_000);
  }

  /** Short and long-running requests in flight now. */
  get inUse(): { short: number; longRunning: number } {
    return { short: this.#short.inUse, longRunning: this.#long.inUse };
  }

  /** Takes a slot; returns its release function (idempotent). Throws 429 TooManyRequests when full. */
  acquire(user: string, longRunning: boolean): () => void {
    const pool = longRunning ? this.#long : this.#short;
    if (!pool.take(user)) {
      throw tooManyRequests(
        longRunning
          ? "too many long-running requests (watches, logs, exec) in flight for this user or the server, please try again later"
          : "Too many requests, please try again later.",
        1,
      );
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      pool.give(user);
    };
  }
}

/** Upstream's long-running check: watches, and the streaming subresources. */
export function isLongRunning(verb: string, subresource: string): boolean {
  return verb === "watch" || verb === "connect" ||
    ["log", "exec", "attach", "portforward", "proxy"].includes(subresource);
}
