/**
 * Reads the JSON facts of Kubernetes API types from their Go source: which Go field carries which
 * protobuf field number, its JSON name, `omitempty`, whether it is a pointer, and whether it is
 * embedded inline. The `.proto` files do not say any of this, and the decoder needs it to give the
 * JSON a request would have carried (a non-pointer `int32` with `omitempty` is always on the wire,
 * but absent from JSON when zero; an embedded struct is its own message on the wire, but its fields
 * sit in the parent in JSON).
 *
 * Used only by `generate.ts`. The parser handles the single-line field declarations that Kubernetes'
 * `types.go` files use (`Name Type \`json:"..." protobuf:"..."\``).
 *
 * @example
 * ```ts
 * const structs = parseGoStructs('type A struct {\n\tX *int32 `json:"x,omitempty" protobuf:"varint,1,opt,name=x"`\n}\n');
 * structs.get("A")!.fields[0]; // { number: 1, protoName: "x", jsonName: "x", pointer: true, omitEmpty: true, inline: false }
 * ```
 * @module
 */

/** One Go struct field that has a protobuf tag. */
export interface GoField {
  /** The Go field name (the type name for an embedded field). */
  goName: string;
  /** The Go type as written (`*int32`, `[]Container`, `metav1.ObjectMeta`). */
  goType: string;
  /** The protobuf field number. */
  number: number;
  /** The `name=` of the protobuf tag. */
  protoName: string;
  /** The JSON name; empty for an inline field. */
  jsonName: string;
  /** The field is a Go pointer. */
  pointer: boolean;
  /** The JSON tag has `omitempty`. */
  omitEmpty: boolean;
  /** The field is embedded and its fields are inlined into the parent's JSON. */
  inline: boolean;
}

/** One Go struct of an API package. */
export interface GoStruct {
  name: string;
  fields: GoField[];
  /** The struct embeds `TypeMeta` inline: it is a kind (carries apiVersion/kind in JSON). */
  hasTypeMeta: boolean;
}

const STRUCT_START = /^type\s+(\w+)\s+struct\s*\{\s*$/;
const EMPTY_STRUCT = /^type\s+(\w+)\s+struct\s*\{\s*\}\s*$/;
const FIELD = /^\s*(?:(\w+)\s+)?([^\s`]+)\s+`([^`]*)`/;

/** Reads one `key:"value"` entry of a Go struct tag. */
export function tagValue(tag: string, key: string): string | undefined {
  const m = new RegExp(`(?:^|\\s)${key}:"([^"]*)"`).exec(tag);
  return m?.[1];
}

/** Parses one field declaration line; `undefined` when it has no protobuf tag or `protobuf:"-"`. */
export function parseGoField(line: string): GoField | undefined {
  const m = FIELD.exec(line);
  if (!m) return undefined;
  const [, name, goType, tag] = m;
  const proto = tagValue(tag, "protobuf");
  if (proto === undefined || proto === "-") return undefined;
  const parts = proto.split(",");
  const number = Number(parts[1]);
  if (!Number.isInteger(number)) throw new Error(`unreadable protobuf tag in: ${line.trim()}`);
  const json = tagValue(tag, "json") ?? "";
  const [jsonName, ...opts] = json.split(",");
  const embedded = name === undefined;
  const goName = name ?? goType.replace(/^\*/, "").replace(/^\w+\./, "");
  // Without `name=`, go-to-protobuf names the field after the Go field, first letter lowered.
  const protoName = parts.find((p) => p.startsWith("name="))?.slice(5) ??
    goName[0].toLowerCase() + goName.slice(1);
  return {
    goName,
    goType,
    number,
    protoName,
    jsonName,
    pointer: goType.startsWith("*"),
    omitEmpty: opts.includes("omitempty"),
    inline: embedded && jsonName === "",
  };
}

/** Parses every struct of a Go source file, keeping the fields that have protobuf tags. */
export function parseGoStructs(source: string): Map<string, GoStruct> {
  const out = new Map<string, GoStruct>();
  let current: GoStruct | undefined;
  for (const line of source.split("\n")) {
    if (!current) {
      const empty = EMPTY_STRUCT.exec(line);
      if (empty) out.set(empty[1], { name: empty[1], fields: [], hasTypeMeta: false });
      const start = STRUCT_START.exec(line);
      if (start) current = { name: start[1], fields: [], hasTypeMeta: false };
      continue;
    }
    if (line.startsWith("}")) {
      out.set(current.name, current);
      current = undefined;
      continue;
    }
    const code = line.replace(/^\s*\/\/.*$/, "");
    if (/^\s*(metav1\.|v1\.)?TypeMeta\s+`json:",inline"`/.test(code)) current.hasTypeMeta = true;
    const field = parseGoField(code);
    if (field) current.fields.push(field);
  }
  return out;
}
