/**
 * Semantic equality of API objects, as apimachinery's `equality.Semantic.DeepEqual`: unset, null,
 * empty maps and empty lists are all equal, so a template read back from the server (with empty
 * fields dropped or kept) compares equal to the one that was written.
 * @module
 */

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") {
    return Object.keys(v as object).every((k) => (v as Record<string, unknown>)[k] === undefined);
  }
  return false;
}

/** Deep equality that treats unset, null, `{}` and `[]` as the same value. */
export function semanticEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isEmpty(a) && isEmpty(b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    return a.every((v, i) => semanticEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>, bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) if (!semanticEqual(ao[k], bo[k])) return false;
  return true;
}
