/**
 * How admission steps read other objects: an {@linkcode ObjectReader} is either the watch-fed
 * {@linkcode ObjectCache} (fast; may lag a write by milliseconds, like upstream's listers) or
 * {@linkcode storeReader}, fresh reads of the store (one KV range or point read each): the current
 * objects of one namespace, decoded through the store's cache, and one object by name.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { OBJECT } from "../../store/keys.ts";
import { retryLocked } from "../../store/kv_retry.ts";
import type { ObjectValue } from "../../store/log.ts";
import type { Store, StoreResource } from "../../store/mod.ts";

/** Reads objects of one resource. Results are shared with a cache: never mutate them. */
export interface ObjectReader {
  list(ns: string): Promise<KubeObject[]>;
  get(ns: string, name: string): Promise<KubeObject | null>;
}

/** The current objects of `res` in namespace `ns` (shared with the store's cache: do not mutate). */
export async function listCurrent(store: Store, res: StoreResource, ns: string): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  const iter = store.kv.list<ObjectValue>({ prefix: [OBJECT, res.key, ns] }, { batchSize: 500 });
  while (true) {
    const next = await retryLocked(() => iter.next());
    if (next.done) break;
    // A version replaced while being read is read again by name.
    const stored = await store.materialize(res.key, next.value) ??
      await store.read(res, ns, next.value.key[3] as string);
    if (stored) out.push(stored.obj);
  }
  return out;
}

/** Fresh reads of the store. */
export function storeReader(store: Store, res: StoreResource): ObjectReader {
  return {
    list: (ns) => listCurrent(store, res, ns),
    get: (ns, name) => store.get(res, ns, name),
  };
}
