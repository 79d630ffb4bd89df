/**
 * The schema table: the structure of every built-in type the API server serves, loaded from the
 * generated `types.json` (see `generate.ts` for the compact type codes).
 * @module
 */
import data from "./types.json" with { type: "json" };

/** The type of one field, decoded from the table's compact code. */
export type FieldType =
  | { kind: "string" | "bytes" | "integer" | "number" | "boolean" | "date-time" | "int-or-string" | "any" }
  | { kind: "array"; items: FieldType }
  | { kind: "map"; values: FieldType }
  | { kind: "object"; name: string };

/** The fields of one named type, by wire name. */
export type TypeFields = Readonly<Record<string, FieldType>>;

const RAW: Record<string, Record<string, string>> = data.types;

const SCALARS: Record<string, FieldType> = {
  s: { kind: "string" },
  y: { kind: "bytes" },
  i: { kind: "integer" },
  n: { kind: "number" },
  b: { kind: "boolean" },
  t: { kind: "date-time" },
  u: { kind: "int-or-string" },
  "*": { kind: "any" },
};

/** Decodes one compact type code (`[V1Container`, `{s`, `i`, ...). */
export function parseType(code: string): FieldType {
  if (code.startsWith("[")) return { kind: "array", items: parseType(code.slice(1)) };
  if (code.startsWith("{")) return { kind: "map", values: parseType(code.slice(1)) };
  const scalar = SCALARS[code];
  if (scalar) return scalar;
  if (!(code in RAW)) throw new Error(`schema table: unknown type ${code}`);
  return { kind: "object", name: code };
}

const parsed = new Map<string, TypeFields>();

/**
 * The fields of a named type, or `undefined` if the table has no such type.
 *
 * @example
 * ```ts
 * typeOf("V1Container")?.image; // { kind: "string" }
 * ```
 */
export function typeOf(name: string): TypeFields | undefined {
  const hit = parsed.get(name);
  if (hit) return hit;
  const raw = Object.hasOwn(RAW, name) ? RAW[name] : undefined;
  if (!raw) return undefined;
  const fields: Record<string, FieldType> = Object.create(null);
  for (const [field, code] of Object.entries(raw)) fields[field] = parseType(code);
  Object.freeze(fields);
  parsed.set(name, fields);
  return fields;
}

/** The type of `field` in the named type, or `undefined` when either is unknown. */
export function fieldType(typeName: string, field: string): FieldType | undefined {
  const fields = typeOf(typeName);
  return fields && Object.hasOwn(fields, field) ? fields[field] : undefined;
}

/** Every type name in the table, sorted. */
export function typeNames(): string[] {
  return Object.keys(RAW);
}

/** Where the table was generated from (client-node and OpenAPI versions). */
export const SOURCE: string = data.source;

/**
 * The Go struct name upstream uses in messages for a table type: `V1PodSpec` → `PodSpec`,
 * `CoreV1Event` → `Event`, `AuthenticationV1TokenRequest` → `TokenRequest`.
 */
export function goName(typeName: string): string {
  return typeName.replace(/^(?:[A-Z][a-z]+)*V\d+(?:alpha\d+|beta\d+)?(?=[A-Z])/, "");
}
