/**
 * The garbage collector's dependency index: for each owner uid, the items (resource, namespace,
 * name) whose ownerReferences name it. Fed by the informers of every monitored resource; the
 * objects themselves stay in the informer caches.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";

/** Identifies an object in a monitored resource: `resourceKey|namespace|name`. */
export type ItemKey = string;

/** The item key of an object in the resource whose storage key is `resource` (e.g. `replicasets.apps`). */
export function itemKey(resource: string, namespace: string | undefined, name: string): ItemKey {
  return `${resource}|${namespace ?? ""}|${name}`;
}

/** Splits an item key. */
export function parseItemKey(key: ItemKey): { resource: string; namespace: string; name: string } {
  const [resource, namespace, ...rest] = key.split("|");
  return { resource, namespace, name: rest.join("|") };
}

export class DependentsIndex {
  readonly #byOwner = new Map<string, Set<ItemKey>>();
  readonly #ownersOf = new Map<ItemKey, string[]>();

  /** Records the owners `obj` names (replacing what was recorded for `key`). */
  set(key: ItemKey, obj: KubeObject): void {
    const owners = (obj.metadata.ownerReferences ?? []).map((r) => r.uid).filter(Boolean);
    this.remove(key);
    if (!owners.length) return;
    this.#ownersOf.set(key, owners);
    for (const uid of owners) {
      let set = this.#byOwner.get(uid);
      if (!set) this.#byOwner.set(uid, set = new Set());
      set.add(key);
    }
  }

  remove(key: ItemKey): void {
    const owners = this.#ownersOf.get(key);
    if (!owners) return;
    this.#ownersOf.delete(key);
    for (const uid of owners) {
      const set = this.#byOwner.get(uid);
      if (!set) continue;
      set.delete(key);
      if (!set.size) this.#byOwner.delete(uid);
    }
  }

  /** The items naming `ownerUid` as an owner. */
  dependents(ownerUid: string | undefined): ItemKey[] {
    if (!ownerUid) return [];
    return [...this.#byOwner.get(ownerUid) ?? []];
  }

  hasDependents(ownerUid: string | undefined): boolean {
    return !!ownerUid && (this.#byOwner.get(ownerUid)?.size ?? 0) > 0;
  }

  /** How many items have owners. */
  get size(): number {
    return this.#ownersOf.size;
  }
}
