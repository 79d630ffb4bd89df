/**
 * Pod workers, as the kubelet's `pod_workers.go`: one serialized worker per pod UID. `update`
 * never runs a sync concurrently with another for the same pod; updates arriving while a sync
 * runs collapse into one more sync, which reads the latest desired state (level-based: the sync
 * function looks the pod up itself). A sync may ask to run again after a delay (back-off
 * expiry); a failing sync is retried with exponential back-off. No polling: a worker runs only
 * when told.
 *
 * @example
 * ```ts
 * await using workers = new PodWorkers(async (uid) => { ... return { requeueAfterMs: 1000 }; });
 * workers.update(pod.metadata.uid);
 * ```
 * @module
 */

/** What a sync may ask for. */
export interface SyncResult {
  /** Sync this pod again after this delay. */
  requeueAfterMs?: number;
  /** The worker is finished for good (the pod is gone): forget it. */
  forget?: boolean;
}

export type SyncFn = (uid: string) => Promise<SyncResult | void>;

interface Worker {
  running: boolean;
  dirty: boolean;
  timer?: ReturnType<typeof setTimeout>;
  failures: number;
  done?: Promise<void>;
}

export interface PodWorkersOptions {
  /** First retry delay after a failed sync (default 500 ms), doubling up to `maxRetryMs` (30 s). */
  retryMs?: number;
  maxRetryMs?: number;
  onError?: (uid: string, e: unknown) => void;
}

export class PodWorkers implements AsyncDisposable {
  readonly #sync: SyncFn;
  readonly #workers = new Map<string, Worker>();
  readonly #opts: Required<PodWorkersOptions>;
  #closed = false;

  constructor(sync: SyncFn, opts: PodWorkersOptions = {}) {
    this.#sync = sync;
    this.#opts = {
      retryMs: opts.retryMs ?? 500,
      maxRetryMs: opts.maxRetryMs ?? 30_000,
      onError: opts.onError ?? ((uid, e) => console.error(`sync of pod ${uid} failed; will retry:`, e)),
    };
  }

  /** UIDs with a worker. */
  get uids(): string[] {
    return [...this.#workers.keys()];
  }

  /** Asks for a sync of `uid` (now, or right after the one running). */
  update(uid: string): void {
    if (this.#closed) return;
    let w = this.#workers.get(uid);
    if (!w) {
      w = { running: false, dirty: false, failures: 0 };
      this.#workers.set(uid, w);
    }
    clearTimeout(w.timer);
    w.timer = undefined;
    if (w.running) {
      w.dirty = true;
      return;
    }
    w.done = this.#loop(uid, w);
  }

  /** Asks for a sync of `uid` after `ms` (an earlier request wins). */
  updateAfter(uid: string, ms: number): void {
    const w = this.#workers.get(uid);
    if (!w || this.#closed) return;
    if (w.timer !== undefined) return;
    w.timer = setTimeout(() => {
      w.timer = undefined;
      this.update(uid);
    }, ms);
  }

  async #loop(uid: string, w: Worker): Promise<void> {
    w.running = true;
    try {
      do {
        w.dirty = false;
        let result: SyncResult | void;
        try {
          result = await this.#sync(uid);
          w.failures = 0;
        } catch (e) {
          this.#opts.onError(uid, e);
          const delay = Math.min(this.#opts.retryMs * 2 ** w.failures++, this.#opts.maxRetryMs);
          result = { requeueAfterMs: delay };
        }
        if (result?.forget && !w.dirty) {
          clearTimeout(w.timer);
          this.#workers.delete(uid);
          return;
        }
        if (result?.requeueAfterMs !== undefined && !w.dirty && !this.#closed) {
          clearTimeout(w.timer);
          w.timer = undefined;
          this.updateAfter(uid, result.requeueAfterMs);
        }
      } while (w.dirty && !this.#closed);
    } finally {
      w.running = false;
    }
  }

  /** Stops scheduling syncs and waits for the running ones. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const w of this.#workers.values()) clearTimeout(w.timer);
    await Promise.all([...this.#workers.values()].map((w) => w.done));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
