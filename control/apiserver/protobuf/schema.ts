/**
 * The protobuf schema table (`proto_schema.json`, made by `generate.ts`) and the protobufjs
 * reflection types built from it.
 *
 * The table holds, for every message the decoder may meet, its fields as
 * `[number, protoName, type, flags?, jsonName?]`:
 *
 * | part       | meaning |
 * |------------|---------|
 * | `type`     | a scalar protobuf type (`string`, `int32`, `bytes`, ...) or a message's full name; prefixed `[` when repeated, `{` for a `map<string, …>` |
 * | flags `z`  | a scalar whose zero value is kept in JSON (a Go pointer, or no `omitempty`) |
 * | flags `i`  | an embedded Go struct: its fields are inlined into the parent's JSON |
 * | `jsonName` | the JSON name, when it differs from the protobuf name (`$ref`, `x-kubernetes-…`) |
 *
 * A message with `as` has a custom JSON form (see {@link Representation}).
 * @module
 */
import protobuf from "protobufjs";
import TABLE from "./proto_schema.json" with { type: "json" };

/** One field: `[number, protoName, type, flags?, jsonName?]`. */
export type FieldEntry = [number, string, string, string?, string?];

/**
 * The JSON form of a message that does not marshal as a plain object:
 * - `time` / `microtime`: RFC 3339 string (seconds / microseconds), `null` when zero;
 * - `duration`: a Go duration string (`1h2m3s`);
 * - `intorstring`: a number or a string;
 * - `quantity`: its canonical string;
 * - `raw`: embedded JSON bytes (`RawExtension`, `FieldsV1`, apiextensions `JSON`);
 * - `items`: a named slice wrapped in a message (`ExtraValue`): its `items` array;
 * - `schemaOrBool` / `schemaOrArray` / `schemaOrStringArray`: the apiextensions unions.
 */
export type Representation =
  | "time"
  | "microtime"
  | "duration"
  | "intorstring"
  | "quantity"
  | "raw"
  | "items"
  | "schemaOrBool"
  | "schemaOrArray"
  | "schemaOrStringArray";

/** One message of the table. */
export interface MessageEntry {
  f: FieldEntry[];
  as?: Representation;
}

/** The whole table. */
export interface ProtoSchema {
  /** Where the table came from (upstream repositories and tags). */
  source: string;
  /** `apps/v1/Deployment` → message full name, for every kind a request body may carry. */
  kinds: Record<string, string>;
  /** client-node model name (as in control/api/schema/types.json) → message full name. */
  models: Record<string, string>;
  /** Message full name → fields. */
  messages: Record<string, MessageEntry>;
}

/** The committed table. */
export const SCHEMA: ProtoSchema = TABLE as unknown as ProtoSchema;

/** The message that wraps every Kubernetes protobuf object. */
export const UNKNOWN = "k8s.io.apimachinery.pkg.runtime.Unknown";

/** The flags and names of a field entry, spelled out. */
export interface FieldInfo {
  number: number;
  name: string;
  jsonName: string;
  /** The base type, without the `[` or `{` prefix. */
  type: string;
  repeated: boolean;
  map: boolean;
  keepZero: boolean;
  inline: boolean;
}

/** Spells out a field entry. */
export function fieldInfo(entry: FieldEntry): FieldInfo {
  const [number, name, code, flags = "", jsonName] = entry;
  const repeated = code.startsWith("[");
  const map = code.startsWith("{");
  return {
    number,
    name,
    jsonName: jsonName ?? name,
    type: repeated || map ? code.slice(1) : code,
    repeated,
    map,
    keepZero: flags.includes("z"),
    inline: flags.includes("i"),
  };
}

const SCALARS = new Set([
  "double",
  "float",
  "int32",
  "int64",
  "uint32",
  "uint64",
  "sint32",
  "sint64",
  "fixed32",
  "fixed64",
  "sfixed32",
  "sfixed64",
  "bool",
  "string",
  "bytes",
]);

/** Whether a field type is a protobuf scalar (not a message). */
export function isScalar(type: string): boolean {
  return SCALARS.has(type);
}

/**
 * Builds protobufjs reflection types for every message of `schema`. Messages are added under
 * their full names, so `root.lookupType(fullName)` finds them.
 */
export function buildRoot(schema: ProtoSchema): protobuf.Root {
  const root = new protobuf.Root();
  for (const [fullName, message] of Object.entries(schema.messages)) {
    const dot = fullName.lastIndexOf(".");
    const type = new protobuf.Type(fullName.slice(dot + 1));
    for (const entry of message.f) {
      const f = fieldInfo(entry);
      const ref = isScalar(f.type) ? f.type : "." + f.type;
      type.add(
        f.map
          ? new protobuf.MapField(f.name, f.number, "string", ref)
          : new protobuf.Field(f.name, f.number, ref, f.repeated ? "repeated" : "optional"),
      );
    }
    root.define(fullName.slice(0, dot)).add(type);
  }
  root.resolveAll();
  return root;
}

let cached: protobuf.Root | undefined;

/** The protobufjs root for the committed table, built once. */
export function schemaRoot(): protobuf.Root {
  return cached ??= buildRoot(SCHEMA);
}
