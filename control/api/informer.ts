/**
 * Informers: list, then watch, keeping a local cache of one resource and calling handlers on every
 * change, in order. A watch that ends is resumed from the last resourceVersion (bookmarks keep it
 * fresh); a 410 Expired triggers a relist whose differences are delivered as events.
 * @module
 */
import { type Client, type ResourceRef } from "./client.ts";
import { matchesLabels, type LabelSelector } from "./selector.ts";
import { ApiError } from "./status.ts";
import { type KubeObject, objectKey } from "./types.ts";

export interface EventHandler<T extends KubeObject> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Watch timeout asked of the server, in seconds (default 300–600, random). */
  watchTimeoutSeconds?: number;
}

export class Informer<T extends KubeObject = KubeObject> {
  readonly ref: ResourceRef;
  readonly #client: Client;
  readonly #opts: InformerOptions;
  readonly #cache = new Map<string, T>();
  readonly #handlers: EventHandler<T>[] = [];
  #rv = "";
  #abort = new AbortController();
  #synced = Promise.withResolvers<void>();
  #running: Promise<void> | null = null;
  #hasSynced = false;

  constructor(client: Client, ref: ResourceRef, opts: InformerOptions = {}) {
    this.#client = client;
    this.ref = ref;
    this.#opts = opts;
  }

  /** Adds a handler; it is told about every object already cached. */
  addHandler(h: EventHandler<T>): void {
    this.#handlers.push(h);
    if (this.#hasSynced) for (const obj of this.#cache.values()) h.onAdd?.(obj);
  }

  get hasSynced(): boolean {
    return this.#hasSynced;
  }

  /** Resolves once the first list has been delivered. */
  synced(): Promise<void> {
    return this.#synced.promise;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#cache.get(namespace ? `${namespace}/${name}` : name);
  }

  getByKey(key: string): T | undefined {
    return this.#cache.get(key);
  }

  /** Cached objects, optionally in one namespace and matching a selector. */
  list(namespace?: string, selector?: LabelSelector | null): T[] {
    const out: T[] = [];
    for (const obj of this.#cache.values()) {
      if (namespace !== undefined && obj.metadata.namespace !== namespace) continue;
      if (selector && !matchesLabels(selector, obj.metadata.labels)) continue;
      out.push(obj);
    }
    return out;
  }

  get size(): number {
    return this.#cache.size;
  }

  /** The resourceVersion the cache is at. */
  get resourceVersion(): string {
    return this.#rv;
  }

  /** Starts the list/watch loop in the background. */
  start(): this {
    this.#running ??= this.#run();
    return this;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
  }

  #emitAdd(obj: T) {
    for (const h of this.#handlers) h.onAdd?.(obj);
  }

  #emitUpdate(old: T, obj: T) {
    for (const h of this.#handlers) h.onUpdate?.(old, obj);
  }

  #emitDelete(obj: T) {
    for (const h of this.#handlers) h.onDelete?.(obj);
  }

  async #relist(): Promise<void> {
    const list = await this.#client.list<T>(this.ref, this.#opts.namespace, {
      labelSelector: this.#opts.labelSelector,
      fieldSelector: this.#opts.fieldSelector,
    });
    const seen = new Set<string>();
    for (const obj of list.items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.#cache.get(key);
      this.#cache.set(key, obj);
      if (!old) this.#emitAdd(obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.#emitUpdate(old, obj);
    }
    for (const [key, old] of this.#cache) {
      if (!seen.has(key)) {
        this.#cache.delete(key);
        this.#emitDelete(old);
      }
    }
    this.#rv = list.metadata.resourceVersion ?? "";
    if (!this.#hasSynced) {
      this.#hasSynced = true;
      this.#synced.resolve();
    }
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let needList = true;
    let backoff = 100;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.#relist();
          needList = false;
        }
        const timeout = this.#opts.watchTimeoutSeconds ?? Math.floor(300 + Math.random() * 300);
        for await (
          const ev of this.#client.watch<T>(this.ref, this.#opts.namespace, {
            labelSelector: this.#opts.labelSelector,
            fieldSelector: this.#opts.fieldSelector,
            resourceVersion: this.#rv,
            allowWatchBookmarks: true,
            timeoutSeconds: timeout,
            signal,
          })
        ) {
          if (ev.type === "ERROR") {
            const status = ev.object as unknown as { code?: number };
            if (status.code === 410) needList = true;
            break;
          }
          const obj = ev.object;
          if (obj.metadata?.resourceVersion) this.#rv = obj.metadata.resourceVersion;
          if (ev.type === "BOOKMARK") continue;
          const key = objectKey(obj);
          const old = this.#cache.get(key);
          if (ev.type === "DELETED") {
            this.#cache.delete(key);
            this.#emitDelete(obj);
          } else {
            this.#cache.set(key, obj);
            if (old) this.#emitUpdate(old, obj);
            else this.#emitAdd(obj);
          }
        }
        backoff = 100;
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof ApiError && e.code === 410) needList = true;
        else if (!(e instanceof ApiError)) {
          // Connection problems: back off, then resume (relist if we never synced).
          if (!this.#hasSynced) needList = true;
        } else {
          console.error(`informer for ${this.ref.plural} failed:`, e.message);
          needList = true;
        }
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }
}

/** Shares one informer per resource (and options) between controllers. */
export class InformerFactory {
  readonly #client: Client;
  readonly #informers = new Map<string, Informer>();

  constructor(client: Client) {
    this.#client = client;
  }

  get<T extends KubeObject = KubeObject>(ref: ResourceRef, opts: InformerOptions = {}): Informer<T> {
    const key = `${ref.group}/${ref.plural}?${JSON.stringify(opts)}`;
    let inf = this.#informers.get(key);
    if (!inf) {
      inf = new Informer(this.#client, ref, opts);
      this.#informers.set(key, inf);
    }
    return inf as unknown as Informer<T>;
  }

  /** Starts every informer and waits until all have synced. */
  async start(): Promise<void> {
    for (const inf of this.#informers.values()) inf.start();
    await Promise.all([...this.#informers.values()].map((i) => i.synced()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.stop()));
  }
}
