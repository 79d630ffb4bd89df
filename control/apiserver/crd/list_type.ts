/**
 * Uniqueness of `x-kubernetes-list-type: set` and `map` lists in custom resources, as
 * apiextensions-apiserver's `listtype.ValidateListSetsAndMaps` checks it after schema validation.
 * @module
 */
import type { StatusCause } from "../../api/status.ts";
import { child, duplicate, goJson, invalid, key } from "./field_errors.ts";
import type { JSONSchemaProps } from "./types.ts";

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Duplicate-entry errors for every set and map list in `obj` (`spec.ports[1]: Duplicate value: ...`). */
export function validateListTypes(
  obj: unknown,
  schema: JSONSchemaProps | undefined,
  path = "",
): StatusCause[] {
  if (!schema || !isObject(obj)) return [];
  const errs: StatusCause[] = [];
  const additional = typeof schema.additionalProperties === "object"
    ? schema.additionalProperties
    : undefined;
  for (const [k, v] of Object.entries(obj)) {
    if (additional) errs.push(...walk(v, additional, key(path, k)));
    const prop = schema.properties?.[k];
    if (prop && Object.hasOwn(schema.properties!, k)) errs.push(...walk(v, prop, child(path, k)));
  }
  return errs;
}

function walk(v: unknown, s: JSONSchemaProps, path: string): StatusCause[] {
  if (Array.isArray(v)) return validateArray(v, s, path);
  if (isObject(v)) return validateListTypes(v, s, path);
  return [];
}

function validateArray(list: unknown[], s: JSONSchemaProps, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const type = s["x-kubernetes-list-type"];
  if (type === "set") {
    for (const i of nonUnique(list)) errs.push(duplicate(key(path, i), list[i]));
  } else if (type === "map") {
    errs.push(...validateListMap(list, s["x-kubernetes-list-map-keys"] ?? [], path));
  }
  const items = s.items && !Array.isArray(s.items) ? s.items : undefined;
  if (items) list.forEach((x, i) => errs.push(...walk(x, items, key(path, i))));
  return errs;
}

/** Indices of the first repetition of each repeated value (upstream reports each value once). */
function nonUnique(list: unknown[]): number[] {
  const seen = new Map<string, number>();
  const out: number[] = [];
  list.forEach((x, i) => {
    const k = typeof x === "object" && x !== null ? `j${goJson(x)}` : `s${typeof x}:${String(x)}`;
    const times = seen.get(k) ?? 0;
    if (times === 1) out.push(i);
    seen.set(k, times + 1);
  });
  return out;
}

function validateListMap(list: unknown[], mapKeys: string[], path: string): StatusCause[] {
  for (let i = 0; i < list.length; i++) {
    if (list[i] !== null && !isObject(list[i])) {
      return [invalid(key(path, i), list[i], "must be an object for an array of list-type map")];
    }
  }
  if (list.length <= 1) return [];
  const UNSPECIFIED = { unspecified: Symbol("unspecified") };
  if (mapKeys.length === 1) {
    const k = mapKeys[0];
    const keys = list.map((x) => isObject(x) && Object.hasOwn(x, k) ? x[k] : UNSPECIFIED);
    const ids = keys.map((v) => v === UNSPECIFIED ? { __unspecified: true } : v);
    return nonUnique(ids).map((i) =>
      duplicate(key(path, i), keys[i] === UNSPECIFIED ? {} : { [k]: keys[i] })
    );
  }
  const keys = list.map((x) => {
    const out: Json = {};
    if (isObject(x)) { for (const k of mapKeys) if (Object.hasOwn(x, k)) out[k] = x[k]; }
    return out;
  });
  return nonUnique(keys).map((i) => duplicate(key(path, i), keys[i]));
}
