/**
 * The batch/v1 group: jobs and cronjobs, with upstream's defaults (including the selector and
 * labels a Job gets at creation from its uid) and `printJob` / `printCronJob`.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import type { ResourceContext, ResourceDef } from "../../api/resource.ts";
import type { KubeObject } from "../../api/types.ts";
import { JOB_LABELS, validateCronJob, validateJob } from "./batch_validation.ts";
import { humanDuration, since } from "./duration.ts";
import { defaultPodTemplate } from "./pod_defaults.ts";
import {
  age,
  ageColumn,
  column,
  containerCells,
  containersColumns,
  formatLabelSelector,
  nameColumn,
} from "./table.ts";

type Obj = Record<string, any>;

/** What the Job strategy's `generateSelector` adds on create, unless `manualSelector` is true. */
function generateSelector(job: KubeObject): void {
  const spec: Obj = job.spec;
  spec.template ??= {};
  spec.template.metadata ??= {};
  const labels: Record<string, string> = spec.template.metadata.labels ??= {};
  const name = job.metadata?.name ?? "";
  const uid = job.metadata?.uid ?? "";
  for (const k of [JOB_LABELS.legacyJobName, JOB_LABELS.jobName]) if (!(k in labels)) labels[k] = name;
  for (const k of [JOB_LABELS.legacyControllerUid, JOB_LABELS.controllerUid]) {
    if (!(k in labels)) labels[k] = uid;
  }
  spec.selector ??= {};
  spec.selector.matchLabels ??= {};
  if (!(JOB_LABELS.controllerUid in spec.selector.matchLabels)) {
    spec.selector.matchLabels[JOB_LABELS.controllerUid] = uid;
  }
}

/**
 * `SetDefaults_Job`, the generated selector on CREATE, and the copy of the template labels into
 * empty `metadata.labels` that upstream's defaulting performs when the stored object is read back.
 */
export function defaultJob(job: KubeObject, ctx: ResourceContext): void {
  const spec: Obj = job.spec ??= {};
  if (ctx.operation === "CREATE" && spec.manualSelector !== true) generateSelector(job);
  if (spec.completions == null && spec.parallelism == null) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex != null ? 2147483647 : 6;
  const labels = spec.template?.metadata?.labels;
  if (labels && Object.keys(job.metadata.labels ?? {}).length === 0) job.metadata.labels = { ...labels };
  spec.completionMode ??= "NonIndexed";
  spec.suspend ??= false;
  for (const rule of spec.podFailurePolicy?.rules ?? []) {
    for (const p of rule?.onPodConditions ?? []) if (p && !p.status) p.status = "True";
  }
  spec.podReplacementPolicy ??= spec.podFailurePolicy ? "Failed" : "TerminatingOrFailed";
  defaultPodTemplate(spec.template);
  job.status ??= {};
}

function conditionTrue(obj: KubeObject, type: string): boolean {
  const c = (obj.status?.conditions ?? []).find((c: Obj) => c?.type === type);
  return c?.status === "True";
}

/** `printJob`'s Status cell. */
export function jobStatus(job: KubeObject): string {
  if (conditionTrue(job, "Complete")) return "Complete";
  if (conditionTrue(job, "Failed")) return "Failed";
  if (job.metadata?.deletionTimestamp) return "Terminating";
  if (conditionTrue(job, "Suspended")) return "Suspended";
  if (conditionTrue(job, "FailureTarget")) return "FailureTarget";
  return "Running";
}

function jobCompletions(job: KubeObject): string {
  const succeeded = job.status?.succeeded ?? 0;
  if (job.spec?.completions != null) return `${succeeded}/${job.spec.completions}`;
  const parallelism = job.spec?.parallelism ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

function jobDuration(job: KubeObject, now: number): string {
  const start = job.status?.startTime;
  if (!start) return "";
  const done = job.status?.completionTime;
  return done ? humanDuration(Date.parse(done) - Date.parse(start)) : humanDuration(now - Date.parse(start));
}

/** Jobs. */
export const jobs: ResourceDef = {
  group: "batch",
  version: "v1",
  kind: "Job",
  listKind: "JobList",
  plural: "jobs",
  singular: "job",
  namespaced: true,
  categories: ["all"],
  subresources: { status: true },
  schema: "V1Job",
  generation: true,
  defaults: defaultJob,
  validate: validateJob,
  table: {
    columns: [
      nameColumn,
      column("Status", "Status of the job."),
      column("Completions", "The number of pods which reached phase Succeeded."),
      column("Duration", "Time required to complete the job."),
      ageColumn,
      ...containersColumns,
      column("Selector", "A label query over pods that should match the pod count.", { wide: true }),
    ],
    cells(obj, now) {
      const [names, images] = containerCells(obj.spec?.template?.spec?.containers);
      return [
        obj.metadata?.name ?? "",
        jobStatus(obj),
        jobCompletions(obj),
        jobDuration(obj, now),
        age(obj, now),
        names,
        images,
        formatLabelSelector(obj.spec?.selector),
      ];
    },
  },
  fields: (obj) => ({ "status.successful": String(obj.status?.succeeded ?? 0) }),
};

/** `SetDefaults_CronJob` plus the job template's pod spec defaults. */
export function defaultCronJob(obj: KubeObject): void {
  const spec: Obj = obj.spec ??= {};
  spec.concurrencyPolicy ||= "Allow";
  spec.suspend ??= false;
  spec.successfulJobsHistoryLimit ??= 3;
  spec.failedJobsHistoryLimit ??= 1;
  defaultPodTemplate(spec.jobTemplate?.spec?.template);
  obj.status ??= {};
}

/** CronJobs. */
export const cronJobs: ResourceDef = {
  group: "batch",
  version: "v1",
  kind: "CronJob",
  listKind: "CronJobList",
  plural: "cronjobs",
  singular: "cronjob",
  namespaced: true,
  shortNames: ["cj"],
  categories: ["all"],
  subresources: { status: true },
  schema: "V1CronJob",
  generation: true,
  defaults: defaultCronJob,
  validate: validateCronJob,
  table: {
    columns: [
      nameColumn,
      column("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
      column(
        "Timezone",
        "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.",
      ),
      column(
        "Suspend",
        "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.",
        { type: "boolean" },
      ),
      column("Active", "A list of pointers to currently running jobs.", { type: "integer" }),
      column("Last Schedule", "Information when was the last time the job was successfully scheduled."),
      ageColumn,
      ...containersColumns,
      column("Selector", "A label query over pods that should match the pod count.", { wide: true }),
    ],
    cells(obj, now) {
      const jobSpec = obj.spec?.jobTemplate?.spec ?? {};
      const [names, images] = containerCells(jobSpec.template?.spec?.containers);
      const suspend = obj.spec?.suspend;
      return [
        obj.metadata?.name ?? "",
        obj.spec?.schedule ?? "",
        obj.spec?.timeZone ?? "<none>",
        suspend === undefined || suspend === null ? "<unset>" : suspend ? "True" : "False",
        (obj.status?.active ?? []).length,
        obj.status?.lastScheduleTime ? since(obj.status.lastScheduleTime, now) : "<none>",
        age(obj, now),
        names,
        images,
        formatLabelSelector(jobSpec.selector),
      ];
    },
  },
};

/** Every batch/v1 resource. */
export const batchResources: ResourceDef[] = [jobs, cronJobs];
