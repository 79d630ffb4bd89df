/**
 * Structural-schema defaulting of custom resources (apiextensions-apiserver's `defaulting.Default`):
 * a property with a `default` is set when absent, or when it is `null` and not nullable; defaults
 * apply to objects reached through properties, additionalProperties and array items, top-down, so
 * a defaulted object receives its own nested defaults.
 *
 * @example
 * ```ts
 * const obj = { spec: {} };
 * applyDefaults(obj, { type: "object", properties: { spec: { type: "object",
 *   properties: { replicas: { type: "integer", default: 1 } } } } });
 * // obj.spec.replicas === 1
 * ```
 * @module
 */
import type { JSONSchemaProps } from "./types.ts";

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isNonNullableNull(x: unknown, s: JSONSchemaProps | undefined): boolean {
  return x === null && s !== undefined && !s.nullable;
}

/** Fills `default` values from `schema` into `obj`, in place. */
export function applyDefaults(obj: unknown, schema: JSONSchemaProps | undefined): void {
  if (!schema) return;
  if (isObject(obj)) {
    const props = schema.properties ?? {};
    for (const [k, prop] of Object.entries(props)) {
      if (prop.default === undefined) continue;
      if (!Object.hasOwn(obj, k) || isNonNullableNull(obj[k], prop)) obj[k] = structuredClone(prop.default);
    }
    const additional = typeof schema.additionalProperties === "object"
      ? schema.additionalProperties
      : undefined;
    for (const k of Object.keys(obj)) {
      if (Object.hasOwn(props, k)) {
        applyDefaults(obj[k], props[k]);
      } else if (additional) {
        if (isNonNullableNull(obj[k], additional) && additional.default !== undefined) {
          obj[k] = structuredClone(additional.default);
        }
        applyDefaults(obj[k], additional);
      }
    }
  } else if (Array.isArray(obj)) {
    const items = schema.items && !Array.isArray(schema.items) ? schema.items : undefined;
    if (!items) return;
    for (let i = 0; i < obj.length; i++) {
      if (isNonNullableNull(obj[i], items) && items.default !== undefined) {
        obj[i] = structuredClone(items.default);
      }
      applyDefaults(obj[i], items);
    }
  }
}
