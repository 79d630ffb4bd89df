/**
 * The KV key layout of the store, and the mapping between KV versionstamps and Kubernetes
 * resourceVersions.
 *
 * | key                                   | value                                          |
 * |---------------------------------------|------------------------------------------------|
 * | `["o", res, ns, name]`                | CBOR bytes of the object, or a chunk manifest  |
 * | `["c", res, ns, name, i, vs]`         | chunk `i` of the version written at `vs`       |
 * | `["l", res, vs]`                      | change-log entry written by the commit `vs`    |
 * | `["h", res]`                          | touched by every write: wakes watchers         |
 * | `["m", "compacted", res]`             | the compaction watermark of `res`              |
 * | `["r", res, ns, name, vs]`            | a DELETED entry still refers to chunks of `vs` |
 *
 * `res` is the resource key (`pods`, `deployments.apps`); `ns` is `""` for cluster-scoped objects.
 * @module
 */

export const OBJECT = "o";
export const CHUNK = "c";
export const LOG = "l";
export const HEAD = "h";
export const META = "m";
export const DELETE_REF = "r";

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

export function deleteRefKey(res: string, ns: string, name: string, vs: string): Deno.KvKey {
  return [DELETE_REF, res, ns, name, vs];
}

/** The smallest string greater than `s`: turns an inclusive KV `start` into an exclusive one. */
export function after(s: string): string {
  return s + "\u0000";
}

const VS_HEX = 20;

/** A KV versionstamp (20 hex digits) as a decimal resourceVersion, as Kubernetes 1.35 specifies. */
export function toResourceVersion(versionstamp: string): string {
  return BigInt("0x" + versionstamp).toString();
}

/** The KV versionstamp for a resourceVersion; null if `rv` is not a positive decimal integer. */
export function toVersionstamp(rv: string): string | null {
  if (!/^[1-9][0-9]{0,24}$/.test(rv)) return null;
  const hex = BigInt(rv).toString(16);
  return hex.length > VS_HEX ? null : hex.padStart(VS_HEX, "0");
}

/** The versionstamp that sorts before every real one. */
export const ZERO_VS = "0".repeat(VS_HEX);
