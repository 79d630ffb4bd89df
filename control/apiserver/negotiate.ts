/**
 * Content negotiation: request bodies in JSON, YAML or CBOR; responses in JSON, YAML or CBOR, as a
 * full object, a `meta.k8s.io/v1` Table, or PartialObjectMetadata.
 * @module
 */
import { Decoder, Encoder } from "cbor-x/encode";
import YAML from "yaml";
import { ApiError, badRequest, notAcceptable, unsupportedMediaType } from "../api/status.ts";
import { decodeProtobuf, PROTOBUF_MEDIA_TYPE } from "./protobuf/mod.ts";

export type Encoding = "json" | "yaml" | "cbor";
export type Shape = "object" | "table" | "metadata";

export interface ResponseFormat {
  encoding: Encoding;
  shape: Shape;
}

interface MediaRange {
  type: string;
  params: Record<string, string>;
}

function parseMediaRanges(header: string): MediaRange[] {
  return header.split(",").map((part) => {
    const [type, ...params] = part.split(";").map((s) => s.trim());
    const p: Record<string, string> = {};
    for (const kv of params) {
      const i = kv.indexOf("=");
      if (i > 0) p[kv.slice(0, i).trim()] = kv.slice(i + 1).trim().replace(/^"|"$/g, "");
    }
    return { type: type.toLowerCase(), params: p };
  }).filter((m) => m.type);
}

const ENCODINGS: Record<string, Encoding> = {
  "application/json": "json",
  "application/yaml": "yaml",
  "application/cbor": "cbor",
  "application/vnd.kubernetes.protobuf": "json", // never chosen: listed so it is skipped, not refused
  "*/*": "json",
  "application/*": "json",
};

/**
 * Chooses the response format from an Accept header, honouring kubectl's
 * `as=Table;v=v1;g=meta.k8s.io` and `as=PartialObjectMetadata(List)` parameters.
 */
export function negotiate(accept: string | null | undefined, allowTable: boolean): ResponseFormat {
  if (!accept) return JSON_OBJECT;
  // Clients send the same few Accept headers on every request: parse each once.
  const memo = allowTable ? negotiatedTable : negotiatedNoTable;
  let format = memo.get(accept);
  if (!format) {
    format = Object.freeze(choose(accept, allowTable));
    if (memo.size >= NEGOTIATED_MAX) memo.delete(memo.keys().next().value!);
    memo.set(accept, format);
  }
  return format;
}

const JSON_OBJECT: ResponseFormat = Object.freeze({ encoding: "json", shape: "object" });
/** Accept headers remembered per table flag; the oldest is forgotten past this many. */
const NEGOTIATED_MAX = 256;
const negotiatedTable = new Map<string, ResponseFormat>();
const negotiatedNoTable = new Map<string, ResponseFormat>();

function choose(accept: string, allowTable: boolean): ResponseFormat {
  const ranges = parseMediaRanges(accept);
  for (const r of ranges) {
    if (r.type === "application/vnd.kubernetes.protobuf") continue;
    const encoding = ENCODINGS[r.type];
    if (!encoding) continue;
    const as = r.params.as;
    if (!as) return { encoding, shape: "object" };
    const g = r.params.g;
    const v = r.params.v;
    if (g !== "meta.k8s.io" || (v !== "v1" && v !== "v1beta1")) continue;
    if (as === "Table" && allowTable) return { encoding, shape: "table" };
    if (as === "PartialObjectMetadata" || as === "PartialObjectMetadataList") return { encoding, shape: "metadata" };
  }
  throw notAcceptable(`only the following media types are accepted: application/json, application/yaml, application/cbor`);
}

const cborEncoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const cborDecoder = new Decoder({ useRecords: false, mapsAsObjects: true });

/** The media type of a request body, without parameters. */
export function bodyMediaType(contentType: string | null | undefined): string {
  return (contentType ?? "").split(";")[0].trim().toLowerCase();
}

/**
 * Decodes a create/update body. Patch bodies are decoded by {@link decodePatchBody}. With
 * `protobuf: false` (a kind without a protobuf message, as custom resources), a protobuf body is
 * 415 UnsupportedMediaType, as upstream answers for custom resources.
 */
export function decodeBody(
  contentType: string | null | undefined,
  bytes: Uint8Array,
  opts: { protobuf?: boolean } = {},
): unknown {
  const type = bodyMediaType(contentType) || "application/json";
  if (type === PROTOBUF_MEDIA_TYPE && opts.protobuf === false) {
    throw new ApiError({
      code: 415,
      reason: "UnsupportedMediaType",
      message: "the body of the request was in an unknown format - accepted media types include: " +
        "application/json, application/yaml, application/cbor (this kind has no protobuf encoding)",
    });
  }
  if (bytes.length === 0) throw badRequest("the request body is empty; send the object to write");
  switch (type) {
    case "application/json":
      return parseJson(bytes);
    case "application/yaml":
    case "application/x-yaml":
    case "text/yaml":
      return parseYaml(bytes);
    case "application/cbor":
      return parseCbor(bytes);
    case PROTOBUF_MEDIA_TYPE:
      return decodeProtobuf(bytes);
    default:
      throw unsupportedMediaType(type);
  }
}

const utf8Decoder = new TextDecoder();

export function parseJson(bytes: Uint8Array): unknown {
  const text = utf8Decoder.decode(bytes);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`the request body is not valid JSON: ${(e as Error).message}`);
  }
}

function parseYaml(bytes: Uint8Array): unknown {
  try {
    const docs = YAML.parseAllDocuments(new TextDecoder().decode(bytes));
    if (docs.length !== 1) throw new Error(`expected one YAML document, got ${docs.length}`);
    const doc = docs[0];
    if (doc.errors.length) throw doc.errors[0];
    return doc.toJS();
  } catch (e) {
    throw badRequest(`the request body is not valid YAML: ${(e as Error).message.split("\n")[0]}`);
  }
}

function parseCbor(bytes: Uint8Array): unknown {
  try {
    let value = cborDecoder.decode(bytes);
    // Kubernetes prefixes CBOR with the self-described tag 55799; cbor-x returns the tagged value.
    if (value && typeof value === "object" && "tag" in value && (value as { tag: number }).tag === 55799) {
      value = (value as { value: unknown }).value;
    }
    return value;
  } catch (e) {
    throw badRequest(`the request body is not valid CBOR: ${(e as Error).message}`);
  }
}

/** Serializes a response body; returns the bytes and the Content-Type. */
export function encodeBody(value: unknown, encoding: Encoding): { body: Uint8Array | string; contentType: string } {
  switch (encoding) {
    case "json":
      return { body: JSON.stringify(value), contentType: "application/json" };
    case "yaml":
      return { body: YAML.stringify(value), contentType: "application/yaml" };
    case "cbor":
      return { body: new Uint8Array(cborEncoder.encode(value)), contentType: "application/cbor" };
  }
}

/** One watch event frame: JSON lines, or a CBOR sequence item. */
export function encodeFrame(value: unknown, encoding: Encoding): Uint8Array {
  if (encoding === "cbor") return new Uint8Array(cborEncoder.encode(value));
  return new TextEncoder().encode(JSON.stringify(value) + "\n");
}

export function watchContentType(encoding: Encoding): string {
  return encoding === "cbor" ? "application/cbor-seq" : "application/json";
}
