/**
 * An in-memory copy of one stored resource, fed by the store's watch hub (upstream's informer
 * inside kube-apiserver): a consistent list, then a watch from that list's resourceVersion; a
 * watch that fails or is compacted away (410) is followed by a relist.
 *
 * Authorizers decide from such copies, so a decision costs no KV read. When a decision would deny,
 * {@link WatchedResource.catchUp} first makes sure every write already committed has been applied
 * (read-your-writes: a RoleBinding created just before a request counts for it).
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { list, type Store, type StoreResource, type WatchHub } from "../../store/mod.ts";

/** Receives the copy's changes. Called synchronously, in commit order. */
export interface CacheSink {
  /** Replaces every object (the first list, and each relist). */
  reset(objects: KubeObject[]): void;
  set(obj: KubeObject): void;
  delete(obj: KubeObject): void;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** One watched resource. `start` resolves once the first list is applied. */
export class WatchedResource {
  readonly res: StoreResource;
  readonly #store: Store;
  readonly #hub: WatchHub;
  readonly #sink: CacheSink;
  #loop: Promise<void> = Promise.resolve();
  #current: Promise<void> | null = null;
  #next: Promise<void> | null = null;

  constructor(store: Store, hub: WatchHub, res: StoreResource, sink: CacheSink) {
    this.#store = store;
    this.#hub = hub;
    this.res = res;
    this.#sink = sink;
  }

  /** Lists, applies, and keeps following changes until `signal` aborts or the hub closes. */
  async start(signal: AbortSignal): Promise<void> {
    let rv = await this.#relist();
    this.#loop = (async () => {
      while (!signal.aborted && !this.#hub.closed) {
        try {
          for await (const ev of this.#hub.watch(this.res, { resourceVersion: rv, signal })) {
            if (ev.type === "BOOKMARK") continue;
            if (ev.type === "ERROR") {
              throw new Error(`watch of ${this.res.key} failed: ${ev.object?.message ?? "error"}`);
            }
            if (ev.type === "DELETED") this.#sink.delete(ev.object);
            else this.#sink.set(ev.object);
            rv = ev.object.metadata.resourceVersion ?? rv;
          }
        } catch (e) {
          if (!signal.aborted && !this.#hub.closed) {
            console.error(`authorization cache: ${(e as Error).message}; relisting`);
          }
        }
        if (signal.aborted || this.#hub.closed) break;
        await sleep(100, signal);
        if (signal.aborted || this.#hub.closed) break;
        try {
          rv = await this.#relist();
        } catch (e) {
          if (!signal.aborted && !this.#hub.closed) {
            console.error(`authorization cache: relist of ${this.res.key} failed:`, e);
          }
        }
      }
    })();
  }

  async #relist(): Promise<string> {
    const result = await list(this.#store, this.res);
    this.#sink.reset(result.items);
    return result.resourceVersion;
  }

  /**
   * Resolves once every write committed before the call has been applied: the hub's feed reads
   * the change log up to now and dispatches it (synchronously) to our subscriber, whose queue then
   * drains in microtasks, before the timer fires.
   */
  catchUp(): Promise<void> {
    // Coalesced: callers arriving while one runs share the next run (which starts after their
    // writes), so a flood of denials costs at most one change-log read in flight per resource.
    if (!this.#current) {
      this.#current = this.#catchUpOnce().finally(() => (this.#current = null));
      return this.#current;
    }
    this.#next ??= this.#current.then(() => {
      this.#next = null;
      return this.catchUp();
    });
    return this.#next;
  }

  /** Best effort: a failed read leaves the decision to the copy as it is. */
  async #catchUpOnce(): Promise<void> {
    if (this.#hub.closed) return;
    try {
      await this.#hub.cursor(this.res);
    } catch (e) {
      if (!this.#hub.closed) {
        console.error(`authorization cache: reading the change log of ${this.res.key} failed:`, e);
      }
      return;
    }
    await new Promise((r) => setTimeout(r, 0));
  }

  /** Resolves when the follow loop has ended (after the signal aborted or the hub closed). */
  stopped(): Promise<void> {
    return this.#loop;
  }
}
