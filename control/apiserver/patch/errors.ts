/**
 * The Statuses a PATCH fails with, as kube-apiserver builds them (`handlers/patch.go`).
 * @module
 */
import { ApiError, badRequest, fieldError, invalid } from "../../api/status.ts";

/** RFC 6902 JSON patch. */
export const JSON_PATCH = "application/json-patch+json";
/** RFC 7386 JSON merge patch. */
export const MERGE_PATCH = "application/merge-patch+json";
/** Kubernetes strategic merge patch. */
export const STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json";
/** Server-side apply (not supported yet). */
export const APPLY_PATCH = "application/apply-patch+yaml";

/** What upstream accepts on PATCH of a built-in kind, in its order. */
export const BUILT_IN_PATCH_TYPES: readonly string[] = [
  JSON_PATCH,
  MERGE_PATCH,
  STRATEGIC_MERGE_PATCH,
  APPLY_PATCH,
];
/** What upstream accepts on PATCH of a custom resource: no strategic merge patch. */
export const CUSTOM_RESOURCE_PATCH_TYPES: readonly string[] = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH];

/**
 * 415 for a patch type the endpoint does not take, with upstream's message
 * (`negotiation.NewUnsupportedMediaTypeError`).
 */
export function unsupportedPatchType(accepted: readonly string[], note = ""): ApiError {
  return new ApiError({
    code: 415,
    reason: "UnsupportedMediaType",
    message: `the body of the request was in an unknown format - accepted media types include: ${
      accepted.join(", ")
    }${note}`,
  });
}

/**
 * 422 for a patch that does not apply (a failed JSON patch `test`, a missing path, a list of
 * lists): upstream's `NewGenericServerResponse(422, ...)`, whose message is generic and whose only
 * cause carries the patch library's error.
 */
export function patchRejected(serverMessage: string): ApiError {
  return new ApiError({
    code: 422,
    reason: "Invalid",
    message: "the server rejected our request due to an error in our request",
    details: { causes: [{ reason: "UnexpectedServerResponse", message: serverMessage }] },
  });
}

/** 400 for a malformed patch document, with the patch library's message. */
export function malformedPatch(message: string): ApiError {
  return badRequest(message);
}

/**
 * 422 when the patched document is not an object of the kind (upstream fails to decode it:
 * ` "" is invalid: patch: Invalid value: "…": …`).
 */
export function undecodablePatchResult(patched: unknown, detail: string): ApiError {
  return invalid("", "", "", [fieldError.invalid("patch", JSON.stringify(patched), detail)]);
}

/** The JSON type word Go's decoder uses in `cannot unmarshal X into ...` errors. */
export function jsonTypeWord(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (value === null) return "null";
  switch (typeof value) {
    case "object":
      return "object";
    case "boolean":
      return "bool";
    default:
      return typeof value;
  }
}
