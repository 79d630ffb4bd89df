/**
 * Pruning of custom resources, as apiextensions-apiserver's decoder does it: fields the structural
 * schema does not specify are dropped (unless `x-kubernetes-preserve-unknown-fields`), `apiVersion`,
 * `kind` and `metadata` are kept at the root and in embedded resources, and `null`s of non-nullable
 * fields without a default are removed. The dropped paths (`spec.foo`, `spec.items[0].bar`) are what
 * upstream reports as `strict decoding error: unknown field "spec.foo"`.
 *
 * @example
 * ```ts
 * const obj = { apiVersion: "x.io/v1", kind: "X", metadata: {}, spec: { a: 1, typo: 2 } };
 * pruneUnknown(obj, { type: "object", properties: { spec: { type: "object", properties: { a: { type: "integer" } } } } });
 * // ["spec.typo"]; obj.spec is now { a: 1 }
 * ```
 * @module
 */
import type { JSONSchemaProps } from "./types.ts";

const META_FIELDS = new Set(["apiVersion", "kind", "metadata"]);

type Json = Record<string, unknown>;

/** Options of {@link pruneUnknown}. */
export interface PruneOptions {
  /** Treat `obj` as a resource (keep its apiVersion, kind and metadata). Default true. */
  resourceRoot?: boolean;
  /** Also drop `null`s of non-nullable fields without a default, as the decoder does. Default true. */
  pruneNulls?: boolean;
}

/** Removes, in place, every field `schema` does not specify; returns their paths, sorted. */
export function pruneUnknown(
  obj: unknown,
  schema: JSONSchemaProps | undefined,
  options: PruneOptions = {},
): string[] {
  const { resourceRoot = true } = options;
  const root: JSONSchemaProps | undefined = resourceRoot
    ? { ...(schema ?? {}), "x-kubernetes-embedded-resource": true }
    : schema;
  const paths: string[] = [];
  prune(obj, root, "", paths);
  if (options.pruneNulls ?? true) pruneNulls(obj, schema);
  return paths.sort();
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function keyPath(parent: string, k: string): string {
  return parent ? `${parent}.${k}` : k;
}

/** The schema of a property: declared, else additionalProperties (`true` means "no schema"). */
function fieldSchema(s: JSONSchemaProps, k: string): { found: boolean; schema?: JSONSchemaProps } {
  if (s.properties && Object.hasOwn(s.properties, k)) return { found: true, schema: s.properties[k] };
  if (s.additionalProperties !== undefined && s.additionalProperties !== false) {
    return {
      found: true,
      schema: typeof s.additionalProperties === "object" ? s.additionalProperties : undefined,
    };
  }
  return { found: false };
}

function itemsOf(s: JSONSchemaProps | undefined): JSONSchemaProps | undefined {
  return s?.items && !Array.isArray(s.items) ? s.items : undefined;
}

function prune(x: unknown, s: JSONSchemaProps | undefined, path: string, out: string[]): void {
  if (s?.["x-kubernetes-preserve-unknown-fields"]) return skipPrune(x, s, path, out);
  if (isObject(x)) {
    for (const k of Object.keys(x)) {
      if (!s) {
        out.push(keyPath(path, k));
        delete x[k];
        continue;
      }
      if (s["x-kubernetes-embedded-resource"] && META_FIELDS.has(k)) continue;
      const f = fieldSchema(s, k);
      if (f.found) {
        prune(x[k], f.schema, keyPath(path, k), out);
      } else {
        if (!META_FIELDS.has(k) || path !== "") out.push(keyPath(path, k));
        delete x[k];
      }
    }
  } else if (Array.isArray(x)) {
    x.forEach((v, i) => prune(v, itemsOf(s), `${path}[${i}]`, out));
  }
}

/** Below `x-kubernetes-preserve-unknown-fields`: keep unknown fields, still prune known ones. */
function skipPrune(x: unknown, s: JSONSchemaProps, path: string, out: string[]): void {
  if (isObject(x)) {
    for (const k of Object.keys(x)) {
      if (s["x-kubernetes-embedded-resource"] && META_FIELDS.has(k)) continue;
      const f = fieldSchema(s, k);
      if (f.found) prune(x[k], f.schema, keyPath(path, k), out);
    }
  } else if (Array.isArray(x)) {
    const items = itemsOf(s);
    if (items) x.forEach((v, i) => skipPrune(v, items, `${path}[${i}]`, out));
  }
}

/** `PruneNonNullableNullsWithoutDefaults`. */
function pruneNulls(x: unknown, s: JSONSchemaProps | undefined): void {
  if (isObject(x)) {
    for (const k of Object.keys(x)) {
      const sub = s ? fieldSchema(s, k).schema : undefined;
      if (x[k] === null && sub && !sub.nullable && sub.default === undefined) delete x[k];
      else pruneNulls(x[k], sub);
    }
  } else if (Array.isArray(x)) {
    for (const v of x) pruneNulls(v, itemsOf(s));
  }
}
