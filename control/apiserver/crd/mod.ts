/**
 * CustomResourceDefinitions and custom resources: CRD defaulting and validation, the status the
 * server writes for a CRD, and the registry entries (validation, pruning, defaulting, tables) of
 * the custom resources it defines. Everything here is pure.
 *
 * @example
 * ```ts
 * defaultCrd(crd);
 * const causes = validateCrd(crd, old);
 * crd.status = crdConditions(crd, others, Date.now());
 * const defs = crdResourceDefs(crd);
 * ```
 * @module
 */
export { defaultCrd, validateCrd } from "./validate_crd.ts";
export { crdConditions, isEstablished, storedVersions } from "./crd_status.ts";
export { applyDefaults, pruneUnknown, validateSchema } from "./schema_validate.ts";
export { crdResourceDefs } from "./crd_resource.ts";
export { validateCustomResource } from "./validate_cr.ts";
export type * from "./types.ts";
