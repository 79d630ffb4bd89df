/**
 * Server-side field validation (`fieldValidation=Strict|Warn|Ignore`): unknown fields are removed
 * from the object, and reported as an error in Strict mode (400 on create/update, 422 on patch, as
 * upstream) or as `Warning` headers in Warn mode (the default).
 * @module
 */
import type { ResourceDef } from "../../api/resource.ts";
import { pruneUnknown } from "../../api/schema/mod.ts";
import { strictDecodingError, strictPatchError, unknownFieldWarnings } from "../../api/schema/strict.ts";
import { badRequest } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";

export type FieldValidation = "Strict" | "Warn" | "Ignore";

export function parseFieldValidation(value: string | null): FieldValidation {
  if (value === null || value === "") return "Warn";
  if (value === "Strict" || value === "Warn" || value === "Ignore") return value;
  throw badRequest(`fieldValidation: Unsupported value: "${value}": supported values: "Ignore", "Strict", "Warn"`);
}

/**
 * Prunes unknown fields of `obj` in place. Returns warnings to send (Warn mode); throws in Strict
 * mode with upstream's `strict decoding error` message. `patch` is the patch document, when the
 * object came from a PATCH.
 */
export function validateFields(
  obj: KubeObject,
  def: ResourceDef,
  mode: FieldValidation,
  patch?: { body: unknown },
): string[] {
  const unknown: string[] = def.pruneUnknown ? def.pruneUnknown(obj) : def.schema ? pruneUnknown(obj, def.schema) : [];
  if (!unknown.length || mode === "Ignore") return [];
  if (mode === "Strict") {
    throw patch ? strictPatchError(patch.body, unknown) : strictDecodingError(def.kind, def.version, unknown);
  }
  return unknownFieldWarnings(unknown);
}
