/**
 * The schema table of the built-in kinds: field structure (for strict field validation and
 * pruning), strategic-merge-patch metadata, and upstream's unknown-field messages.
 *
 * @example
 * ```ts
 * import { patchMeta, pruneUnknown } from "./mod.ts";
 * patchMeta("V1PodSpec", "containers"); // { strategy: "merge", mergeKey: "name", ... }
 * pruneUnknown(deployment, "V1Deployment"); // ["spec.replica"]
 * ```
 * @module
 */
import { ATOMIC_STRUCTS, PATCH_META, type PatchMeta } from "./patch_meta.ts";

export {
  type FieldType,
  fieldType,
  goName,
  parseType,
  SOURCE,
  type TypeFields,
  typeNames,
  typeOf,
} from "./table.ts";
export { pruneUnknown, unknownFields } from "./prune.ts";
export {
  isStrictDecodingError,
  strictDecodingError,
  strictDecodingMessage,
  strictPatchError,
  unknownFieldMessage,
  unknownFieldWarnings,
} from "./strict.ts";
export type { PatchMeta };

const NONE: PatchMeta = Object.freeze({});

/**
 * The patch and list/map-type metadata of `typeName.field`; `{}` when upstream declares none
 * (maps merge, lists are replaced).
 */
export function patchMeta(typeName: string, field: string): PatchMeta {
  const key = `${typeName}.${field}`;
  return Object.hasOwn(PATCH_META, key) ? PATCH_META[key] : NONE;
}

/** Whether the type is `+structType=atomic` upstream (replaced whole by server-side apply). */
export function isAtomicStruct(typeName: string): boolean {
  return ATOMIC_STRUCTS.has(typeName);
}
