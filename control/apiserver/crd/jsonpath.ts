/**
 * The JSONPath subset CRDs use (printer columns, scale paths, selectable fields), evaluated the way
 * client-go's `jsonpath` does with missing keys allowed: `.a.b`, `.a[0].b`, `.a[-1]`, `.a[*].b`,
 * `.a['dotted.key']`. Anything else (filters, slices, recursive descent) does not parse.
 *
 * @example
 * ```ts
 * findJsonPath({ spec: { ports: [{ port: 80 }, { port: 443 }] } }, ".spec.ports[*].port"); // [80, 443]
 * ```
 * @module
 */

/** One step of a parsed path. */
export type PathSegment =
  | { field: string }
  | { index: number }
  | { wildcard: true };

/** Parses a simple JSONPath (with or without `{}` braces); `undefined` when unsupported. */
export function parseJsonPath(path: string): PathSegment[] | undefined {
  let s = path.trim();
  if (s.startsWith("{") && s.endsWith("}")) s = s.slice(1, -1).trim();
  if (s.startsWith("$")) s = s.slice(1);
  if (s === "" || s === ".") return [];
  const out: PathSegment[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === ".") {
      let j = i + 1;
      while (j < s.length && s[j] !== "." && s[j] !== "[") j++;
      const name = s.slice(i + 1, j);
      if (!name) return undefined; // `..` (recursive descent) or a trailing dot
      out.push(name === "*" ? { wildcard: true } : { field: name });
      i = j;
    } else if (c === "[") {
      const end = s.indexOf("]", i);
      if (end < 0) return undefined;
      const inner = s.slice(i + 1, end).trim();
      const quoted = inner.match(/^'(.*)'$|^"(.*)"$/);
      if (inner === "*") out.push({ wildcard: true });
      else if (/^-?\d+$/.test(inner)) out.push({ index: Number(inner) });
      else if (quoted) out.push({ field: quoted[1] ?? quoted[2] });
      else return undefined;
      i = end + 1;
    } else {
      return undefined;
    }
  }
  return out;
}

/** Every value `path` selects in `obj`, in order; missing keys select nothing. */
export function findJsonPath(obj: unknown, path: string | PathSegment[]): unknown[] {
  const segments = typeof path === "string" ? parseJsonPath(path) : path;
  if (!segments) return [];
  let current: unknown[] = [obj];
  for (const seg of segments) {
    const next: unknown[] = [];
    for (const v of current) {
      if ("field" in seg) {
        if (isObject(v) && Object.hasOwn(v, seg.field)) next.push(v[seg.field]);
      } else if ("index" in seg) {
        if (Array.isArray(v)) {
          const i = seg.index < 0 ? v.length + seg.index : seg.index;
          if (i >= 0 && i < v.length) next.push(v[i]);
        }
      } else if (Array.isArray(v)) {
        next.push(...v);
      } else if (isObject(v)) {
        for (const k of Object.keys(v).sort()) next.push(v[k]);
      }
    }
    current = next;
  }
  return current;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
