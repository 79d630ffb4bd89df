/**
 * Change-log entries and reading stored object versions.
 *
 * Every write commits the object and one log entry keyed by the commit's own versionstamp, in the
 * same atomic commit. An entry holds the version it wrote (inline, or as chunks keyed by the same
 * versionstamp) and points back at the version it replaced, so any version still in the log can
 * be read, and watches can replay from any resourceVersion not yet compacted.
 * @module
 */
import { chunkKey } from "./keys.ts";
import { joinChunks } from "./codec.ts";
import { retryLocked } from "./kv_retry.ts";

export type EntryType = "A" | "M" | "D";

export interface LogEntry {
  /** ADDED, MODIFIED or DELETED. */
  t: EntryType;
  ns: string;
  n: string;
  /** A/M: bytes of this version when inline. D: bytes of the deleted (last) version when inline. */
  o?: Uint8Array;
  /** A/M: chunk count of this version when chunked (chunks are keyed by this entry's versionstamp). */
  c?: number;
  /** M/D: versionstamp of the version this entry replaced. */
  p?: string;
  /** M/D: chunk count of the replaced version, when it was chunked. */
  pc?: number;
  /** M: labels of the replaced version (for selector transitions in watches). */
  pl?: Record<string, string>;
  /** M: selectable fields of the replaced version. */
  pf?: Record<string, string>;
  /** Wall-clock time of the write, in ms; compaction keeps entries younger than the retention. */
  ts: number;
}

/** The stored value under an object key: inline bytes, or a manifest for a chunked object. */
export type ObjectValue = Uint8Array | { c: number };

/** Reads the chunks of one version. Null if any is missing (compacted or concurrently replaced). */
export async function readChunks(
  kv: Deno.Kv,
  res: string,
  ns: string,
  name: string,
  vs: string,
  count: number,
): Promise<Uint8Array | null> {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i += 10) {
    const keys: Deno.KvKey[] = [];
    for (let j = i; j < Math.min(count, i + 10); j++) keys.push(chunkKey(res, ns, name, j, vs));
    const got = await retryLocked(() => kv.getMany<Uint8Array[]>(keys));
    for (const e of got) {
      if (e.value === null) return null;
      parts.push(e.value);
    }
  }
  return joinChunks(parts);
}

/** Bytes of the version an A/M entry wrote. */
export function entryBytes(kv: Deno.Kv, res: string, vs: string, e: LogEntry): Promise<Uint8Array | null> {
  if (e.o) return Promise.resolve(e.o);
  return readChunks(kv, res, e.ns, e.n, vs, e.c ?? 0);
}

/** Bytes of the version a D entry deleted. */
export function deletedBytes(kv: Deno.Kv, res: string, e: LogEntry): Promise<Uint8Array | null> {
  if (e.o) return Promise.resolve(e.o);
  return readChunks(kv, res, e.ns, e.n, e.p!, e.pc ?? 0);
}
