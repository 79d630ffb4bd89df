/**
 * Template hashes: `pod-template-hash` and `controller-revision-hash` values, as upstream's
 * `controller.ComputeHash` (FNV-32a of the template, then of the collision count, written as a
 * decimal number and re-encoded with `rand.SafeEncodeString`'s vowel-free alphabet).
 *
 * Deviation: upstream hashes a `spew` dump of the Go struct; we hash canonical JSON (sorted keys).
 * Hash values therefore differ from a real cluster's for the same template, but have the same
 * shape (up to 10 characters of `bcdfghjklmnpqrstvwxz2456789`) and the same stability.
 *
 * @example
 * ```ts
 * computeHash({ spec: { containers: [{ name: "a", image: "nginx" }] } }); // e.g. "7d9f5c8b46"
 * ```
 * @module
 */

const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

/** Upstream `rand.SafeEncodeString`: maps each character onto a vowel-free alphabet. */
export function safeEncodeString(s: string): string {
  let out = "";
  for (const ch of s) out += ALPHANUMS[ch.codePointAt(0)! % ALPHANUMS.length];
  return out;
}

/** JSON with object keys sorted and `undefined` members dropped: a stable serialization. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a, 32 bits, continuing from `seed` (for hashing several writes as one stream). */
export function fnv32a(bytes: Uint8Array, seed = FNV_OFFSET): number {
  let h = seed >>> 0;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, FNV_PRIME) >>> 0;
  }
  return h >>> 0;
}

function withCollisionCount(h: number, collisionCount?: number | null): number {
  if (collisionCount === undefined || collisionCount === null) return h;
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, collisionCount >>> 0, true);
  return fnv32a(b, h);
}

/** Upstream `controller.ComputeHash(template, collisionCount)`. */
export function computeHash(template: unknown, collisionCount?: number | null): string {
  const h = fnv32a(new TextEncoder().encode(canonicalJson(template)));
  return safeEncodeString(String(withCollisionCount(h, collisionCount)));
}

/** Upstream `history.HashControllerRevision`: the hash of a revision's raw data. */
export function hashRevisionData(data: unknown, collisionCount?: number | null): string {
  const raw = typeof data === "string" ? data : canonicalJson(data);
  const h = fnv32a(new TextEncoder().encode(raw));
  return safeEncodeString(String(withCollisionCount(h, collisionCount)));
}
