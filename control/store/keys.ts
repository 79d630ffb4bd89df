/**
 * The KV key layout of the store, and the mapping between commits and Kubernetes
 * resourceVersions.
 *
 * | key                                   | value                                              |
 * |---------------------------------------|----------------------------------------------------|
 * | `["o", res, ns, name]`                | the current version: `{ b: bytes, x }` or `{ c, x }` |
 * | `["c", res, ns, name, i, vs]`         | chunk `i` of the version written by commit `vs`    |
 * | `["l", res, vs]`                      | the change-log entries commit `vs` wrote for `res` |
 * | `["h", res]`, `["h", "*"]`            | touched by every write: wakes watchers; value = last index |
 * | `["m", "compacted", res]`             | the compaction watermark of `res` (an event id)    |
 *
 * `res` is the resource key (`pods`, `deployments.apps`); `ns` is `""` for cluster-scoped objects.
 *
 * Several writes may share one KV commit (group commit). Each write gets an index `x` within its
 * commit, and its **event id** is the commit's 20-hex-digit versionstamp followed by `x` in four hex
 * digits: 24 hex digits, unique, ordered by commit then index. The resourceVersion is the event id
 * as a decimal integer: positive, monotonic and comparable, as Kubernetes 1.35 specifies.
 * @module
 */

export const OBJECT = "o";
export const CHUNK = "c";
export const LOG = "l";
export const HEAD = "h";
export const META = "m";

export function objectKey(res: string, ns: string, name: string): Deno.KvKey {
  return [OBJECT, res, ns, name];
}

export function chunkKey(res: string, ns: string, name: string, i: number, vs: string): Deno.KvKey {
  return [CHUNK, res, ns, name, i, vs];
}

export function logKey(res: string, vs: string): Deno.KvKey {
  return [LOG, res, vs];
}

export function headKey(res: string): Deno.KvKey {
  return [HEAD, res];
}

export function watermarkKey(res: string): Deno.KvKey {
  return [META, "compacted", res];
}

/** The smallest string greater than `s`: turns an inclusive KV `start` into an exclusive one. */
export function after(s: string): string {
  return s + "\u0000";
}

const VS_HEX = 20;
const EVENT_HEX = 24;

/** The event id of write `index` in the commit `vs`. */
export function eventId(vs: string, index: number): string {
  return vs + index.toString(16).padStart(EVENT_HEX - VS_HEX, "0");
}

/** The commit versionstamp an event id belongs to. */
export function commitOf(ev: string): string {
  return ev.slice(0, VS_HEX);
}

/** The index of an event within its commit. */
export function indexOf(ev: string): number {
  return parseInt(ev.slice(VS_HEX), 16);
}

/** An event id as a decimal resourceVersion. */
export function toResourceVersion(ev: string): string {
  return BigInt("0x" + ev).toString();
}

/** The event id of a resourceVersion; null if `rv` is not a positive decimal integer in range. */
export function toEventId(rv: string): string | null {
  if (!/^[1-9][0-9]{0,29}$/.test(rv)) return null;
  const hex = BigInt(rv).toString(16);
  return hex.length > EVENT_HEX ? null : hex.padStart(EVENT_HEX, "0");
}

/** The event id that sorts before every real one. */
export const ZERO_EVENT = "0".repeat(EVENT_HEX);
