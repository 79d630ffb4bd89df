/**
 * Validation of `x-kubernetes-embedded-resource` values inside custom resources (upstream's
 * `objectmeta.Validate`): each embedded object needs a valid `apiVersion` and `kind`, and its
 * `metadata` must be an object whose name is a valid path segment.
 * @module
 */
import type { StatusCause } from "../../api/status.ts";
import { child, invalid, key, required } from "./field_errors.ts";
import { dns1035Label } from "./names.ts";
import type { JSONSchemaProps } from "./types.ts";

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Causes for every embedded resource below `schema` in `x` (the root itself is not embedded). */
export function validateEmbedded(x: unknown, schema: JSONSchemaProps | undefined, path = ""): StatusCause[] {
  if (!schema) return [];
  const errs: StatusCause[] = [];
  if (isObject(x)) {
    if (schema["x-kubernetes-embedded-resource"]) errs.push(...validateResource(x, path));
    const additional = typeof schema.additionalProperties === "object"
      ? schema.additionalProperties
      : undefined;
    for (const [k, v] of Object.entries(x)) {
      const prop = schema.properties && Object.hasOwn(schema.properties, k)
        ? schema.properties[k]
        : undefined;
      if (prop) errs.push(...validateEmbedded(v, prop, child(path, k)));
      else if (additional) errs.push(...validateEmbedded(v, additional, key(path, k)));
    }
  } else if (Array.isArray(x)) {
    const items = schema.items && !Array.isArray(schema.items) ? schema.items : undefined;
    x.forEach((v, i) => errs.push(...validateEmbedded(v, items, key(path, i))));
  }
  return errs;
}

function validateResource(x: Json, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  if (!Object.hasOwn(x, "apiVersion")) errs.push(required(child(path, "apiVersion")));
  if (!Object.hasOwn(x, "kind")) errs.push(required(child(path, "kind")));
  for (const [k, v] of Object.entries(x)) {
    const p = child(path, k);
    if (k === "apiVersion") {
      if (typeof v !== "string") errs.push(invalid(p, v, "must be a string"));
      else if (!v) errs.push(invalid(p, v, "must not be empty"));
      else if (v.split("/").length > 2) errs.push(invalid(p, v, `unexpected GroupVersion string: ${v}`));
    } else if (k === "kind") {
      if (typeof v !== "string") errs.push(invalid(p, v, "must be a string"));
      else if (!v) errs.push(invalid(p, v, "must not be empty"));
      else if (dns1035Label(v.toLowerCase()).length) {
        const why = dns1035Label(v.toLowerCase()).join(",");
        errs.push(invalid(p, v, `may have mixed case, but should otherwise match: ${why}`));
      }
    } else if (k === "metadata") {
      if (!isObject(v)) errs.push(invalid(p, v, "must be an object"));
      else if (typeof v.name === "string" && v.name) errs.push(...pathSegment(child(p, "name"), v.name));
    }
  }
  return errs;
}

function pathSegment(path: string, name: string): StatusCause[] {
  if (name === "." || name === "..") return [invalid(path, name, `may not be '${name}'`)];
  const errs: StatusCause[] = [];
  for (const c of ["/", "%"]) if (name.includes(c)) errs.push(invalid(path, name, `may not contain '${c}'`));
  return errs;
}
