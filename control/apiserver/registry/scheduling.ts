/**
 * scheduling.k8s.io/v1 `priorityclasses`.
 * @module
 */
import type { ResourceDef } from "../../api/resource.ts";
import { fieldError, type StatusCause } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { immutableField, validateObjectMeta } from "./metadata.ts";
import { nameIsDNSSubdomain } from "./names.ts";
import { age, ageColumn, column, nameColumn } from "./table.ts";

/** Upstream's `HighestUserDefinablePriority`. */
export const HIGHEST_USER_DEFINABLE_PRIORITY = 1000000000;

/** The two built-in system priority classes and their values. */
export const SYSTEM_PRIORITY_CLASSES: Record<string, number> = {
  "system-node-critical": 2000001000,
  "system-cluster-critical": 2000000000,
};

function systemClassError(name: string, value: number, globalDefault: boolean): string | undefined {
  const known = SYSTEM_PRIORITY_CLASSES[name];
  if (known === undefined) return `${name} is not a known system priority class`;
  if (value !== known) return `value of ${name} PriorityClass must be ${known}`;
  if (globalDefault) return `globalDefault of ${name} PriorityClass must be false`;
  return undefined;
}

/** `ValidatePriorityClass` and `ValidatePriorityClassUpdate`. */
export function validatePriorityClass(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: false, nameFn: nameIsDNSSubdomain });
  const name = obj.metadata?.name ?? "";
  const value = typeof obj.value === "number" ? obj.value : 0;
  if (name.startsWith("system-")) {
    const err = systemClassError(name, value, obj.globalDefault === true);
    if (err) {
      errs.push(
        fieldError.forbidden(
          "metadata.name",
          `priority class names with 'system-' prefix are reserved for system use only. error: ${err}`,
        ),
      );
    }
  } else if (value > HIGHEST_USER_DEFINABLE_PRIORITY) {
    errs.push(
      fieldError.forbidden(
        "value",
        `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`,
      ),
    );
  }
  if (obj.preemptionPolicy != null && !["Never", "PreemptLowerPriority"].includes(obj.preemptionPolicy)) {
    errs.push(
      fieldError.notSupported("preemptionPolicy", obj.preemptionPolicy, ["PreemptLowerPriority", "Never"]),
    );
  }
  if (old) {
    if (value !== (old.value ?? 0)) {
      errs.push(fieldError.forbidden("value", "may not be changed in an update."));
    }
    errs.push(...immutableField(obj.preemptionPolicy, old.preemptionPolicy, "preemptionPolicy"));
  }
  return errs;
}

/** PriorityClasses. */
export const priorityClasses: ResourceDef = {
  group: "scheduling.k8s.io",
  version: "v1",
  kind: "PriorityClass",
  listKind: "PriorityClassList",
  plural: "priorityclasses",
  singular: "priorityclass",
  namespaced: false,
  shortNames: ["pc"],
  schema: "V1PriorityClass",
  defaults(obj) {
    obj.preemptionPolicy ??= "PreemptLowerPriority";
  },
  validate: validatePriorityClass,
  table: {
    columns: [
      nameColumn,
      column("Value", "value represents the integer value of this priority class.", { type: "integer" }),
      column(
        "Global-Default",
        "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class.",
        { type: "boolean" },
      ),
      ageColumn,
      column("PreemptionPolicy", "preemptionPolicy is the Policy for preempting pods with lower priority."),
    ],
    cells: (obj, now) => [
      obj.metadata?.name ?? "",
      obj.value ?? 0,
      obj.globalDefault === true,
      age(obj, now),
      obj.preemptionPolicy ?? "",
    ],
  },
};
