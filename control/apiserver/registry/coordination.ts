/**
 * coordination.k8s.io/v1 `leases`.
 * @module
 */
import type { ResourceDef } from "../../api/resource.ts";
import { fieldError, type StatusCause } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { validateObjectMeta } from "./metadata.ts";
import { nameIsDNSSubdomain } from "./names.ts";
import { age, ageColumn, column, nameColumn } from "./table.ts";

/** `ValidateLease`. */
export function validateLease(obj: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
  const spec = obj.spec ?? {};
  if (typeof spec.leaseDurationSeconds === "number" && spec.leaseDurationSeconds <= 0) {
    errs.push(
      fieldError.invalid("spec.leaseDurationSeconds", spec.leaseDurationSeconds, "must be greater than 0"),
    );
  }
  if (typeof spec.leaseTransitions === "number" && spec.leaseTransitions < 0) {
    errs.push(
      fieldError.invalid(
        "spec.leaseTransitions",
        spec.leaseTransitions,
        "must be greater than or equal to 0",
      ),
    );
  }
  if (spec.strategy && spec.strategy !== "OldestEmulationVersion") {
    errs.push(fieldError.notSupported("spec.strategy", spec.strategy, ["OldestEmulationVersion"]));
  }
  if (spec.preferredHolder && !spec.strategy) {
    errs.push(fieldError.forbidden("spec.preferredHolder", "may only be specified if `strategy` is defined"));
  }
  return errs;
}

/** Leases. */
export const leases: ResourceDef = {
  group: "coordination.k8s.io",
  version: "v1",
  kind: "Lease",
  listKind: "LeaseList",
  plural: "leases",
  singular: "lease",
  namespaced: true,
  schema: "V1Lease",
  validate: validateLease,
  table: {
    columns: [
      nameColumn,
      column("Holder", "holderIdentity contains the identity of the holder of a current lease."),
      ageColumn,
    ],
    cells: (obj, now) => [obj.metadata?.name ?? "", obj.spec?.holderIdentity ?? "", age(obj, now)],
  },
};
