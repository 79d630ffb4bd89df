/**
 * The Secrets and ConfigMaps the node's pods use, read one by one, as the kubelet's watch-based
 * manager (`pkg/kubelet/util/manager/watch_based_manager.go`): a pod registers the names it
 * references, each referenced object gets its own informer — a list and watch in its namespace
 * with `fieldSelector=metadata.name=<name>`, which the node authorizer allows for objects its
 * pods use (it refuses listing them all) — and the informer stops when the last pod using the
 * object is gone. Changes are reported through `onChange`, so the pods using an object are synced
 * again and their volumes follow it.
 *
 * Reads are synchronous from the informers' caches; {@linkcode ObjectManager.waitSynced} waits
 * (up to a second by default, as upstream) for the first list of a pod's objects.
 *
 * @example
 * ```ts
 * const secrets = new ObjectManager(client, R.secrets, { onChange: (ns, name) => resync(ns, name) });
 * secrets.registerPod(uid, "default", ["db-password"]);
 * await secrets.waitSynced("default", ["db-password"]);
 * secrets.get("default", "db-password");
 * ```
 * @module
 */
import type { Client, ResourceRef } from "../../control/api/client.ts";
import { Informer } from "../../control/api/informer.ts";
import type { KubeObject } from "../../control/api/types.ts";

/** Synchronous reads of objects by namespace and name. */
export interface ObjectGetter {
  get(namespace: string, name: string): KubeObject | undefined;
}

export interface ObjectManagerOptions {
  /** Called when a watched object is added, changed or deleted. */
  onChange?(namespace: string, name: string): void;
  /** How long {@linkcode ObjectManager.waitSynced} waits for a first list (default 1 s). */
  syncTimeoutMs?: number;
}

interface Item {
  informer: Informer;
  pods: Set<string>;
}

export class ObjectManager implements ObjectGetter {
  readonly ref: ResourceRef;
  readonly #client: Client;
  readonly #opts: ObjectManagerOptions;
  /** `ns/name` → its informer and the pods (UIDs) using it. */
  readonly #items = new Map<string, Item>();
  /** Pod UID → the keys it registered. */
  readonly #byPod = new Map<string, Set<string>>();
  /** Informers released but still winding down. */
  readonly #stopping = new Set<Promise<void>>();
  #closed = false;

  constructor(client: Client, ref: ResourceRef, opts: ObjectManagerOptions = {}) {
    this.#client = client;
    this.ref = ref;
    this.#opts = opts;
  }

  /** Objects currently watched (`ns/name`), for tests and status. */
  get watched(): string[] {
    return [...this.#items.keys()];
  }

  /** Makes the pod's references exactly `names` in `namespace`: new ones are watched, dropped ones released. */
  registerPod(uid: string, namespace: string, names: Iterable<string>): void {
    if (this.#closed) return;
    const next = new Set([...names].map((n) => `${namespace}/${n}`));
    const prev = this.#byPod.get(uid) ?? new Set<string>();
    for (const key of next) if (!prev.has(key)) this.#acquire(key, uid);
    for (const key of prev) if (!next.has(key)) this.#release(key, uid);
    if (next.size) this.#byPod.set(uid, next);
    else this.#byPod.delete(uid);
  }

  /** Releases everything the pod registered. */
  unregisterPod(uid: string): void {
    for (const key of this.#byPod.get(uid) ?? []) this.#release(key, uid);
    this.#byPod.delete(uid);
  }

  get(namespace: string, name: string): KubeObject | undefined {
    return this.#items.get(`${namespace}/${name}`)?.informer.get(namespace, name);
  }

  /**
   * Waits until each named object's informer has listed once, or `timeoutMs`; resolves to the
   * names still not synced (their reads answer "not found" meanwhile).
   */
  async waitSynced(
    namespace: string,
    names: Iterable<string>,
    timeoutMs = this.#opts.syncTimeoutMs ?? 1000,
  ): Promise<string[]> {
    const pending = [...names].filter((n) => {
      const item = this.#items.get(`${namespace}/${n}`);
      return item && !item.informer.hasSynced;
    });
    if (!pending.length) return [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(pending.map((n) => this.#items.get(`${namespace}/${n}`)!.informer.synced())),
      new Promise((r) => timer = setTimeout(r, timeoutMs)),
    ]);
    clearTimeout(timer);
    return pending.filter((n) => !this.#items.get(`${namespace}/${n}`)?.informer.hasSynced);
  }

  #acquire(key: string, uid: string): void {
    let item = this.#items.get(key);
    if (!item) {
      const [namespace, name] = [key.slice(0, key.indexOf("/")), key.slice(key.indexOf("/") + 1)];
      const informer = new Informer(this.#client, this.ref, {
        namespace,
        fieldSelector: `metadata.name=${name}`,
      });
      const changed = () => this.#opts.onChange?.(namespace, name);
      informer.addHandler({ onAdd: changed, onUpdate: changed, onDelete: changed });
      item = { informer, pods: new Set() };
      this.#items.set(key, item);
      informer.start();
    }
    item.pods.add(uid);
  }

  #release(key: string, uid: string): void {
    const item = this.#items.get(key);
    if (!item) return;
    item.pods.delete(uid);
    if (item.pods.size) return;
    this.#items.delete(key);
    const stopping = item.informer.stop().finally(() => this.#stopping.delete(stopping));
    this.#stopping.add(stopping);
  }

  /** Stops every informer. */
  async stop(): Promise<void> {
    this.#closed = true;
    const all = [...this.#items.values()];
    this.#items.clear();
    this.#byPod.clear();
    await Promise.all([...all.map((i) => i.informer.stop()), ...this.#stopping]);
  }
}
