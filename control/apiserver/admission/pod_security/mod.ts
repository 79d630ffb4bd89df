/**
 * Pod Security admission: the Pod Security Standards (privileged, baseline, restricted) enforced,
 * audited and warned per namespace by its `pod-security.kubernetes.io/*` labels, as upstream's
 * built-in PodSecurity plugin.
 *
 * @example
 * ```ts
 * import { evaluatePod, forbiddenDetail } from "./control/apiserver/admission/pod_security/mod.ts";
 * const violations = evaluatePod({ level: "restricted", version: { latest: true } }, {}, {
 *   containers: [{ name: "c", securityContext: { privileged: true } }],
 * });
 * forbiddenDetail(violations); // 'privileged (container "c" must not set securityContext.privileged=true), ...'
 * ```
 * @module
 */
export {
  defaultPolicy,
  isSignificantPodUpdate,
  podSecurity,
  type PodSecurityOptions,
  type PodSecurityReaders,
} from "./admission.ts";
export { checksFor, evaluatePod, forbiddenDetail, forbiddenReason, WASM_CHECKS } from "./evaluate.ts";
export type { Violation } from "./baseline.ts";
export * from "./policy.ts";
