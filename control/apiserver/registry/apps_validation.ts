/**
 * apps/v1 validation (`pkg/apis/apps/validation`): Deployment, ReplicaSet, DaemonSet,
 * StatefulSet and ControllerRevision, with their update rules.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import { fieldError, type StatusCause } from "../../api/status.ts";
import { clone, deepEqual, type KubeObject } from "../../api/types.ts";
import { invalidRepr } from "./causes.ts";
import {
  immutableField,
  nonNegative,
  validateAnnotations,
  validateLabels,
  validateObjectMeta,
} from "./metadata.ts";
import { nameIsDNSLabel, nameIsDNSSubdomain } from "./names.ts";
import { validatePodSpec, validatePodTemplateSpec } from "./pod_validation.ts";
import {
  goIntOrString,
  immutableSelector,
  intOrPercentValue,
  notMoreThan100Percent,
  templateRestartPolicy,
  unsupportedStrategy,
  validatePositiveIntOrPercent,
  validateWorkloadSelector,
} from "./workload_validation.ts";

type Obj = Record<string, any>;

/** `ValidatePodTemplateSpecForReplicaSet` minus the selector check: template, Always, no deadline. */
function templateForReplicaSet(template: Obj | undefined, path: string, kind: string): StatusCause[] {
  const errs = validatePodTemplateSpec(template, path);
  if (!template) return errs;
  errs.push(...templateRestartPolicy(template, path, ["Always"]));
  if (template.spec?.activeDeadlineSeconds != null) {
    errs.push(
      fieldError.forbidden(
        `${path}.spec.activeDeadlineSeconds`,
        `activeDeadlineSeconds in ${kind} is not Supported`,
      ),
    );
  }
  return errs;
}

function validateDeploymentStrategy(strategy: Obj | undefined, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  switch (strategy?.type) {
    case "Recreate":
      if (strategy.rollingUpdate) {
        errs.push(
          fieldError.forbidden(
            `${path}.rollingUpdate`,
            "may not be specified when strategy `type` is 'Recreate'",
          ),
        );
      }
      break;
    case "RollingUpdate": {
      const ru = strategy.rollingUpdate;
      if (!ru) {
        errs.push(fieldError.required(`${path}.rollingUpdate`, "this should be defaulted and never be nil"));
        break;
      }
      const p = `${path}.rollingUpdate`;
      errs.push(...validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`));
      errs.push(...validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`));
      if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0) {
        errs.push(
          invalidRepr(
            `${p}.maxUnavailable`,
            goIntOrString(ru.maxUnavailable),
            "may not be 0 when `maxSurge` is 0",
          ),
        );
      }
      errs.push(...notMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`));
      break;
    }
    default:
      errs.push(
        unsupportedStrategy(path, strategy, "apps.DeploymentStrategy", "apps.RollingUpdateDeployment", [
          "Recreate",
          "RollingUpdate",
        ]),
      );
  }
  return errs;
}

/** `ValidateDeployment` and, on update, the immutable selector. */
export function validateDeployment(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
  const spec: Obj = obj.spec ?? {};
  errs.push(...nonNegative(spec.replicas, "spec.replicas"));
  if (!spec.selector) {
    errs.push(fieldError.required("spec.selector"));
  } else {
    errs.push(...validateWorkloadSelector(spec, "spec", { kind: "deployment", required: true }));
    errs.push(...templateForReplicaSet(spec.template, "spec.template", "ReplicaSet"));
  }
  errs.push(...validateDeploymentStrategy(spec.strategy, "spec.strategy"));
  errs.push(...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"));
  errs.push(...nonNegative(spec.revisionHistoryLimit, "spec.revisionHistoryLimit"));
  if (typeof spec.progressDeadlineSeconds === "number") {
    errs.push(...nonNegative(spec.progressDeadlineSeconds, "spec.progressDeadlineSeconds"));
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
      errs.push(
        fieldError.invalid(
          "spec.progressDeadlineSeconds",
          spec.progressDeadlineSeconds,
          "must be greater than minReadySeconds",
        ),
      );
    }
  }
  if (old) errs.push(...immutableSelector(spec.selector, old.spec?.selector, "spec.selector"));
  return errs;
}

/** `ValidateReplicaSet` and, on update, the immutable selector. */
export function validateReplicaSet(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
  const spec: Obj = obj.spec ?? {};
  errs.push(...nonNegative(spec.replicas, "spec.replicas"));
  errs.push(...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"));
  errs.push(...validateWorkloadSelector(spec, "spec", { kind: "deployment", required: true }));
  errs.push(...templateForReplicaSet(spec.template, "spec.template", "ReplicaSet"));
  if (old) errs.push(...immutableSelector(spec.selector, old.spec?.selector, "spec.selector"));
  return errs;
}

function validateDaemonSetStrategy(strategy: Obj | undefined, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  switch (strategy?.type) {
    case "OnDelete":
      break;
    case "RollingUpdate": {
      const ru = strategy.rollingUpdate;
      if (!ru) return [fieldError.required(`${path}.rollingUpdate`)];
      const p = `${path}.rollingUpdate`;
      errs.push(...validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`));
      errs.push(...validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`));
      errs.push(...notMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`));
      errs.push(...notMoreThan100Percent(ru.maxSurge, `${p}.maxSurge`));
      const unavailable = intOrPercentValue(ru.maxUnavailable) !== 0;
      const surge = intOrPercentValue(ru.maxSurge) !== 0;
      if (unavailable && surge) {
        errs.push(
          invalidRepr(
            `${p}.maxSurge`,
            goIntOrString(ru.maxSurge),
            "may not be set when maxUnavailable is non-zero",
          ),
        );
      } else if (!unavailable && !surge) {
        errs.push(fieldError.required(`${p}.maxUnavailable`, "cannot be 0 when maxSurge is 0"));
      }
      break;
    }
    default:
      errs.push(
        unsupportedStrategy(path, strategy, "apps.DaemonSetUpdateStrategy", "apps.RollingUpdateDaemonSet", [
          "RollingUpdate",
          "OnDelete",
        ]),
      );
  }
  return errs;
}

/** `ValidateDaemonSet` and, on update, the immutable selector. */
export function validateDaemonSet(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
  const spec: Obj = obj.spec ?? {};
  errs.push(...validateWorkloadSelector(spec, "spec", { kind: "daemonset", required: false }));
  errs.push(...validatePodTemplateSpec(spec.template, "spec.template"));
  errs.push(...templateRestartPolicy(spec.template, "spec.template", ["Always"]));
  if (spec.template?.spec?.activeDeadlineSeconds != null) {
    errs.push(
      fieldError.invalid(
        "spec.template.spec.activeDeadlineSeconds",
        spec.template.spec.activeDeadlineSeconds,
        "activeDeadlineSeconds must be nil for daemon set",
      ),
    );
  }
  errs.push(...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"));
  errs.push(...validateDaemonSetStrategy(spec.updateStrategy, "spec.updateStrategy"));
  errs.push(...nonNegative(spec.revisionHistoryLimit, "spec.revisionHistoryLimit"));
  if (old) errs.push(...immutableSelector(spec.selector, old.spec?.selector, "spec.selector"));
  return errs;
}

/** The spec fields a StatefulSet update may change. */
const STS_MUTABLE = [
  "replicas",
  "ordinals",
  "template",
  "updateStrategy",
  "revisionHistoryLimit",
  "persistentVolumeClaimRetentionPolicy",
  "minReadySeconds",
];

function validateStatefulSetSpec(spec: Obj): StatusCause[] {
  const errs: StatusCause[] = [];
  const pmp = spec.podManagementPolicy;
  if (!pmp) errs.push(fieldError.required("spec.podManagementPolicy"));
  else if (pmp !== "OrderedReady" && pmp !== "Parallel") {
    errs.push(fieldError.invalid("spec.podManagementPolicy", pmp, "must be 'OrderedReady' or 'Parallel'"));
  }
  const us = spec.updateStrategy ?? {};
  switch (us.type) {
    case undefined:
    case "":
      errs.push(fieldError.required("spec.updateStrategy"));
      break;
    case "OnDelete":
      if (us.rollingUpdate) {
        errs.push(
          fieldError.invalid(
            "spec.updateStrategy.rollingUpdate",
            us.rollingUpdate,
            "only allowed for updateStrategy 'RollingUpdate'",
          ),
        );
      }
      break;
    case "RollingUpdate":
      errs.push(...nonNegative(us.rollingUpdate?.partition, "spec.updateStrategy.rollingUpdate.partition"));
      break;
    default:
      errs.push(fieldError.invalid("spec.updateStrategy", us, "must be 'RollingUpdate' or 'OnDelete'"));
  }
  const retention = spec.persistentVolumeClaimRetentionPolicy ?? {};
  for (const k of ["whenDeleted", "whenScaled"]) {
    const v = retention[k];
    if (v !== undefined && v !== "Retain" && v !== "Delete") {
      errs.push(
        fieldError.notSupported(`spec.persistentVolumeClaimRetentionPolicy.${k}`, v, ["Retain", "Delete"]),
      );
    }
  }
  errs.push(...nonNegative(spec.replicas, "spec.replicas"));
  errs.push(...nonNegative(spec.ordinals?.start, "spec.ordinals.start"));
  errs.push(...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"));
  errs.push(...validateWorkloadSelector(spec, "spec", { kind: "statefulset", required: true }));
  const t = spec.template;
  if (!t) errs.push(fieldError.required("spec.template"));
  else {
    errs.push(...validateLabels(t.metadata?.labels, "spec.template.labels"));
    errs.push(...validateAnnotations(t.metadata?.annotations, "spec.template.annotations"));
    const claims = (Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : [])
      .map((c: Obj) => c?.metadata?.name).filter(Boolean);
    errs.push(...validatePodSpec(t.spec, "spec.template.spec", claims));
  }
  errs.push(...templateRestartPolicy(t, "spec.template", ["Always"]));
  if (t?.spec?.activeDeadlineSeconds != null) {
    errs.push(
      fieldError.forbidden(
        "spec.template.spec.activeDeadlineSeconds",
        "activeDeadlineSeconds in StatefulSet is not Supported",
      ),
    );
  }
  return errs;
}

/** `ValidateStatefulSet` (DNS-1123 label names) and `ValidateStatefulSetUpdate`. */
export function validateStatefulSet(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSLabel });
  const spec: Obj = obj.spec ?? {};
  errs.push(...validateStatefulSetSpec(spec));
  if (old) {
    const a = clone(spec);
    const b = clone(old.spec ?? {});
    for (const k of STS_MUTABLE) {
      delete a[k];
      delete b[k];
    }
    if (!deepEqual(a, b)) {
      errs.push(
        fieldError.forbidden(
          "spec",
          `updates to statefulset spec for fields other than ${
            STS_MUTABLE.slice(0, -1).map((f) => `'${f}'`).join(", ")
          } and 'minReadySeconds' are forbidden`,
        ),
      );
    }
  }
  return errs;
}

/** `ValidateControllerRevision` and its update rule (immutable `data`). */
export function validateControllerRevision(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
  if (obj.data == null) errs.push(fieldError.required("data", "data is mandatory"));
  errs.push(...nonNegative(obj.revision, "revision"));
  if (old) errs.push(...immutableField(obj.data, old.data, "data"));
  return errs;
}
