/**
 * Converts a message decoded by protobufjs into the JSON object Go's `encoding/json` would print for
 * the same Kubernetes object: JSON names, inline embedded structs, `omitempty` on zero scalars,
 * base64 bytes, and the custom forms of Time, MicroTime, Duration, IntOrString, Quantity,
 * RawExtension and friends (see {@link Representation}).
 *
 * Presence follows the wire: a field absent from the message is absent from the JSON. A scalar
 * that is on the wire is kept unless it is zero and its Go field is a non-pointer with
 * `omitempty` (Go writes those fields always, and JSON drops them when zero), so `replicas: 0`
 * survives and `generation: 0` does not.
 * @module
 */
import { type FieldInfo, fieldInfo, isScalar, type ProtoSchema, type Representation } from "./schema.ts";
import {
  formatGoDuration,
  formatMicroTime,
  formatTime,
  type Int64,
  int64ToBigInt,
  int64ToNumber,
  toBase64,
} from "./well_known.ts";

/** A message as protobufjs decodes it: fields read from the wire are own properties. */
export type DecodedMessage = Record<string, unknown>;

/** Options of {@link messageToJson}. */
export interface ToJsonOptions {
  /** Decodes a `RawExtension` whose bytes are themselves a Kubernetes protobuf object. */
  embedded?: (bytes: Uint8Array) => unknown;
}

/** The 4-byte prefix of a Kubernetes protobuf object. */
export const MAGIC: Uint8Array = new Uint8Array([0x6b, 0x38, 0x73, 0x00]);

/** Whether `bytes` start with the Kubernetes protobuf prefix `k8s\0`. */
export function hasMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && MAGIC.every((b, i) => bytes[i] === b);
}

const infoCache = new WeakMap<ProtoSchema, Map<string, FieldInfo[]>>();

/** The spelled-out fields of a message of `schema` (cached). */
export function fieldsOf(schema: ProtoSchema, type: string): FieldInfo[] {
  let byType = infoCache.get(schema);
  if (!byType) infoCache.set(schema, byType = new Map());
  let infos = byType.get(type);
  if (!infos) {
    const entry = schema.messages[type];
    if (!entry) throw new TypeError(`the protobuf schema has no message ${type}`);
    byType.set(type, infos = entry.f.map(fieldInfo));
  }
  return infos;
}

const INT64 = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);

function isZero(v: unknown): boolean {
  if (v === 0 || v === "" || v === false || v === 0n) return true;
  if (v instanceof Uint8Array) return v.length === 0;
  if (v && typeof v === "object" && "toNumber" in v) return (v as { toNumber(): number }).toNumber() === 0;
  return false;
}

function scalarToJson(type: string, v: unknown): unknown {
  if (INT64.has(type)) return int64ToNumber(v as Int64);
  if (type === "bytes") return toBase64(v as Uint8Array);
  return v;
}

function valueToJson(schema: ProtoSchema, type: string, v: unknown, opts: ToJsonOptions): unknown {
  return isScalar(type) ? scalarToJson(type, v) : messageToJson(schema, type, v as DecodedMessage, opts);
}

function present(msg: DecodedMessage, name: string): boolean {
  return Object.hasOwn(msg, name) && msg[name] !== null && msg[name] !== undefined;
}

function objectToJson(
  schema: ProtoSchema,
  type: string,
  msg: DecodedMessage,
  opts: ToJsonOptions,
  out: Record<string, unknown>,
): Record<string, unknown> {
  for (const f of fieldsOf(schema, type)) {
    const v = msg[f.name];
    if (f.repeated) {
      if (Array.isArray(v) && v.length) out[f.jsonName] = v.map((x) => valueToJson(schema, f.type, x, opts));
    } else if (f.map) {
      const entries = v && typeof v === "object" ? Object.entries(v) : [];
      if (entries.length) {
        out[f.jsonName] = Object.fromEntries(
          entries.map(([k, x]) => [k, valueToJson(schema, f.type, x, opts)]),
        );
      }
    } else if (!present(msg, f.name)) {
      continue;
    } else if (isScalar(f.type)) {
      if (f.keepZero || !isZero(v)) out[f.jsonName] = scalarToJson(f.type, v);
    } else if (f.inline) {
      objectToJson(schema, f.type, v as DecodedMessage, opts, out);
    } else {
      out[f.jsonName] = messageToJson(schema, f.type, v as DecodedMessage, opts);
    }
  }
  return out;
}

function field(schema: ProtoSchema, type: string, name: string): FieldInfo {
  const f = fieldsOf(schema, type).find((x) => x.name === name);
  if (!f) throw new TypeError(`the protobuf schema message ${type} has no field ${name}`);
  return f;
}

function rawToJson(bytes: Uint8Array | undefined, opts: ToJsonOptions): unknown {
  if (!bytes || bytes.length === 0) return null;
  if (hasMagic(bytes)) {
    if (!opts.embedded) throw new TypeError("an embedded protobuf object cannot be decoded here");
    return opts.embedded(bytes);
  }
  const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`embedded raw JSON is not valid JSON: ${(e as Error).message}`);
  }
}

function representationToJson(
  schema: ProtoSchema,
  type: string,
  as: Representation,
  msg: DecodedMessage,
  opts: ToJsonOptions,
): unknown {
  const int = (name: string) => (present(msg, name) ? int64ToNumber(msg[name] as Int64) : 0);
  const list = (name: string) => (Array.isArray(msg[name]) ? msg[name] as unknown[] : []);
  const sub = (name: string) => valueToJson(schema, field(schema, type, name).type, msg[name], opts);
  switch (as) {
    case "time":
      return formatTime(int("seconds"), int("nanos"));
    case "microtime":
      return formatMicroTime(int("seconds"), int("nanos"));
    case "duration":
      return formatGoDuration(present(msg, "duration") ? int64ToBigInt(msg.duration as Int64) : 0n);
    case "intorstring":
      return int("type") === 1 ? (msg.strVal ?? "") : int("intVal");
    case "quantity":
      return present(msg, "string") && msg.string !== "" ? msg.string : "0";
    case "raw":
      return rawToJson(msg[fieldsOf(schema, type)[0].name] as Uint8Array | undefined, opts);
    case "items":
      return list("items").map((x) => scalarToJson(fieldsOf(schema, type)[0].type, x));
    case "schemaOrBool":
      return present(msg, "schema") ? sub("schema") : msg.allows === true;
    case "schemaOrArray": {
      const items = list("jSONSchemas");
      if (items.length) {
        return items.map((x) => valueToJson(schema, field(schema, type, "jSONSchemas").type, x, opts));
      }
      return present(msg, "schema") ? sub("schema") : null;
    }
    case "schemaOrStringArray": {
      const items = list("property");
      if (items.length) return items;
      return present(msg, "schema") ? sub("schema") : null;
    }
  }
}

/**
 * The JSON value of a decoded message of type `type` (a full name in `schema`): an object for
 * ordinary messages, or the custom form of a {@link Representation}.
 */
export function messageToJson(
  schema: ProtoSchema,
  type: string,
  msg: DecodedMessage,
  opts: ToJsonOptions = {},
): unknown {
  const as = schema.messages[type]?.as;
  if (as) return representationToJson(schema, type, as, msg, opts);
  return objectToJson(schema, type, msg, opts, {});
}
