/**
 * Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`), which kubectl's
 * typed clients send for `create`, `create token`, `auth can-i` and the like. The API server
 * decodes them into the JSON object the same request would have carried and answers in JSON
 * (client-go picks its decoder from the response Content-Type).
 *
 * @example
 * ```ts
 * import { decodeProtobuf, PROTOBUF_MEDIA_TYPE } from "./protobuf/mod.ts";
 * if (mediaType === PROTOBUF_MEDIA_TYPE) return decodeProtobuf(bytes);
 * ```
 * @module
 */
export { decodeProtobuf, messageForKind, PROTOBUF_MEDIA_TYPE } from "./decode.ts";
export { encodeProtobuf } from "./encode.ts";
