/**
 * Encodes a JSON Kubernetes object as a Kubernetes protobuf body (`k8s\0` + `runtime.Unknown`),
 * the inverse of {@link decodeProtobuf}. protobufjs writes the messages, with reflection types
 * from the derived table `proto_schema.json`.
 *
 * Only the fields present in the JSON are written (Go writes every non-pointer field, zero or
 * not; decoders treat an absent field as zero, so both forms decode to the same Go object).
 *
 * @example
 * ```ts
 * const body = encodeProtobuf({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" }, data: { k: "v" } });
 * decodeProtobuf(body); // the same object (with `data`, `metadata` and the type fields)
 * ```
 * @module
 */
import { messageForKind } from "./decode.ts";
import { isScalar, type ProtoSchema, SCHEMA, schemaRoot, UNKNOWN } from "./schema.ts";
import { type DecodedMessage, fieldsOf, MAGIC } from "./to_json.ts";
import { fromBase64, parseGoDuration, parseTime } from "./well_known.ts";

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function expectObject(v: unknown, type: string): Json {
  if (!isObject(v)) throw new TypeError(`expected a JSON object for ${type}, got ${JSON.stringify(v)}`);
  return v;
}

function scalarFromJson(type: string, v: unknown): unknown {
  if (type === "bytes") return fromBase64(String(v));
  return v;
}

function valueFromJson(schema: ProtoSchema, type: string, v: unknown): unknown {
  return isScalar(type) ? scalarFromJson(type, v) : jsonToMessage(schema, type, v);
}

function representationFromJson(schema: ProtoSchema, type: string, v: unknown): DecodedMessage {
  const fields = fieldsOf(schema, type);
  const typeOf = (name: string) => fields.find((f) => f.name === name)!.type;
  switch (schema.messages[type].as!) {
    case "time":
    case "microtime":
      return v === null ? {} : parseTime(String(v));
    case "duration":
      return { duration: parseGoDuration(String(v)).toString() };
    case "intorstring":
      return typeof v === "number" ? { type: 0, intVal: v } : { type: 1, strVal: String(v) };
    case "quantity":
      return { string: String(v) };
    case "raw":
      return v === null ? {} : { [fields[0].name]: new TextEncoder().encode(JSON.stringify(v)) };
    case "items":
      return { items: v };
    case "schemaOrBool":
      return typeof v === "boolean"
        ? { allows: v }
        : { allows: true, schema: jsonToMessage(schema, typeOf("schema"), v) };
    case "schemaOrArray":
      return Array.isArray(v)
        ? { jSONSchemas: v.map((x) => jsonToMessage(schema, typeOf("jSONSchemas"), x)) }
        : { schema: jsonToMessage(schema, typeOf("schema"), v) };
    case "schemaOrStringArray":
      return Array.isArray(v) ? { property: v } : { schema: jsonToMessage(schema, typeOf("schema"), v) };
  }
}

/** Converts the JSON value of a message of type `type` into a plain object protobufjs can encode. */
export function jsonToMessage(schema: ProtoSchema, type: string, value: unknown): DecodedMessage {
  if (schema.messages[type]?.as) return representationFromJson(schema, type, value);
  const json = expectObject(value, type);
  const out: DecodedMessage = {};
  for (const f of fieldsOf(schema, type)) {
    if (f.inline) {
      out[f.name] = jsonToMessage(schema, f.type, json);
      continue;
    }
    const v = json[f.jsonName];
    if (v === undefined) continue;
    if (v === null) {
      // `null` is the JSON of a zero Time or an empty RawExtension: an empty message on the wire.
      if (!f.repeated && !f.map && schema.messages[f.type]?.as) {
        out[f.name] = jsonToMessage(schema, f.type, null);
      }
      continue;
    }
    if (f.repeated) {
      if (!Array.isArray(v)) throw new TypeError(`expected a JSON array for ${type}.${f.jsonName}`);
      out[f.name] = v.map((x) => valueFromJson(schema, f.type, x));
    } else if (f.map) {
      out[f.name] = Object.fromEntries(
        Object.entries(expectObject(v, `${type}.${f.jsonName}`)).map((
          [k, x],
        ) => [k, valueFromJson(schema, f.type, x)]),
      );
    } else {
      out[f.name] = valueFromJson(schema, f.type, v);
    }
  }
  return out;
}

/**
 * Encodes a JSON object with `apiVersion` and `kind` as a Kubernetes protobuf body. Throws a
 * TypeError for a kind the table does not hold or a value of the wrong JSON type.
 */
export function encodeProtobuf(obj: Json): Uint8Array {
  const apiVersion = String(obj.apiVersion ?? "");
  const kind = String(obj.kind ?? "");
  const type = messageForKind(apiVersion, kind);
  if (!type) throw new TypeError(`no protobuf message for ${apiVersion}/${kind}`);
  const root = schemaRoot();
  const raw = root.lookupType(type).encode(jsonToMessage(SCHEMA, type, obj)).finish();
  const envelope = root.lookupType(UNKNOWN).encode({
    typeMeta: { apiVersion, kind },
    raw,
    contentEncoding: "",
    contentType: "",
  }).finish();
  const out = new Uint8Array(MAGIC.length + envelope.length);
  out.set(MAGIC);
  out.set(envelope, MAGIC.length);
  return out;
}
