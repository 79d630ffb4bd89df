/**
 * A watch-fed cache of one resource for admission steps (upstream's informer listers): objects by
 * namespace, kept current by the API server's own watch feed, which in-process writes wake at
 * once. It starts on first use and stops when the watch hub closes (with the server). Until its
 * first list has arrived, and for a name it does not hold, it reads the store, as upstream's
 * admission plugins fall back to live lookups.
 *
 * Like an informer it follows writes of other API server processes with the feed's lag (their
 * poll). Writes of this process are never missed: the store knows the last event it committed for
 * the resource, and until the cache has applied it, reads go to the store (read-your-writes, so a
 * ServiceAccount deleted through this server stops authenticating at once). Steps that must be
 * exact across replicas (the quota charge) read the store instead.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { list, type Store, type StoreResource, toEventId, type WatchHub } from "../../store/mod.ts";
import { listCurrent, type ObjectReader } from "./lookup.ts";

export class ObjectCache implements ObjectReader {
  readonly #store: Store;
  readonly #hub: WatchHub;
  readonly #res: StoreResource;
  readonly #byNamespace = new Map<string, Map<string, KubeObject>>();
  #started = false;
  #synced = false;
  /** The event id of the last change applied (or of the list the cache started from). */
  #applied = "";

  constructor(store: Store, hub: WatchHub, res: StoreResource) {
    this.#store = store;
    this.#hub = hub;
    this.#res = res;
  }

  /** The objects of namespace `ns` (shared: do not mutate). */
  async list(ns: string): Promise<KubeObject[]> {
    this.#start();
    if (!this.#fresh()) return await listCurrent(this.#store, this.#res, ns);
    return [...(this.#byNamespace.get(ns)?.values() ?? [])];
  }

  /** One object, from the cache or else the store (shared: do not mutate). */
  async get(ns: string, name: string): Promise<KubeObject | null> {
    this.#start();
    const hit = this.#fresh() ? this.#byNamespace.get(ns)?.get(name) : undefined;
    return hit ?? await this.#store.get(this.#res, ns, name);
  }

  /** Synced, and holding every write this process committed to the resource. */
  #fresh(): boolean {
    return this.#synced && (this.#store.lastWritten(this.#res.key) ?? "") <= this.#applied;
  }

  #start(): void {
    if (this.#started || this.#hub.closed) return;
    this.#started = true;
    this.#follow().catch((e) => {
      if (!this.#hub.closed) console.error(`admission cache of ${this.#res.key} stopped:`, e);
    });
  }

  /** List, then watch from the list's resourceVersion; relist when the watch ends early. */
  async #follow(): Promise<void> {
    while (!this.#hub.closed) {
      try {
        const initial = await list(this.#store, this.#res);
        this.#byNamespace.clear();
        for (const obj of initial.items) this.#put(obj);
        this.#applied = toEventId(initial.resourceVersion) ?? "";
        this.#synced = true;
        for await (const ev of this.#hub.watch(this.#res, { resourceVersion: initial.resourceVersion })) {
          if (ev.type === "ADDED" || ev.type === "MODIFIED") this.#put(ev.object);
          else if (ev.type === "DELETED") {
            this.#byNamespace.get(ev.object.metadata.namespace ?? "")?.delete(ev.object.metadata.name!);
          } else if (ev.type === "ERROR") break;
          else continue;
          this.#applied = toEventId(ev.object.metadata.resourceVersion ?? "") ?? this.#applied;
        }
      } catch (e) {
        if (this.#hub.closed) return;
        console.error(`admission cache of ${this.#res.key}: watch failed; listing again:`, e);
      }
      this.#synced = false;
      if (!this.#hub.closed) await new Promise((r) => setTimeout(r, 100));
    }
  }

  #put(obj: KubeObject): void {
    const ns = obj.metadata.namespace ?? "";
    let m = this.#byNamespace.get(ns);
    if (!m) this.#byNamespace.set(ns, m = new Map());
    m.set(obj.metadata.name!, obj);
  }
}
