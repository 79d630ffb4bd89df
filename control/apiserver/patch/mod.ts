/**
 * PATCH bodies: RFC 6902 JSON patch, RFC 7386 merge patch and Kubernetes strategic merge patch,
 * with upstream's Statuses for patches that are malformed or do not apply. Server-side apply
 * (`application/apply-patch+yaml`) is not supported yet and is refused with a 415.
 *
 * @example
 * ```ts
 * const next = applyPatch(
 *   "application/strategic-merge-patch+json",
 *   deployment,
 *   { spec: { template: { spec: { containers: [{ name: "web", image: "nginx:1.27" }] } } } },
 *   "V1Deployment",
 * );
 * ```
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import {
  APPLY_PATCH,
  BUILT_IN_PATCH_TYPES,
  CUSTOM_RESOURCE_PATCH_TYPES,
  JSON_PATCH,
  jsonTypeWord,
  malformedPatch,
  MERGE_PATCH,
  STRATEGIC_MERGE_PATCH,
  undecodablePatchResult,
  unsupportedPatchType,
} from "./errors.ts";
import { applyJsonPatch } from "./json_patch.ts";
import { applyMergePatch } from "./merge_patch.ts";
import { mergeMap } from "./strategic_merge.ts";
import { tableSchema } from "./smp_schema.ts";

export {
  APPLY_PATCH,
  BUILT_IN_PATCH_TYPES,
  CUSTOM_RESOURCE_PATCH_TYPES,
  JSON_PATCH,
  MERGE_PATCH,
  patchRejected,
  STRATEGIC_MERGE_PATCH,
  unsupportedPatchType,
} from "./errors.ts";
export { applyJsonPatch } from "./json_patch.ts";
export { applyMergePatch, mergePatch } from "./merge_patch.ts";

/** `application/merge-patch+json; charset=utf-8` → `application/merge-patch+json`, as upstream. */
export function patchMediaType(contentType: string): string {
  const i = contentType.indexOf(";");
  return (i > 0 ? contentType.slice(0, i) : contentType).trim().toLowerCase();
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Applies a strategic merge patch document to a copy of `current`. */
function applyStrategicMergePatch(current: KubeObject, patch: unknown, typeName: string): unknown {
  if (patch === null) return structuredClone(current);
  if (!isObject(patch)) {
    throw malformedPatch(
      `json: cannot unmarshal ${jsonTypeWord(patch)} into Go value of type map[string]interface {}`,
    );
  }
  return mergeMap(
    structuredClone(current),
    structuredClone(patch),
    tableSchema({ kind: "object", name: typeName }),
  );
}

/**
 * Applies a parsed PATCH body to `current` and returns the patched object; `current` and `patch`
 * are left unchanged. `typeName` names the kind in the schema table (`V1Deployment`); without
 * it (custom resources) strategic merge patch is refused as upstream refuses it: a 415 listing
 * the types custom resources take.
 *
 * The result is not validated: the caller prunes unknown fields, defaults and validates it.
 *
 * @throws ApiError 415 for an unsupported patch type; 400 for a malformed patch; 422 for a patch
 * that does not apply (failed `test`, missing path, list of lists) or whose result is not an object.
 */
export function applyPatch(
  contentType: string,
  current: KubeObject,
  patch: unknown,
  typeName?: string,
): KubeObject {
  const type = patchMediaType(contentType);
  const accepted = typeName ? BUILT_IN_PATCH_TYPES : CUSTOM_RESOURCE_PATCH_TYPES;
  let result: unknown;
  switch (type) {
    case JSON_PATCH:
      result = applyJsonPatch(current, patch);
      break;
    case MERGE_PATCH:
      result = applyMergePatch(current, patch);
      break;
    case STRATEGIC_MERGE_PATCH:
      if (!typeName) throw unsupportedPatchType(accepted);
      result = applyStrategicMergePatch(current, patch, typeName);
      break;
    case APPLY_PATCH:
      throw unsupportedPatchType(
        accepted.filter((t) => t !== APPLY_PATCH),
        "; server-side apply (application/apply-patch+yaml) is not supported by this server yet",
      );
    default:
      throw unsupportedPatchType(accepted);
  }
  if (!isObject(result)) {
    throw undecodablePatchResult(
      result,
      `json: cannot unmarshal ${jsonTypeWord(result)} into Go value of type map[string]interface {}`,
    );
  }
  if (!isObject(result.metadata)) result.metadata = {};
  return result as KubeObject;
}
