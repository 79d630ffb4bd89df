/**
 * Compaction of the change log, with etcd's semantics: choose a watermark W (the newest entry
 * older than the retention), then drop every entry at or below W that a newer entry at or below W
 * superseded, and every DELETED entry at or below W. The entry holding each object's version as
 * of W stays, so any resourceVersion at or above W can still be listed and watched from; one
 * below W gets 410 Expired.
 * @module
 */
import { chunkKey, HEAD, LOG, logKey, watermarkKey, after, ZERO_VS } from "./keys.ts";
import { retryLocked } from "./kv_retry.ts";
import type { LogEntry } from "./log.ts";
import { commit } from "./store.ts";

export interface CompactOptions {
  /** History younger than this is always kept. Default 5 minutes. */
  retentionMs?: number;
  now?: number;
}

export interface CompactResult {
  /** Resource key → new watermark versionstamp, for resources that were compacted. */
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
  const previous = wmEntry.value ?? ZERO_VS;
  const old: { vs: string; e: LogEntry }[] = [];
  const iter = kv.list<LogEntry>({ prefix: [LOG, res], start: logKey(res, after(previous)) }, { batchSize: 1000 });
  for await (const entry of iter) {
    if (entry.value.ts >= cutoff) break;
    old.push({ vs: entry.key[2] as string, e: entry.value });
  }
  if (!old.length) return null;
  const watermark = old[old.length - 1].vs;
  // Raise the watermark first: from then on nobody may read below it, so deleting is safe.
  const raised = await commit(
    kv.atomic().check(wmEntry).set(watermarkKey(res), watermark),
  );
  if (!raised.ok) return null; // another replica is compacting this resource
  const deletions: Deno.KvKey[] = [];
  for (const { vs, e } of old) {
    if (e.p) {
      deletions.push(logKey(res, e.p));
      for (let i = 0; i < (e.pc ?? 0); i++) deletions.push(chunkKey(res, e.ns, e.n, i, e.p));
    }
    if (e.t === "D") deletions.push(logKey(res, vs));
  }
  for (let i = 0; i < deletions.length; i += MAX_MUTATIONS) {
    const op = kv.atomic();
    for (const k of deletions.slice(i, i + MAX_MUTATIONS)) op.delete(k);
    await commit(op);
  }
  return { watermark, deleted: deletions.length };
}
