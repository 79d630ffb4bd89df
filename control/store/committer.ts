/**
 * Group commit: writes submitted while a KV commit is in flight are combined into the next one.
 *
 * A KV commit costs about the same whether it carries one write or dozens (it is one SQLite
 * transaction and one fsync), so under concurrency this multiplies write throughput. Each write
 * keeps its own optimistic check, its own change-log entry and its own event id (the commit's
 * versionstamp plus its index in the commit), so resourceVersions stay unique per write. A batch
 * never holds two writes to the same object; if any check in a batch fails, its writes are retried
 * one commit each, so one failed check never fails a neighbour. Optionally (off by default), a
 * commit that starts from idle first lets the runtime take in the requests already waiting on
 * their sockets, while that gathers more writes (gather.ts).
 * @module
 */
import { CHUNK_SIZE, INLINE_MAX, splitChunks } from "./codec.ts";
import { chunkKey, eventId, headKey, logKey, objectKey } from "./keys.ts";
import { retryLocked } from "./kv_retry.ts";
import type { LogEntry, ObjectValue } from "./log.ts";
import { type GatherMode, GatherPolicy, MAX_TURNS, turn } from "./gather.ts";

/** One write: the object's expected state, its new bytes (null to delete) and its log entry. */
export interface WriteIntent {
  res: string;
  ns: string;
  name: string;
  /** The object key's current KV versionstamp; null when the object must not exist. */
  expect: string | null;
  /** New version bytes; null deletes the object. */
  bytes: Uint8Array | null;
  /** The log entry without `x`, `o` and `c` (filled here). */
  entry: Omit<LogEntry, "x" | "o" | "c">;
  /** D: the bytes of the deleted version, kept in the log for watchers and consistent lists. */
  deleted?: Uint8Array;
  checks: Deno.AtomicCheck[];
  mutate?(op: Deno.AtomicOperation): void;
}

/** `vs`: the commit's versionstamp, now the KV versionstamp of every key the write set. */
export type CommitOutcome = { ok: true; ev: string; vs: string } | { ok: false };

/**
 * A commit's log entries of one resource. `after` is the commit that wrote the resource's previous
 * log entries when the commit proved it (a check on the resource's head key: nothing else was
 * logged for the resource in between), else null.
 */
export interface CommittedLog {
  vs: string;
  after: string | null;
  entries: readonly LogEntry[];
}

/**
 * Called after each successful commit with the last event id it wrote per resource key, and the
 * commit's log entries per resource key.
 */
export type CommitListener = (heads: ReadonlyMap<string, string>, logs: ReadonlyMap<string, CommittedLog>) => void;

interface Pending {
  intent: WriteIntent;
  /** Bytes this write's entry takes in its log value, without the inline version. */
  meta: number;
  solo: boolean;
  resolve(o: CommitOutcome): void;
  reject(e: unknown): void;
}

const MAX_WRITES = 64;
const MAX_CHECKS = 100;
const MAX_MUTATIONS = 900;
/** Bytes of keys and values per commit; KV allows 819,200. */
const MAX_BYTES = 790_000;
/** Room for inline bytes in one log value (a KV value holds 65,536). */
const LOG_VALUE_BUDGET = 60_000;
const ENTRY_OVERHEAD = 96;
/** KV's limit of checks per atomic commit. */
const KV_MAX_CHECKS = 100;
/** After another writer's commit to a resource is seen, its head stays unchecked this long (ms). */
const SHARED_HEAD_MS = 60_000;

/** Bytes of an entry in the log value, without inline version bytes (V8 serialization, generously). */
function entryMeta(w: WriteIntent): number {
  const e = w.entry;
  return ENTRY_OVERHEAD + 2 * (e.ns.length + e.n.length) + (e.p ? 60 : 0) +
    (e.pl ? 2 * JSON.stringify(e.pl).length : 0) + (e.pf ? 2 * JSON.stringify(e.pf).length : 0);
}

function sizeOf(p: Pending): number {
  const bytes = p.intent.bytes?.length ?? p.intent.deleted?.length ?? 0;
  return 2 * bytes + ENTRY_OVERHEAD + 256 * p.intent.checks.length;
}

function mutationsOf(p: Pending): number {
  const bytes = p.intent.bytes?.length ?? p.intent.deleted?.length ?? 0;
  return 3 + Math.ceil(bytes / CHUNK_SIZE) + (p.intent.mutate ? 8 : 0);
}

/**
 * Whether `batch` already writes the object `w` writes. A scan (a batch holds at most 64 writes)
 * rather than a set of "res/ns/name" strings: a string per write, flattened to be hashed, was
 * 34–56 B per write still live at the next young-generation GC (measured; docs/benchmarks.md).
 */
function hasObject(batch: Pending[], w: WriteIntent): boolean {
  for (let i = 0; i < batch.length; i++) {
    const o = batch[i].intent;
    if (o.name === w.name && o.ns === w.ns && o.res === w.res) return true;
  }
  return false;
}

export class Committer {
  readonly #kv: Deno.Kv;
  #queue: Pending[] = [];
  #running = false;
  readonly #onCommit?: CommitListener;
  /**
   * The KV versionstamp of each resource's head key as this committer last wrote it. The next
   * commit to the resource checks it: when it holds, no other writer logged anything for the
   * resource in between, and the listener may take the commit's entries as the next ones.
   */
  readonly #heads = new Map<string, string>();
  /** Resources another writer (process or store) also writes, until when their head is not checked. */
  readonly #shared = new Map<string, number>();
  /** Whether a commit from idle first gathers the writes already on their way (gather.ts). */
  readonly gather: GatherPolicy;

  /** `onCommit` runs synchronously after each successful commit, before its writers resume. */
  constructor(kv: Deno.Kv, onCommit?: CommitListener, gather: GatherMode = "never") {
    this.#kv = kv;
    this.#onCommit = onCommit;
    this.gather = new GatherPolicy(gather);
  }

  submit(intent: WriteIntent): Promise<CommitOutcome> {
    const { promise, resolve, reject } = Promise.withResolvers<CommitOutcome>();
    this.#queue.push({ intent, meta: entryMeta(intent), solo: false, resolve, reject });
    if (!this.#running) this.#drain();
    return promise;
  }

  async #drain() {
    this.#running = true;
    try {
      if (this.gather.shouldGather()) await this.#gatherWrites();
      while (this.#queue.length) {
        const batch = this.#take();
        try {
          const ok = await this.#commit(batch);
          if (!ok) {
            if (batch.length === 1) batch[0].resolve({ ok: false });
            else this.#queue.unshift(...batch.map((p) => ({ ...p, solo: true })));
          }
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.#running = false;
    }
  }

  /** Lets the runtime take in ready requests while they bring more writes (at most MAX_TURNS turns). */
  async #gatherWrites() {
    const first = this.#queue.length;
    let n = first;
    for (let i = 0; i < MAX_TURNS; i++) {
      try {
        await turn();
      } catch {
        break; // never expected; the writes commit as they are
      }
      if (this.#queue.length === n) break;
      n = this.#queue.length;
    }
    this.gather.record(n > first);
  }

  /** The next batch: queued writes in order, distinct objects, within the commit limits. */
  #take(): Pending[] {
    const first = this.#queue[0];
    if (first.solo) return this.#queue.splice(0, 1);
    const batch: Pending[] = [];
    let checks = 0;
    let mutations = 2; // the global head, plus one per resource below
    let bytes = 0;
    const logMeta = new Map<string, number>();
    const rest: Pending[] = [];
    for (const p of this.#queue) {
      const meta = (logMeta.get(p.intent.res) ?? 0) + p.meta;
      const head = logMeta.has(p.intent.res) ? 0 : 1; // the resource's head check
      const fits = !p.solo && batch.length < MAX_WRITES && !hasObject(batch, p.intent) &&
        checks + 1 + p.intent.checks.length + head <= MAX_CHECKS &&
        mutations + mutationsOf(p) + 2 <= MAX_MUTATIONS &&
        bytes + sizeOf(p) <= MAX_BYTES &&
        meta <= LOG_VALUE_BUDGET;
      if (fits || batch.length === 0) {
        batch.push(p);
        logMeta.set(p.intent.res, meta);
        checks += 1 + p.intent.checks.length + head;
        mutations += mutationsOf(p) + 2;
        bytes += sizeOf(p);
      } else rest.push(p);
    }
    this.#queue = rest;
    return batch;
  }

  async #commit(batch: Pending[]): Promise<boolean> {
    for (;;) {
      const checked = this.#headsToCheck(batch);
      const result = await this.#commitOnce(batch, checked);
      if (result !== "heads-changed") return result;
    }
  }

  /** The head versionstamps the next commit of `batch` checks, per resource (within KV's limit). */
  #headsToCheck(batch: Pending[]): Map<string, string> {
    const out = new Map<string, string>();
    let checks = 0;
    for (const { intent: w } of batch) checks += 1 + w.checks.length;
    const now = Date.now();
    for (const { intent: w } of batch) {
      // A margin for the checks a write's `mutate` may add (allocations).
      if (out.has(w.res) || checks >= KV_MAX_CHECKS - 4) continue;
      const until = this.#shared.get(w.res);
      if (until !== undefined) {
        if (now < until) continue;
        this.#shared.delete(w.res);
      }
      const vs = this.#heads.get(w.res);
      if (vs === undefined) continue;
      out.set(w.res, vs);
      checks++;
    }
    return out;
  }

  /**
   * One commit of `batch`, checking the head keys in `checked`. `heads-changed`: it failed and a
   * checked head key has moved (another writer logged for that resource; it is no longer checked
   * for a while), so the batch is to be committed again.
   */
  async #commitOnce(batch: Pending[], checked: Map<string, string>): Promise<boolean | "heads-changed"> {
    const kv = this.#kv;
    const vs = kv.commitVersionstamp() as unknown as string;
    const op = kv.atomic();
    const logs = new Map<string, { entries: LogEntry[]; room: number }>();
    for (const { intent: w, meta } of batch) {
      // The room left for inline versions once every entry's own fields are counted.
      const log = logs.get(w.res) ?? { entries: [], room: LOG_VALUE_BUDGET };
      log.room -= meta;
      logs.set(w.res, log);
    }
    batch.forEach(({ intent: w }, x) => {
      const key = objectKey(w.res, w.ns, w.name);
      op.check({ key, versionstamp: w.expect });
      for (const c of w.checks) op.check(c);
      const log = logs.get(w.res)!;
      const entry: LogEntry = { ...w.entry, x };
      const version = w.bytes ?? w.deleted;
      if (version) {
        if (version.length <= INLINE_MAX && version.length <= log.room) {
          entry.o = version;
          log.room -= version.length;
        } else {
          const chunks = splitChunks(version);
          chunks.forEach((c, i) => op.set(chunkKey(w.res, w.ns, w.name, i, vs), c));
          entry.c = chunks.length;
        }
      }
      if (w.bytes) {
        // Objects too big for one KV value keep their bytes in the commit's chunks (written above).
        const value: ObjectValue = w.bytes.length <= INLINE_MAX ? { b: w.bytes, x } : { c: entry.c!, x };
        op.set(key, value);
      } else {
        op.delete(key);
      }
      w.mutate?.(op);
      log.entries.push(entry);
    });
    for (const [res, head] of checked) op.check({ key: headKey(res), versionstamp: head });
    for (const [res, log] of logs) {
      op.set(logKey(res, vs), log.entries);
      op.set(headKey(res), log.entries[log.entries.length - 1].x);
    }
    op.set(headKey("*"), batch.length - 1);
    const result = await retryLocked(() => op.commit());
    if (!result.ok) {
      if (!checked.size) return false;
      // Which check failed? A head that moved means another writer: commit again without it.
      const keys = [...checked.keys()];
      const now = await retryLocked(() => kv.getMany(keys.map((res) => headKey(res))));
      let moved = false;
      keys.forEach((res, i) => {
        if (now[i].versionstamp === checked.get(res)) return;
        moved = true;
        this.#heads.delete(res);
        this.#shared.set(res, Date.now() + SHARED_HEAD_MS);
      });
      return moved ? "heads-changed" : false;
    }
    for (const res of logs.keys()) this.#heads.set(res, result.versionstamp);
    if (this.#onCommit) {
      const heads = new Map<string, string>();
      const committed = new Map<string, CommittedLog>();
      for (const [res, log] of logs) {
        heads.set(res, eventId(result.versionstamp, log.entries[log.entries.length - 1].x));
        committed.set(res, { vs: result.versionstamp, after: checked.get(res) ?? null, entries: log.entries });
      }
      try {
        this.#onCommit(heads, committed);
      } catch (e) {
        console.error("commit listener failed:", e);
      }
    }
    batch.forEach((p, x) =>
      p.resolve({ ok: true, ev: eventId(result.versionstamp, x), vs: result.versionstamp })
    );
    return true;
  }
}
