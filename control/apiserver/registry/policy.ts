/**
 * policy/v1 `poddisruptionbudgets` (+status): upstream's validation
 * (`ValidatePodDisruptionBudgetSpec`) and `printPodDisruptionBudget` table. The disruption
 * controller writes the status; `pods/eviction` reads it (control/apiserver/strategies/pod.ts).
 * @module
 */
import type { ResourceDef } from "../../api/resource.ts";
import { fieldError, type StatusCause } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { validateLabelSelector, validateObjectMeta } from "./metadata.ts";
import { nameIsDNSSubdomain } from "./names.ts";
import { age, ageColumn, column, nameColumn } from "./table.ts";
import { notMoreThan100Percent, validatePositiveIntOrPercent } from "./workload_validation.ts";

const EVICTION_POLICIES = ["IfHealthyBudget", "AlwaysAllow"];

/** `ValidatePodDisruptionBudget`: metadata and spec. */
export function validatePodDisruptionBudget(obj: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
  const spec = obj.spec ?? {};
  if (spec.minAvailable != null && spec.maxUnavailable != null) {
    errs.push(fieldError.invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set"));
  }
  for (const k of ["minAvailable", "maxUnavailable"]) {
    if (spec[k] == null) continue;
    errs.push(...validatePositiveIntOrPercent(spec[k], `spec.${k}`));
    errs.push(...notMoreThan100Percent(spec[k], `spec.${k}`));
  }
  errs.push(...validateLabelSelector(spec.selector, "spec.selector"));
  const policy = spec.unhealthyPodEvictionPolicy;
  if (policy != null && !EVICTION_POLICIES.includes(policy)) {
    errs.push(fieldError.notSupported("spec.unhealthyPodEvictionPolicy", policy, EVICTION_POLICIES));
  }
  return errs;
}

const intOrNA = (v: unknown) => v == null ? "N/A" : String(v);

/** PodDisruptionBudgets. */
export const podDisruptionBudgets: ResourceDef = {
  group: "policy",
  version: "v1",
  kind: "PodDisruptionBudget",
  listKind: "PodDisruptionBudgetList",
  plural: "poddisruptionbudgets",
  singular: "poddisruptionbudget",
  namespaced: true,
  shortNames: ["pdb"],
  subresources: { status: true },
  schema: "V1PodDisruptionBudget",
  generation: true,
  validate: validatePodDisruptionBudget,
  table: {
    columns: [
      nameColumn,
      column("Min Available", "The minimum number of pods that must be available."),
      column("Max Unavailable", "The maximum number of pods that may be unavailable."),
      column("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", {
        type: "integer",
      }),
      ageColumn,
    ],
    cells: (obj, now) => [
      obj.metadata?.name ?? "",
      intOrNA(obj.spec?.minAvailable),
      intOrNA(obj.spec?.maxUnavailable),
      obj.status?.disruptionsAllowed ?? 0,
      age(obj, now),
    ],
  },
};
