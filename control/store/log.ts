/**
 * Change-log entries and reading stored object versions.
 *
 * Every commit writes, per resource it touches, one log key holding the entries of its writes, in
 * the same atomic commit as the objects. An entry holds the version it wrote (inline when the log
 * value has room, otherwise as chunks keyed by the commit) and points back at the version it
 * replaced, so any version still in the log can be read and watches can replay from any
 * resourceVersion not yet compacted.
 * @module
 */
import { chunkKey, commitOf, eventId, indexOf, logKey } from "./keys.ts";
import { joinChunks } from "./codec.ts";
import { retryLocked } from "./kv_retry.ts";

export type EntryType = "A" | "M" | "D";

export interface LogEntry {
  /** ADDED, MODIFIED or DELETED. */
  t: EntryType;
  /** Index of this write within its commit. */
  x: number;
  ns: string;
  n: string;
  /**
   * The version this entry carries (A/M: the version written; D: the version deleted), inline
   * when the log value had room...
   */
  o?: Uint8Array;
  /** ...or else as this many chunks keyed by this entry's commit. */
  c?: number;
  /** M/D: event id of the version this entry replaced. */
  p?: string;
  /** M: labels of the replaced version (for selector transitions in watches). */
  pl?: Record<string, string>;
  /** M: selectable fields of the replaced version. */
  pf?: Record<string, string>;
  /** Wall-clock time of the write, in ms; compaction keeps entries younger than the retention. */
  ts: number;
}

/** The value under an object key: the current version, inline or as a chunk count, and its index. */
export interface ObjectValue {
  b?: Uint8Array;
  c?: number;
  x: number;
}

/** An entry with its event id. */
export interface LoggedEntry {
  ev: string;
  e: LogEntry;
}

/** The entries of one log key, with their event ids. */
export function entriesOf(vs: string, value: LogEntry[]): LoggedEntry[] {
  return value.map((e) => ({ ev: eventId(vs, e.x), e }));
}

/** Reads the chunks of one version. Null if any is missing (compacted or concurrently replaced). */
export async function readChunks(
  kv: Deno.Kv,
  res: string,
  ns: string,
  name: string,
  ev: string,
  count: number,
): Promise<Uint8Array | null> {
  const vs = commitOf(ev);
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

/** Bytes of the version an entry carries (written by A/M, deleted by D). */
export function entryBytes(kv: Deno.Kv, res: string, ev: string, e: LogEntry): Promise<Uint8Array | null> {
  if (e.o) return Promise.resolve(e.o);
  return readChunks(kv, res, e.ns, e.n, ev, e.c ?? 0);
}

/** The log entry of one event, or null if it was compacted away. */
export async function readEntry(kv: Deno.Kv, res: string, ev: string): Promise<LogEntry | null> {
  const got = await retryLocked(() => kv.get<LogEntry[]>(logKey(res, commitOf(ev))));
  const x = indexOf(ev);
  return got.value?.find((e) => e.x === x) ?? null;
}
