/**
 * Compaction of the change log, with etcd's semantics: choose a watermark W (the newest entry
 * older than the retention), then drop every entry at or below W that a newer entry at or below W
 * superseded, and every DELETED entry at or below W. The entry holding each object's version as
 * of W stays, so any resourceVersion at or above W can still be listed and watched from; one
 * below W gets 410 Expired.
 * @module
 */
import { chunkKey, commitOf, HEAD, indexOf, LOG, logKey, watermarkKey, ZERO_EVENT } from "./keys.ts";
import { retryLocked } from "./kv_retry.ts";
import { entriesOf, type LoggedEntry, type LogEntry } from "./log.ts";
import { commit } from "./store.ts";

export interface CompactOptions {
  /** History younger than this is always kept. Default 5 minutes. */
  retentionMs?: number;
  now?: number;
}

export interface CompactResult {
  /** Resource key → new watermark event id, for resources that were compacted. */
  watermarks: Record<string, string>;
  deletedEntries: number;
}

const MAX_MUTATIONS = 900;

/** Compacts the log of every resource that has one. Safe to run concurrently from several replicas. */
export async function compact(kv: Deno.Kv, opts: CompactOptions = {}): Promise<CompactResult> {
  const cutoff = (opts.now ?? Date.now()) - (opts.retentionMs ?? 5 * 60_000);
  const result: CompactResult = { watermarks: {}, deletedEntries: 0 };
  const resources: string[] = [];
  for await (const e of kv.list({ prefix: [HEAD] })) {
    const res = e.key[1] as string;
    if (res !== "*") resources.push(res);
  }
  for (const res of resources) {
    const n = await compactResource(kv, res, cutoff);
    if (n) {
      result.watermarks[res] = n.watermark;
      result.deletedEntries += n.deleted;
    }
  }
  return result;
}

async function compactResource(
  kv: Deno.Kv,
  res: string,
  cutoff: number,
): Promise<{ watermark: string; deleted: number } | null> {
  const wmEntry = await retryLocked(() => kv.get<string>(watermarkKey(res)));
  const previous = wmEntry.value ?? ZERO_EVENT;
  const old: LoggedEntry[] = [];
  const iter = kv.list<LogEntry[]>({ prefix: [LOG, res], start: logKey(res, commitOf(previous)) }, { batchSize: 1000 });
  scan: for await (const entry of iter) {
    for (const le of entriesOf(entry.key[2] as string, entry.value)) {
      if (le.ev <= previous) continue;
      if (le.e.ts >= cutoff) break scan;
      old.push(le);
    }
  }
  if (!old.length) return null;
  const watermark = old[old.length - 1].ev;
  // Raise the watermark first: from then on nobody may read below it, so deleting is safe.
  const raised = await commit(kv.atomic().check(wmEntry).set(watermarkKey(res), watermark));
  if (!raised.ok) return null; // another replica is compacting this resource
  // Event ids to drop, grouped by the commit (log key) holding them.
  const drop = new Map<string, Set<number>>();
  const mark = (ev: string) => {
    const vs = commitOf(ev);
    if (!drop.has(vs)) drop.set(vs, new Set());
    drop.get(vs)!.add(indexOf(ev));
  };
  for (const { ev, e } of old) {
    if (e.p) mark(e.p);
    if (e.t === "D") mark(ev);
  }
  let deleted = 0;
  let op = kv.atomic();
  let mutations = 0;
  const flush = async () => {
    if (mutations) await commit(op);
    op = kv.atomic();
    mutations = 0;
  };
  for (const [vs, indexes] of drop) {
    const got = await retryLocked(() => kv.get<LogEntry[]>(logKey(res, vs)));
    if (!got.value) continue;
    const keep = got.value.filter((e) => !indexes.has(e.x));
    for (const e of got.value) {
      if (!indexes.has(e.x)) continue;
      deleted++;
      for (let i = 0; i < (e.c ?? 0); i++) {
        op.delete(chunkKey(res, e.ns, e.n, i, vs));
        if (++mutations >= MAX_MUTATIONS) await flush();
      }
    }
    if (keep.length) op.set(logKey(res, vs), keep);
    else op.delete(logKey(res, vs));
    if (++mutations >= MAX_MUTATIONS) await flush();
  }
  await flush();
  return { watermark, deleted };
}


