/**
 * Upstream's messages for unknown fields (KEP-2885 server-side field validation), built from the
 * paths {@link pruneUnknown} returns.
 *
 * - create and update, `fieldValidation=Strict`: 400 BadRequest
 *   `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo"`
 *   (apiserver `handlers/create.go`, `transformDecodeError`);
 * - patch, `fieldValidation=Strict`: 422 Invalid
 *   ` "" is invalid: patch: Invalid value: "{…}": strict decoding error: unknown field "spec.foo"`
 *   (apiserver `handlers/patch.go`);
 * - `fieldValidation=Warn`: one `Warning` header per field, `unknown field "spec.foo"`.
 *
 * Paths may be given with or without a leading dot; upstream prints them without.
 * @module
 */
import { ApiError, badRequest, fieldError, invalid } from "../status.ts";

/** `unknown field "spec.foo"`: one strict decoding error, also the text of a Warn-mode warning. */
export function unknownFieldMessage(path: string): string {
  return `unknown field "${path.replace(/^\./, "")}"`;
}

/** `strict decoding error: unknown field "a", unknown field "b"`. */
export function strictDecodingMessage(paths: readonly string[]): string {
  return `strict decoding error: ${paths.map(unknownFieldMessage).join(", ")}`;
}

/**
 * The 400 a create or update with `fieldValidation=Strict` gets for unknown fields.
 *
 * @example
 * ```ts
 * throw strictDecodingError("Deployment", "v1", ["spec.foo"]);
 * // Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo"
 * ```
 */
export function strictDecodingError(kind: string, version: string, paths: readonly string[]): ApiError {
  return badRequest(
    `${kind} in version "${version}" cannot be handled as a ${kind}: ${strictDecodingMessage(paths)}`,
  );
}

/**
 * The 422 a patch with `fieldValidation=Strict` gets when the patched object has unknown fields.
 * Upstream quotes the patched object (JSON and merge patch) or the patch map (strategic merge
 * patch) as the invalid value; `value` is what to quote.
 */
export function strictPatchError(value: unknown, paths: readonly string[]): ApiError {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return invalid("", "", "", [fieldError.invalid("patch", text, strictDecodingMessage(paths))]);
}

/** The `Warning` header texts for Warn mode, one per unknown field. */
export function unknownFieldWarnings(paths: readonly string[]): string[] {
  return paths.map(unknownFieldMessage);
}

/** Whether an error is one of the strict-decoding errors above. */
export function isStrictDecodingError(e: unknown): e is ApiError {
  return e instanceof ApiError && (e.status.message ?? "").includes("strict decoding error: ");
}
