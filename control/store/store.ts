/**
 * The object store on Deno KV: the etcd role.
 *
 * Objects are CBOR-encoded, one key each (chunked past one KV value), and every write appends a
 * change-log entry in the same atomic commit. Writes go through a group committer; each gets its
 * own event id (commit versionstamp + index), whose decimal form is the resourceVersion. Updates
 * and deletes are optimistic: a commit checks the KV versionstamp it read.
 * @module
 */
import {
  alreadyExists,
  badRequest,
  conflict,
  type GroupResource,
  notFound,
  STALE_OBJECT,
  tooLarge,
} from "../api/status.ts";
import { clone, type KubeObject } from "../api/types.ts";
import { decodeObject, encodeObject, MAX_OBJECT_BYTES } from "./codec.ts";
import { type CommittedLog, Committer, type WriteIntent } from "./committer.ts";
import { DecodedCache } from "./decoded_cache.ts";
import type { GatherMode, GatherPolicy } from "./gather.ts";
import { RecentVersions } from "./recent_versions.ts";
import { sameObject } from "./same_object.ts";
import { eventId, headKey, objectKey, toEventId, toResourceVersion, watermarkKey, ZERO_EVENT } from "./keys.ts";
import { retryLocked } from "./kv_retry.ts";
import { type LogEntry, type ObjectValue, readChunks } from "./log.ts";

/** What the store needs to know about a resource. */
export interface StoreResource {
  /** Storage key prefix, e.g. `pods` or `deployments.apps`. */
  key: string;
  /** For error messages. */
  gr: GroupResource;
  /** Selectable fields of an object (metadata.name and metadata.namespace included). */
  fields(obj: KubeObject): Record<string, string>;
}

/** Extra checks and mutations committed atomically with a write (allocations, namespace checks). */
export interface WriteOptions {
  checks?: Deno.AtomicCheck[];
  mutate?(op: Deno.AtomicOperation): void;
}

/** Options of {@linkcode Store.update}. */
export interface UpdateOptions extends WriteOptions {
  /**
   * `tryUpdate` only reads the current object and returns a new one that shares nothing with it
   * that is later changed: it gets the shared decoded object instead of a deep copy.
   */
  readOnlyCurrent?: boolean;
}

/** Thrown when one of the caller's extra checks failed; the object itself was not the cause. */
export class PreconditionFailed extends Error {
  constructor() {
    super("a precondition of the write changed concurrently");
    this.name = "PreconditionFailed";
  }
}

/** An object as currently stored. */
export interface StoredObject {
  /** The decoded object, shared with other readers: clone before changing it. */
  obj: KubeObject;
  /** Event id of this version. */
  ev: string;
  /** KV versionstamp of the object key (what an optimistic write checks). */
  kvVs: string;
  /** The encoded bytes of this version. */
  bytes: Uint8Array;
}

const GLOBAL_HEAD = "*";
const MAX_UPDATE_ATTEMPTS = 64;

/** Commits `op`, retrying while SQLite reports the file locked by another process. */
export function commit(op: Deno.AtomicOperation): Promise<Deno.KvCommitResult | Deno.KvCommitError> {
  return retryLocked(() => op.commit());
}

/**
 * Turns encoded objects into what is stored and back, per resource (encryption at rest of
 * Secrets). Synchronous; it must accept bytes it wrote with an older key.
 */
export interface ValueTransformer {
  toStorage(res: string, bytes: Uint8Array): Uint8Array;
  fromStorage(res: string, bytes: Uint8Array): Uint8Array;
}

export interface StoreOptions {
  /** Bound of the decoded-object cache, in encoded bytes (default 32 MiB; 0 disables it). */
  decodedCacheBytes?: number;
  /** Applied to every stored version (object keys, log entries, chunks). */
  transformer?: ValueTransformer;
  /**
   * Bound of the versions this process last committed, kept so that an update need not read the
   * object first (encoded bytes; default 16 MiB; 0 disables it).
   */
  recentVersionsBytes?: number;
  /**
   * Whether a commit that starts from idle first gathers the writes already on their way
   * (control/store/gather.ts): `never` (default: no measured gain yet, see docs/benchmarks.md),
   * `adaptive` (while that pays) or `always`.
   */
  gather?: GatherMode;
}

export class Store {
  readonly kv: Deno.Kv;
  readonly #committer: Committer;
  readonly #decoded: DecodedCache;
  readonly #recent: RecentVersions;
  readonly #transformer?: ValueTransformer;
  /** The last event id this process committed, per resource key. */
  readonly #written = new Map<string, string>();
  readonly #listeners = new Set<(res: string, ev: string, log: CommittedLog) => void>();

  constructor(kv: Deno.Kv, opts: StoreOptions = {}) {
    this.kv = kv;
    this.#committer = new Committer(kv, (heads, logs) => {
      for (const [res, ev] of heads) {
        this.#written.set(res, ev);
        for (const l of this.#listeners) l(res, ev, logs.get(res)!);
      }
    }, opts.gather);
    this.#decoded = new DecodedCache(opts.decodedCacheBytes ?? 32 * 1024 * 1024);
    this.#recent = new RecentVersions(opts.recentVersionsBytes ?? 16 * 1024 * 1024);
    this.#transformer = opts.transformer;
  }

  /** The group committer's gathering policy (its `mode` may be changed, e.g. by a benchmark). */
  get gather(): GatherPolicy {
    return this.#committer.gather;
  }

  /**
   * The event id of the last write this process committed to resource key `res` (null if none):
   * a cache fed by this process's watch is current for its own writes once it has seen this one.
   */
  lastWritten(res: string): string | null {
    return this.#written.get(res) ?? null;
  }

  /**
   * Calls `fn(res, ev, log)` synchronously after every commit of this store, for each resource
   * key it wrote, with the commit's log entries of that resource (the watch hub dispatches them,
   * or reads the new log entries at once). Returns the unsubscribe.
   */
  onCommit(fn: (res: string, ev: string, log: CommittedLog) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Decodes stored bytes of `res` (undoing the transformer) into a fresh object. */
  decodeBytes(res: string, bytes: Uint8Array, resourceVersion: string): KubeObject {
    return decodeObject(this.#transformer ? this.#transformer.fromStorage(res, bytes) : bytes, resourceVersion);
  }

  /**
   * Decodes one version of an object, through the cache. The result is shared with other
   * readers: never mutate it (clone first).
   */
  decode(res: string, ns: string, name: string, ev: string, bytes: Uint8Array): KubeObject {
    const key = DecodedCache.key(res, ns, name, ev);
    let obj = this.#decoded.get(key);
    if (!obj) {
      obj = this.decodeBytes(res, bytes, toResourceVersion(ev));
      this.#decoded.set(key, obj, bytes.length);
    }
    return obj;
  }

  /** Reads one object with its event id; null if absent. */
  async read(res: StoreResource, ns: string, name: string): Promise<StoredObject | null> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const e = await retryLocked(() => this.kv.get<ObjectValue>(objectKey(res.key, ns, name)));
      if (e.value === null) return null;
      const stored = await this.#materialize(res.key, ns, name, e.value, e.versionstamp);
      if (stored) return stored;
    }
    throw new Error(`object ${res.key}/${ns}/${name} keeps changing while being read`);
  }

  /** Decodes a stored object value; null when its chunks were replaced while being read. */
  async #materialize(
    key: string,
    ns: string,
    name: string,
    value: ObjectValue,
    kvVs: string,
  ): Promise<StoredObject | null> {
    const ev = eventId(kvVs, value.x);
    const bytes = value.b ?? await readChunks(this.kv, key, ns, name, ev, value.c ?? 0);
    if (!bytes) return null;
    return { obj: this.decode(key, ns, name, ev, bytes), ev, kvVs, bytes };
  }

  /** Decodes an entry of a prefix scan over object keys. */
  materialize(key: string, entry: Deno.KvEntry<ObjectValue>): Promise<StoredObject | null> {
    const [, , ns, name] = entry.key as [string, string, string, string];
    return this.#materialize(key, ns, name, entry.value, entry.versionstamp);
  }

  /** The current object (shared: clone before changing it), or null. */
  async get(res: StoreResource, ns: string, name: string): Promise<KubeObject | null> {
    return (await this.read(res, ns, name))?.obj ?? null;
  }

  /** The event id of the latest write to `res` (or of the whole store if `res` never changed). */
  async head(res: StoreResource): Promise<string> {
    const [own, global] = await retryLocked(() =>
      this.kv.getMany<number[]>([headKey(res.key), headKey(GLOBAL_HEAD)])
    );
    if (own.versionstamp) return eventId(own.versionstamp, own.value ?? 0);
    if (global.versionstamp) return eventId(global.versionstamp, global.value ?? 0);
    return ZERO_EVENT;
  }

  /** The compaction watermark of `res`: resourceVersions below it are gone. */
  async watermark(res: StoreResource): Promise<string> {
    const e = await retryLocked(() => this.kv.get<string>(watermarkKey(res.key)));
    return e.value ?? ZERO_EVENT;
  }

  #encode(res: StoreResource, obj: KubeObject): Uint8Array {
    const bytes = encodeObject(obj);
    if (bytes.length > MAX_OBJECT_BYTES) {
      throw tooLarge(
        `${res.gr.resource} "${obj.metadata.name}" is too large: ${bytes.length} bytes encoded, ` +
          `the limit is ${MAX_OBJECT_BYTES} bytes`,
      );
    }
    return this.#transformer ? this.#transformer.toStorage(res.key, bytes) : bytes;
  }

  #submit(w: WriteIntent) {
    return this.#committer.submit(w);
  }

  /** Creates `obj`; 409 AlreadyExists if its name is taken. Returns it with its resourceVersion. */
  async create(res: StoreResource, obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const ns = obj.metadata.namespace ?? "";
    const name = obj.metadata.name!;
    const bytes = this.#encode(res, obj);
    const out = await this.#submit({
      res: res.key,
      ns,
      name,
      expect: null,
      bytes,
      entry: { t: "A", ns, n: name, ts: Date.now() },
      checks: opts.checks ?? [],
      mutate: opts.mutate,
    });
    if (out.ok) {
      this.#recent.set(RecentVersions.key(res.key, ns, name), { kvVs: out.vs, ev: out.ev, bytes });
      obj.metadata.resourceVersion = toResourceVersion(out.ev);
      return obj;
    }
    this.#recent.delete(RecentVersions.key(res.key, ns, name));
    const existing = await retryLocked(() => this.kv.get(objectKey(res.key, ns, name)));
    if (existing.value !== null) throw alreadyExists(res.gr, name);
    throw new PreconditionFailed();
  }

  /**
   * The version this process last committed of an object, decoded (shared: clone before
   * changing it); null if none is kept. It may no longer be current.
   */
  #recentVersion(key: string, ns: string, name: string): StoredObject | null {
    const v = this.#recent.get(RecentVersions.key(key, ns, name));
    if (!v) return null;
    // Decoded through the cache when a reader (a watch feed) already put it there; otherwise
    // not added to it: the update is about to replace this version, nobody will ask for it again.
    const obj = this.#decoded.get(DecodedCache.key(key, ns, name, v.ev)) ??
      this.decodeBytes(key, v.bytes, toResourceVersion(v.ev));
    return { obj, ev: v.ev, kvVs: v.kvVs, bytes: v.bytes };
  }

  /**
   * Read-modify-write with optimistic concurrency, as upstream's GuaranteedUpdate: `tryUpdate`
   * gets a fresh copy of the current object and returns the desired one (or throws an ApiError).
   * On a concurrent write it runs again on the newer object. A result equal to the current object
   * writes nothing and keeps the resourceVersion.
   *
   * Like upstream with its watch cache's copy, the first attempt starts from the version this
   * process last committed, without reading it; the commit checks it is still current. An error
   * from `tryUpdate` or a no-op on that version is confirmed against a fresh read first: if the
   * object changed since, `tryUpdate` runs again on the stored version.
   */
  async update(
    res: StoreResource,
    ns: string,
    name: string,
    tryUpdate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
    opts: UpdateOptions = {},
  ): Promise<KubeObject> {
    const recentKey = RecentVersions.key(res.key, ns, name);
    let cur = this.#recentVersion(res.key, ns, name);
    let isCurrent = cur === null;
    if (!cur) cur = await this.read(res, ns, name);
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      if (!cur) throw notFound(res.gr, name);
      const currentRv = cur.obj.metadata.resourceVersion;
      let next: KubeObject;
      try {
        next = await tryUpdate(opts.readOnlyCurrent ? cur.obj : clone(cur.obj));
      } catch (e) {
        if (isCurrent) throw e;
        // Maybe an error of a version that is no longer current: judge the stored one.
        const fresh = await this.read(res, ns, name);
        isCurrent = true;
        if (fresh?.kvVs === cur.kvVs) throw e;
        cur = fresh;
        continue;
      }
      next.metadata.resourceVersion = currentRv;
      if (sameObject(next, cur.obj)) {
        if (isCurrent) return next;
        // A no-op only against the stored version.
        cur = await this.read(res, ns, name);
        isCurrent = true;
        continue;
      }
      const bytes = this.#encode(res, next);
      const entry: Omit<LogEntry, "x"> = {
        t: "M",
        ns,
        n: name,
        p: cur.ev,
        pl: cur.obj.metadata.labels ?? {},
        pf: res.fields(cur.obj),
        ts: Date.now(),
      };
      const out = await this.#submit({
        res: res.key,
        ns,
        name,
        expect: cur.kvVs,
        bytes,
        entry,
        checks: opts.checks ?? [],
        mutate: opts.mutate,
      });
      if (out.ok) {
        this.#recent.set(recentKey, { kvVs: out.vs, ev: out.ev, bytes });
        next.metadata.resourceVersion = toResourceVersion(out.ev);
        return next;
      }
      this.#recent.delete(recentKey);
      // One read both tells whether the object changed (else a caller's check failed) and is
      // the version to try again on.
      const fresh = await this.read(res, ns, name);
      if (fresh?.kvVs === cur.kvVs) throw new PreconditionFailed();
      cur = fresh;
      isCurrent = true;
    }
    throw conflict(res.gr, name, STALE_OBJECT);
  }

  /**
   * Deletes an object. `precondition` sees the current object and may throw (uid/resourceVersion
   * preconditions). Returns the object as it was.
   */
  async delete(
    res: StoreResource,
    ns: string,
    name: string,
    opts: WriteOptions & { precondition?(current: KubeObject): void } = {},
  ): Promise<KubeObject> {
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const cur = await this.read(res, ns, name);
      if (!cur) throw notFound(res.gr, name);
      opts.precondition?.(cur.obj);
      const out = await this.#submit({
        res: res.key,
        ns,
        name,
        expect: cur.kvVs,
        bytes: null,
        deleted: cur.bytes,
        entry: { t: "D", ns, n: name, p: cur.ev, ts: Date.now() },
        checks: opts.checks ?? [],
        mutate: opts.mutate,
      });
      if (out.ok) {
        this.#recent.delete(RecentVersions.key(res.key, ns, name));
        return cur.obj;
      }
      const now = await retryLocked(() => this.kv.get(objectKey(res.key, ns, name)));
      if (now.versionstamp === cur.kvVs) throw new PreconditionFailed();
    }
    throw conflict(res.gr, name, STALE_OBJECT);
  }

  /** Parses a client-supplied resourceVersion into an event id, or throws 400. */
  static eventIdOf(rv: string): string {
    const ev = toEventId(rv);
    if (ev === null) throw badRequest(`invalid resource version "${rv}"`);
    return ev;
  }
}
