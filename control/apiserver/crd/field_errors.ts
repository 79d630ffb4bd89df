/**
 * apimachinery's `field.Error` constructors, rendered exactly as `ErrorBody()` does (the message of
 * a `StatusCause`): bad values as Go prints them (`%q` strings, `%v` numbers and booleans, JSON with
 * sorted keys otherwise). `control/api/status.ts`'s `fieldError` covers the common cases; the
 * schema validators also need `TypeInvalid`, `TooMany` and Go's value rendering.
 *
 * @example
 * ```ts
 * typeInvalid("spec.replicas", "string", 'spec.replicas in body must be of type integer: "string"');
 * // { reason: "FieldValueTypeInvalid", field: "spec.replicas",
 * //   message: 'Invalid value: "string": spec.replicas in body must be of type integer: "string"' }
 * ```
 * @module
 */
import type { StatusCause } from "../../api/status.ts";

/** JSON as Go's `encoding/json` writes it: map keys sorted, `<`, `>` and `&` escaped. */
export function goJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
  return out;
}

/** A bad value as `field.Error.ErrorBody()` renders it. */
export function goValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === undefined) return "null";
  return goJson(value);
}

function cause(reason: string, field: string, body: string, detail: string): StatusCause {
  return { reason, field, message: detail ? `${body}: ${detail}` : body };
}

/** `field.Required`. */
export function required(field: string, detail = ""): StatusCause {
  return cause("FieldValueRequired", field, "Required value", detail);
}

/** `field.Invalid`. */
export function invalid(field: string, value: unknown, detail: string): StatusCause {
  return cause("FieldValueInvalid", field, `Invalid value: ${goValue(value)}`, detail);
}

/** `field.TypeInvalid`: same text as Invalid, its own reason. */
export function typeInvalid(field: string, value: unknown, detail: string): StatusCause {
  return cause("FieldValueTypeInvalid", field, `Invalid value: ${goValue(value)}`, detail);
}

/** `field.NotSupported`: every supported value quoted. */
export function notSupported(field: string, value: unknown, supported: string[]): StatusCause {
  const detail = supported.length
    ? `supported values: ${supported.map((s) => JSON.stringify(s)).join(", ")}`
    : "";
  return cause("FieldValueNotSupported", field, `Unsupported value: ${goValue(value)}`, detail);
}

/** `field.Duplicate`. */
export function duplicate(field: string, value: unknown): StatusCause {
  return cause("FieldValueDuplicate", field, `Duplicate value: ${goValue(value)}`, "");
}

/** `field.Forbidden`. */
export function forbidden(field: string, detail: string): StatusCause {
  return cause("FieldValueForbidden", field, "Forbidden", detail);
}

/** `field.TooLong` (the value is omitted). */
export function tooLong(field: string, max: number): StatusCause {
  const detail = max >= 0
    ? `may not be more than ${max} ${max === 1 ? "byte" : "bytes"}`
    : "value is too long";
  return cause("FieldValueTooLong", field, "Too long", detail);
}

/** `field.TooMany`. */
export function tooMany(field: string, actual: number, max: number): StatusCause {
  const detail = max >= 0 ? `must have at most ${max} ${max === 1 ? "item" : "items"}` : "has too many items";
  return cause("FieldValueTooMany", field, actual >= 0 ? `Too many: ${actual}` : "Too many", detail);
}

/** `field.Path` building: `child(p, "a")` → `p.a`, `key(p, "k")` → `p[k]`, `index(p, 0)` → `p[0]`. */
export function child(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

export function key(path: string, k: string | number): string {
  return `${path}[${k}]`;
}
