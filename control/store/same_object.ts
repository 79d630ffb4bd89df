/**
 * Whether two decoded objects hold the same data, as `deepEqual` of control/api judges it (keys
 * whose value is undefined do not count; key order does not matter), without allocating: an
 * update compares its result with the stored object on every write, and this is the hot path.
 *
 * @example
 * ```ts
 * sameObject({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1, d: undefined }); // true
 * ```
 * @module
 */
export function sameObject(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameObject(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let defined = 0;
  for (const k in x) {
    if (!Object.hasOwn(x, k) || x[k] === undefined) continue;
    defined++;
    if (!sameObject(x[k], y[k])) return false;
  }
  for (const k in y) {
    if (Object.hasOwn(y, k) && y[k] !== undefined) defined--;
  }
  return defined === 0;
}
