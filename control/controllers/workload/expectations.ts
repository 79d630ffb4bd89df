/**
 * Controller expectations, as upstream's `UIDTrackingControllerExpectations`: a controller records
 * how many creations and which deletions it has just asked for, and skips managing replicas for
 * that key until the informer has shown them all (or five minutes pass). This keeps a reconcile
 * from creating duplicates while its own creates are still on their way through the watch.
 *
 * @example
 * ```ts
 * const e = new Expectations();
 * e.expectCreations("default/web", 2);
 * e.satisfied("default/web"); // false
 * e.creationObserved("default/web");
 * e.creationObserved("default/web");
 * e.satisfied("default/web"); // true
 * ```
 * @module
 */

/** Upstream `ExpectationsTimeout`: expectations older than this are considered satisfied. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;

interface Record {
  add: number;
  deletions: Set<string>;
  /** Unnamed deletions (a count, for controllers that do not track pod keys). */
  del: number;
  at: number;
}

export class Expectations {
  readonly #records = new Map<string, Record>();
  readonly #now: () => number;
  readonly #timeoutMs: number;

  constructor(opts: { now?: () => number; timeoutMs?: number } = {}) {
    this.#now = opts.now ?? Date.now;
    this.#timeoutMs = opts.timeoutMs ?? EXPECTATIONS_TIMEOUT_MS;
  }

  /** Whether the controller may act on `key`: nothing is pending, or the record expired. */
  satisfied(key: string): boolean {
    const r = this.#records.get(key);
    if (!r) return true;
    if (r.add <= 0 && r.del <= 0 && r.deletions.size === 0) return true;
    return this.#now() - r.at > this.#timeoutMs;
  }

  /** Sets the expected creations and (named) deletions, replacing any earlier record. */
  set(key: string, add: number, deletions: Iterable<string> = [], del = 0): void {
    this.#records.set(key, { add, deletions: new Set(deletions), del, at: this.#now() });
  }

  expectCreations(key: string, n: number): void {
    this.set(key, n);
  }

  /** Expects the deletion of these pods (`namespace/name` keys). */
  expectDeletions(key: string, podKeys: Iterable<string>): void {
    this.set(key, 0, podKeys);
  }

  /** Expects `n` deletions without naming them. */
  expectDeletionCount(key: string, n: number): void {
    this.set(key, 0, [], n);
  }

  creationObserved(key: string): void {
    const r = this.#records.get(key);
    if (r) r.add--;
  }

  /** A deletion was seen; a named one counts once however often it is reported. */
  deletionObserved(key: string, podKey?: string): void {
    const r = this.#records.get(key);
    if (!r) return;
    if (podKey !== undefined && r.deletions.delete(podKey)) return;
    if (podKey === undefined || r.deletions.size === 0) r.del--;
  }

  /** Pending creations (for tests and logs). */
  pending(key: string): { add: number; del: number } | undefined {
    const r = this.#records.get(key);
    return r && { add: r.add, del: r.deletions.size + Math.max(r.del, 0) };
  }

  delete(key: string): void {
    this.#records.delete(key);
  }
}
