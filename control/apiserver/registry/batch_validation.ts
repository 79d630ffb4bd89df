/**
 * batch/v1 validation (`pkg/apis/batch/validation`): Job and CronJob specs, the generated Job
 * selector, and the Job update rules.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import { fieldError, type StatusCause } from "../../api/status.ts";
import { clone, deepEqual, type KubeObject } from "../../api/types.ts";
import { goLabelSelector, goStringMap, invalidRepr } from "./causes.ts";
import { cronScheduleError, timeZoneError } from "./cron_schedule.ts";
import { immutableField, nonNegative, validateLabelSelector, validateObjectMeta } from "./metadata.ts";
import { isDNS1123Label, nameIsDNSSubdomain } from "./names.ts";
import { validatePodTemplateSpec } from "./pod_validation.ts";
import { immutableSelector, selectorMatches, selectorMismatch } from "./workload_validation.ts";

type Obj = Record<string, any>;

/** The labels and selector key upstream generates for a Job. */
export const JOB_LABELS = {
  controllerUid: "batch.kubernetes.io/controller-uid",
  legacyControllerUid: "controller-uid",
  jobName: "batch.kubernetes.io/job-name",
  legacyJobName: "job-name",
} as const;

/** The common `validateJobSpec` (no selector), at `path`. */
export function validateJobSpecCommon(spec: Obj, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  for (
    const f of [
      "parallelism",
      "completions",
      "activeDeadlineSeconds",
      "backoffLimit",
      "ttlSecondsAfterFinished",
    ]
  ) {
    errs.push(...nonNegative(spec[f], `${path}.${f}`));
  }
  const mode = spec.completionMode;
  if (mode !== undefined && mode !== null) {
    if (mode !== "NonIndexed" && mode !== "Indexed") {
      errs.push(fieldError.notSupported(`${path}.completionMode`, mode, ["NonIndexed", "Indexed"]));
    }
    if (mode === "Indexed" && (spec.completions === undefined || spec.completions === null)) {
      errs.push(fieldError.required(`${path}.completions`, "when completion mode is Indexed"));
    }
  }
  if (spec.backoffLimitPerIndex != null) {
    errs.push(...nonNegative(spec.backoffLimitPerIndex, `${path}.backoffLimitPerIndex`));
    if (mode !== "Indexed") {
      errs.push(fieldError.forbidden(`${path}.backoffLimitPerIndex`, "requires indexed completion mode"));
    }
  }
  const tp = `${path}.template`;
  errs.push(...validatePodTemplateSpec(spec.template, tp));
  const policy = spec.template?.spec?.restartPolicy ?? "";
  if (policy === "Always" || policy === "") {
    errs.push(fieldError.required(`${tp}.spec.restartPolicy`, 'valid values: "OnFailure", "Never"'));
  } else if (policy !== "OnFailure" && policy !== "Never") {
    errs.push(fieldError.notSupported(`${tp}.spec.restartPolicy`, policy, ["OnFailure", "Never"]));
  } else if (spec.podFailurePolicy && policy !== "Never") {
    errs.push(
      fieldError.invalid(
        `${tp}.spec.restartPolicy`,
        policy,
        'only "Never" is supported when podFailurePolicy is specified',
      ),
    );
  }
  return errs;
}

/** Upstream's `validateGeneratedSelector`: unless `manualSelector`, the selector must be the generated one. */
function validateGeneratedSelector(job: KubeObject): StatusCause[] {
  const spec: Obj = job.spec ?? {};
  if (spec.manualSelector === true) return [];
  const uid = job.metadata?.uid;
  if (!uid) return [fieldError.required("metadata.uid")];
  const labels: Record<string, string> | undefined = spec.template?.metadata?.labels;
  if (!labels) return [];
  const errs: StatusCause[] = [];
  if (labels[JOB_LABELS.controllerUid] !== uid || labels[JOB_LABELS.legacyControllerUid] !== uid) {
    errs.push(invalidRepr("spec.template.metadata", goStringMap(labels), "`selector` not auto-generated"));
  }
  const expected = { [JOB_LABELS.controllerUid]: uid, [JOB_LABELS.legacyControllerUid]: uid };
  if (!spec.selector || selectorMatches(spec.selector, expected) !== "match") {
    errs.push(invalidRepr("spec.selector", goLabelSelector(spec.selector), "`selector` not auto-generated"));
  }
  return errs;
}

function validatePodTemplateUpdate(spec: Obj, old: KubeObject): StatusCause[] {
  const oldSpec: Obj = old.spec ?? {};
  const a = clone(spec.template ?? {});
  const b = clone(oldSpec.template ?? {});
  // A suspended Job that never started may change its scheduling directives and labels.
  if (oldSpec.suspend === true && !old.status?.startTime) {
    for (const t of [a, b]) {
      delete t.metadata?.labels;
      delete t.metadata?.annotations;
      for (const k of ["nodeSelector", "tolerations", "affinity", "schedulingGates"]) delete t.spec?.[k];
    }
  }
  return deepEqual(a, b) ? [] : immutableField(spec.template, oldSpec.template, "spec.template");
}

/** `ValidateJob` and, on update, `ValidateJobSpecUpdate`. */
export function validateJob(job: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(job, { namespaced: true, nameFn: nameIsDNSSubdomain });
  const spec: Obj = job.spec ?? {};
  if (!old) errs.push(...validateGeneratedSelector(job));
  errs.push(...validateJobSpecCommon(spec, "spec"));
  if (!spec.selector) errs.push(fieldError.required("spec.selector"));
  else errs.push(...validateLabelSelector(spec.selector, "spec.selector"));
  if (spec.selector && selectorMatches(spec.selector, spec.template?.metadata?.labels) === "mismatch") {
    errs.push(selectorMismatch(spec.template?.metadata?.labels, "spec.template.metadata.labels"));
  }
  if (spec.completionMode === "Indexed" && spec.completions > 0 && job.metadata?.name) {
    const host = `${job.metadata.name}-${spec.completions - 1}`;
    if (isDNS1123Label(host).length) {
      errs.push(
        fieldError.invalid(
          "metadata.name",
          job.metadata.name,
          `will not able to create pod with invalid DNS label: ${host}`,
        ),
      );
    }
  }
  if (old) {
    const oldSpec: Obj = old.spec ?? {};
    if (spec.completions !== oldSpec.completions) {
      if (spec.completionMode === "Indexed" && oldSpec.completionMode === "Indexed") {
        if (spec.completions !== spec.parallelism) {
          errs.push(
            fieldError.invalid(
              "spec.completions",
              spec.completions ?? null,
              "can only be modified in tandem with spec.parallelism",
            ),
          );
        }
      } else errs.push(...immutableField(spec.completions, oldSpec.completions, "spec.completions"));
    }
    errs.push(...immutableSelector(spec.selector, oldSpec.selector, "spec.selector"));
    errs.push(...validatePodTemplateUpdate(spec, old));
    for (
      const f of [
        "completionMode",
        "podFailurePolicy",
        "backoffLimitPerIndex",
        "managedBy",
        "successPolicy",
        "podReplacementPolicy",
      ]
    ) {
      errs.push(...immutableField(spec[f], oldSpec[f], `spec.${f}`));
    }
  }
  return errs;
}

/** `ValidateCronJobCreate` / `ValidateCronJobUpdate`. */
export function validateCronJob(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
  const spec: Obj = obj.spec ?? {};
  const oldSpec: Obj | undefined = old?.spec;
  if (!spec.schedule) errs.push(fieldError.required("spec.schedule"));
  else {
    const err = cronScheduleError(spec.schedule);
    if (err) errs.push(fieldError.invalid("spec.schedule", spec.schedule, err));
    const allowTZ = String(oldSpec?.schedule ?? "").includes("TZ");
    if (allowTZ && spec.schedule.includes("TZ") && spec.timeZone != null) {
      errs.push(
        fieldError.invalid(
          "spec.schedule",
          spec.schedule,
          "cannot use both timeZone field and TZ or CRON_TZ in schedule",
        ),
      );
    } else if (!allowTZ && spec.schedule.includes("TZ")) {
      errs.push(
        fieldError.invalid(
          "spec.schedule",
          spec.schedule,
          "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
        ),
      );
    }
  }
  errs.push(...nonNegative(spec.startingDeadlineSeconds, "spec.startingDeadlineSeconds"));
  if (spec.timeZone != null && (!oldSpec || oldSpec.timeZone !== spec.timeZone)) {
    const err = timeZoneError(spec.timeZone);
    if (err) errs.push(fieldError.invalid("spec.timeZone", spec.timeZone, err));
  }
  const cp = spec.concurrencyPolicy;
  if (!cp) errs.push(fieldError.required("spec.concurrencyPolicy"));
  else if (!["Allow", "Forbid", "Replace"].includes(cp)) {
    errs.push(fieldError.notSupported("spec.concurrencyPolicy", cp, ["Allow", "Forbid", "Replace"]));
  }
  const jt: Obj = spec.jobTemplate?.spec ?? {};
  errs.push(...validateJobSpecCommon(jt, "spec.jobTemplate.spec"));
  if (jt.selector) {
    errs.push(
      invalidRepr(
        "spec.jobTemplate.spec.selector",
        goLabelSelector(jt.selector),
        "`selector` will be auto-generated",
      ),
    );
  }
  if (jt.manualSelector === true) {
    errs.push(fieldError.notSupported("spec.jobTemplate.spec.manualSelector", true, ["nil", "false"]));
  }
  errs.push(...nonNegative(spec.successfulJobsHistoryLimit, "spec.successfulJobsHistoryLimit"));
  errs.push(...nonNegative(spec.failedJobsHistoryLimit, "spec.failedJobsHistoryLimit"));
  if (!old && (obj.metadata?.name ?? "").length > 52) {
    errs.push(fieldError.invalid("metadata.name", obj.metadata.name, "must be no more than 52 characters"));
  }
  return errs;
}
