/**
 * The OpenAPI v2 document at `/openapi/v2`, without definitions, like our v3 documents (see
 * openapi.ts). kubectl 1.32 reads it in one case only: a `kind: List` has no OpenAPI v3 entry, so
 * kubectl falls back to client-side schema validation over v2, and skips every kind the document
 * does not define. The items then reach the server one by one with `fieldValidation`, which
 * validates them as for any other request.
 *
 * kubectl asks for the gnostic protobuf encoding (`openapi.v2.Document`); other clients get JSON.
 * @module
 */
import protobuf from "protobufjs";

/** The gnostic message subset this document uses (field numbers of OpenAPIv2.proto). */
const DOCUMENT = protobuf.Root.fromJSON({
  nested: {
    Info: { fields: { title: { type: "string", id: 1 }, version: { type: "string", id: 2 } } },
    Paths: { fields: {} },
    Definitions: { fields: {} },
    Document: {
      fields: {
        swagger: { type: "string", id: 1 },
        info: { type: "Info", id: 2 },
        paths: { type: "Paths", id: 8 },
        definitions: { type: "Definitions", id: 9 },
      },
    },
  },
}).lookupType("Document");

/** The media types a client asks for the protobuf form with (the first is kubectl's). */
const PROTOBUF_TYPES = [
  "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
  "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
];
/** The type the answer carries, as kube-openapi's: Go's mime parser refuses the `@` form. */
const PROTOBUF_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/** The document as plain data. */
export function openApiV2(version: string) {
  return { swagger: "2.0", info: { title: "Kubernetes", version }, paths: {}, definitions: {} };
}

/** The response to `GET /openapi/v2` for a request's Accept header. */
export function openApiV2Response(accept: string | null, version: string): Response {
  const doc = openApiV2(version);
  const wanted = (accept ?? "").split(",").map((t) => t.split(";")[0].trim());
  if (PROTOBUF_TYPES.some((t) => wanted.includes(t))) {
    const bytes = DOCUMENT.encode(DOCUMENT.fromObject(doc)).finish();
    return new Response(new Uint8Array(bytes), { headers: { "Content-Type": PROTOBUF_CONTENT_TYPE } });
  }
  return Response.json(doc);
}
