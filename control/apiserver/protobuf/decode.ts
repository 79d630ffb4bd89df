/**
 * Decodes a Kubernetes protobuf request body (`application/vnd.kubernetes.protobuf`) into the JSON
 * object the same request would have carried as `application/json`.
 *
 * The wire form is the 4-byte prefix `k8s\0`, then a `runtime.Unknown` whose `typeMeta` names the
 * apiVersion and kind and whose `raw` holds the object's message. protobufjs reads both, with
 * reflection types built from the derived table `proto_schema.json`; {@link messageToJson} turns
 * the message into JSON.
 *
 * @example
 * ```ts
 * const obj = decodeProtobuf(await Deno.readFile("configmap.pb"));
 * // { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm1", creationTimestamp: null }, data: { a: "b" } }
 * ```
 * @module
 */
import type protobuf from "protobufjs";
import { ApiError, badRequest } from "../../api/status.ts";
import { type ProtoSchema, SCHEMA, schemaRoot, UNKNOWN } from "./schema.ts";
import { type DecodedMessage, hasMagic, messageToJson } from "./to_json.ts";

/** The media type of Kubernetes protobuf bodies. */
export const PROTOBUF_MEDIA_TYPE = "application/vnd.kubernetes.protobuf";

/** Kinds of `meta.k8s.io` that every group version accepts (client-go sends them under its own). */
const META_KINDS = new Set(["DeleteOptions"]);

/** The message full name for an apiVersion and kind, or `undefined` when the table has none. */
export function messageForKind(
  apiVersion: string,
  kind: string,
  schema: ProtoSchema = SCHEMA,
): string | undefined {
  return schema.kinds[`${apiVersion}/${kind}`] ??
    (META_KINDS.has(kind) ? schema.kinds[`meta.k8s.io/v1/${kind}`] : undefined);
}

function decodeMessage(root: protobuf.Root, type: string, bytes: Uint8Array, what: string): DecodedMessage {
  try {
    return root.lookupType(type).decode(bytes) as unknown as DecodedMessage;
  } catch (e) {
    throw badRequest(`the protobuf ${what} is malformed: ${(e as Error).message}`);
  }
}

function decodeEnvelope(bytes: Uint8Array, depth: number): Record<string, unknown> {
  if (depth > 8) throw badRequest("the protobuf body nests embedded objects too deeply");
  if (!hasMagic(bytes)) {
    throw badRequest(
      'the request body is not a Kubernetes protobuf object: it does not start with "k8s\\x00"',
    );
  }
  const root = schemaRoot();
  const unknown = decodeMessage(root, UNKNOWN, bytes.subarray(4), "envelope (runtime.Unknown)");
  const typeMeta = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const apiVersion = typeMeta.apiVersion ?? "";
  const kind = typeMeta.kind ?? "";
  if (!kind) throw badRequest("Object 'Kind' is missing in the protobuf body");
  const encoding = (unknown.contentEncoding as string | undefined) ?? "";
  if (encoding) throw badRequest(`the protobuf body has an unsupported content encoding "${encoding}"`);
  const raw = (unknown.raw as Uint8Array | undefined) ?? new Uint8Array();
  const contentType = ((unknown.contentType as string | undefined) ?? "").split(";")[0].trim();
  if (contentType === "application/json") return embeddedJson(raw, apiVersion, kind);
  if (contentType !== "" && contentType !== PROTOBUF_MEDIA_TYPE) {
    throw badRequest(`the protobuf body embeds an object of unsupported content type "${contentType}"`);
  }
  const type = messageForKind(apiVersion, kind);
  if (!type) {
    throw badRequest(
      `no kind "${kind}" is registered for version "${apiVersion}": ` +
        `send it as application/json (protobuf is decoded for built-in kinds only)`,
    );
  }
  const message = decodeMessage(root, type, raw, `${kind} object`);
  const obj = messageToJson(SCHEMA, type, message, {
    embedded: (inner) => decodeEnvelope(inner, depth + 1),
  }) as Record<string, unknown>;
  return { apiVersion, kind, ...obj };
}

function embeddedJson(raw: Uint8Array, apiVersion: string, kind: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(raw));
  } catch (e) {
    throw badRequest(`the JSON object in the protobuf body is not valid JSON: ${(e as Error).message}`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw badRequest("the JSON object in the protobuf body is not an object");
  }
  return { apiVersion, kind, ...value };
}

/**
 * Decodes a Kubernetes protobuf body into a JSON object with `apiVersion` and `kind` set from the
 * envelope. Any malformed input is an {@link ApiError} 400 (BadRequest); so is a kind the table
 * does not hold (custom resources, for which upstream serves no protobuf either).
 */
export function decodeProtobuf(bytes: Uint8Array): Record<string, unknown> {
  try {
    return decodeEnvelope(bytes, 0);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw badRequest(`the protobuf body could not be decoded: ${(e as Error)?.message ?? String(e)}`);
  }
}
