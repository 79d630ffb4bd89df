/**
 * The object store on Deno KV: the etcd role.
 *
 * Objects are CBOR-encoded, one key each (chunked past one KV value), and every write appends a
 * change-log entry in the same atomic commit. resourceVersions are commit versionstamps as
 * decimal integers. Updates and deletes are optimistic: a commit checks the versionstamp it read.
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
import { deepEqual, type KubeObject } from "../api/types.ts";
import { decodeObject, encodeObject, INLINE_MAX, MAX_OBJECT_BYTES, splitChunks } from "./codec.ts";
import { chunkKey, headKey, logKey, objectKey, toResourceVersion, toVersionstamp, watermarkKey, ZERO_VS } from "./keys.ts";
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

/** Thrown when one of the caller's extra checks failed; the object itself was not the cause. */
export class PreconditionFailed extends Error {
  constructor() {
    super("a precondition of the write changed concurrently");
    this.name = "PreconditionFailed";
  }
}

/** An object as currently stored. */
export interface StoredObject {
  obj: KubeObject;
  vs: string;
  /** Chunk count, or 0 when stored inline. */
  chunks: number;
  /** Inline bytes, when stored inline. */
  bytes?: Uint8Array;
}

const GLOBAL_HEAD = "*";
const MAX_UPDATE_ATTEMPTS = 64;

/** Commits `op`, retrying while SQLite reports the file locked by another process. */
export function commit(op: Deno.AtomicOperation): Promise<Deno.KvCommitResult | Deno.KvCommitError> {
  return retryLocked(() => op.commit());
}

export class Store {
  readonly kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.kv = kv;
  }

  /** Reads one object with its versionstamp; null if absent. */
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
    vs: string,
  ): Promise<StoredObject | null> {
    const rv = toResourceVersion(vs);
    if (value instanceof Uint8Array) return { obj: decodeObject(value, rv), vs, chunks: 0, bytes: value };
    const bytes = await readChunks(this.kv, key, ns, name, vs, value.c);
    if (!bytes) return null;
    return { obj: decodeObject(bytes, rv), vs, chunks: value.c };
  }

  /** Decodes an entry of a prefix scan over object keys. */
  materialize(key: string, entry: Deno.KvEntry<ObjectValue>): Promise<StoredObject | null> {
    const [, , ns, name] = entry.key as [string, string, string, string];
    return this.#materialize(key, ns, name, entry.value, entry.versionstamp);
  }

  async get(res: StoreResource, ns: string, name: string): Promise<KubeObject | null> {
    return (await this.read(res, ns, name))?.obj ?? null;
  }

  /** The resourceVersion of the latest write to `res` (or of the whole store if `res` never changed). */
  async head(res: StoreResource): Promise<string> {
    const [own, global] = await retryLocked(() => this.kv.getMany([headKey(res.key), headKey(GLOBAL_HEAD)]));
    return own.versionstamp ?? global.versionstamp ?? ZERO_VS;
  }

  /** The compaction watermark of `res`: resourceVersions below it are gone. */
  async watermark(res: StoreResource): Promise<string> {
    const e = await retryLocked(() => this.kv.get<string>(watermarkKey(res.key)));
    return e.value ?? ZERO_VS;
  }

  /** Adds the object value, its log entry and the head keys to `op`. */
  #write(op: Deno.AtomicOperation, res: StoreResource, ns: string, name: string, bytes: Uint8Array, entry: LogEntry) {
    const vs = this.kv.commitVersionstamp();
    if (bytes.length <= INLINE_MAX) {
      op.set(objectKey(res.key, ns, name), bytes);
      entry.o = bytes;
    } else {
      const chunks = splitChunks(bytes);
      chunks.forEach((c, i) => op.set(chunkKey(res.key, ns, name, i, vs as unknown as string), c));
      op.set(objectKey(res.key, ns, name), { c: chunks.length });
      entry.c = chunks.length;
    }
    op.set(logKey(res.key, vs as unknown as string), entry);
    this.#touch(op, res);
  }

  #touch(op: Deno.AtomicOperation, res: StoreResource) {
    op.set(headKey(res.key), 0);
    op.set(headKey(GLOBAL_HEAD), 0);
  }

  #encode(res: StoreResource, obj: KubeObject): Uint8Array {
    const bytes = encodeObject(obj);
    if (bytes.length > MAX_OBJECT_BYTES) {
      throw tooLarge(
        `${res.gr.resource} "${obj.metadata.name}" is too large: ${bytes.length} bytes encoded, ` +
          `the limit is ${MAX_OBJECT_BYTES} bytes`,
      );
    }
    return bytes;
  }

  /** Creates `obj`; 409 AlreadyExists if its name is taken. Returns it with its resourceVersion. */
  async create(res: StoreResource, obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const ns = obj.metadata.namespace ?? "";
    const name = obj.metadata.name!;
    const bytes = this.#encode(res, obj);
    const op = this.kv.atomic().check({ key: objectKey(res.key, ns, name), versionstamp: null });
    for (const c of opts.checks ?? []) op.check(c);
    this.#write(op, res, ns, name, bytes, { t: "A", ns, n: name, ts: Date.now() });
    opts.mutate?.(op);
    const result = await commit(op);
    if (result.ok) {
      obj.metadata.resourceVersion = toResourceVersion(result.versionstamp);
      return obj;
    }
    const existing = await retryLocked(() => this.kv.get(objectKey(res.key, ns, name)));
    if (existing.value !== null) throw alreadyExists(res.gr, name);
    throw new PreconditionFailed();
  }

  /**
   * Read-modify-write with optimistic concurrency, as upstream's GuaranteedUpdate: `tryUpdate`
   * gets a fresh copy of the current object and returns the desired one (or throws an ApiError).
   * On a concurrent write it runs again on the newer object. A result equal to the current object
   * writes nothing and keeps the resourceVersion.
   */
  async update(
    res: StoreResource,
    ns: string,
    name: string,
    tryUpdate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
    opts: WriteOptions = {},
  ): Promise<KubeObject> {
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const cur = await this.read(res, ns, name);
      if (!cur) throw notFound(res.gr, name);
      const currentRv = cur.obj.metadata.resourceVersion;
      const next = await tryUpdate(structuredClone(cur.obj));
      next.metadata.resourceVersion = currentRv;
      if (deepEqual(next, cur.obj)) return next;
      const bytes = this.#encode(res, next);
      const op = this.kv.atomic().check({ key: objectKey(res.key, ns, name), versionstamp: cur.vs });
      for (const c of opts.checks ?? []) op.check(c);
      const entry: LogEntry = {
        t: "M",
        ns,
        n: name,
        p: cur.vs,
        pl: cur.obj.metadata.labels ?? {},
        pf: res.fields(cur.obj),
        ts: Date.now(),
      };
      if (cur.chunks) entry.pc = cur.chunks;
      this.#write(op, res, ns, name, bytes, entry);
      opts.mutate?.(op);
      const result = await commit(op);
      if (result.ok) {
        next.metadata.resourceVersion = toResourceVersion(result.versionstamp);
        return next;
      }
      const now = await retryLocked(() => this.kv.get(objectKey(res.key, ns, name)));
      if (now.versionstamp === cur.vs) throw new PreconditionFailed();
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
      const op = this.kv.atomic().check({ key: objectKey(res.key, ns, name), versionstamp: cur.vs });
      for (const c of opts.checks ?? []) op.check(c);
      op.delete(objectKey(res.key, ns, name));
      const entry: LogEntry = { t: "D", ns, n: name, p: cur.vs, ts: Date.now() };
      if (cur.bytes) entry.o = cur.bytes;
      else entry.pc = cur.chunks;
      op.set(logKey(res.key, this.kv.commitVersionstamp() as unknown as string), entry);
      this.#touch(op, res);
      opts.mutate?.(op);
      const result = await commit(op);
      if (result.ok) return cur.obj;
      const now = await retryLocked(() => this.kv.get(objectKey(res.key, ns, name)));
      if (now.versionstamp === cur.vs) throw new PreconditionFailed();
    }
    throw conflict(res.gr, name, STALE_OBJECT);
  }

  /** Parses a client-supplied resourceVersion into a versionstamp, or throws 400. */
  static versionstampOf(rv: string): string {
    const vs = toVersionstamp(rv);
    if (vs === null) throw badRequest(`invalid resource version "${rv}"`);
    return vs;
  }
}
