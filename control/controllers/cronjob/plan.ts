/**
 * The CronJob controller's decisions, pure (upstream `cronjob_controllerv2.go#syncCronJob`,
 * `getJobFromTemplate2`, `cleanupFinishedJobs`): how the active list follows the Jobs, whether
 * to start a Job now (deadline, concurrency policy, already started), the Job to create, and
 * which finished Jobs fall out of the history limits.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { controllerRef } from "../workload/ownership.ts";
import type { Schedule } from "../../api/cron/cron.ts";
import { nextScheduleDelay, nextScheduleTime } from "./schedule.ts";
import { offsetAt, wallClock } from "../../api/cron/time_zone.ts";

/** Upstream `batchv1.CronJobScheduledTimestampAnnotation`. */
export const SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/** An event to record on the CronJob. */
export interface CronEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

function conditionTrue(job: KubeObject, type: string): boolean {
  return ((job.status?.conditions ?? []) as { type: string; status: string }[]).some((c) =>
    c.type === type && c.status === "True"
  );
}

/** Upstream `getFinishedStatus`: "Complete" or "Failed" for a finished Job. */
export function finishedType(job: KubeObject): "Complete" | "Failed" | undefined {
  if (conditionTrue(job, "Complete")) return "Complete";
  if (conditionTrue(job, "Failed")) return "Failed";
  return undefined;
}

/** Upstream `getJobName`: `<cronjob>-<scheduled time in minutes since the epoch>`. */
export function jobName(cj: KubeObject, scheduledTime: number): string {
  return `${cj.metadata.name}-${Math.floor(scheduledTime / 60_000)}`;
}

/** Go's `time.RFC3339` format of an instant in a zone (`Z` for UTC offsets of zero). */
export function rfc3339In(ms: number, tz: string): string {
  const w = wallClock(ms, tz);
  const off = Math.round(offsetAt(ms, tz) / 60_000);
  const p = (n: number, l = 2) => String(n).padStart(l, "0");
  const zone = off === 0
    ? "Z"
    : `${off < 0 ? "-" : "+"}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
  return `${p(w.year, 4)}-${p(w.month)}-${p(w.day)}T${p(w.hour)}:${p(w.minute)}:${p(w.second)}${zone}`;
}

/** Upstream `getJobFromTemplate2`: the Job for one scheduled time, owned by the CronJob. */
export function jobFromTemplate(cj: KubeObject, scheduledTime: number, tz: string): KubeObject {
  const tmpl = cj.spec?.jobTemplate ?? {};
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: jobName(cj, scheduledTime),
      namespace: cj.metadata.namespace,
      labels: { ...(tmpl.metadata?.labels ?? {}) },
      annotations: {
        ...(tmpl.metadata?.annotations ?? {}),
        [SCHEDULED_TIMESTAMP_ANNOTATION]: rfc3339In(scheduledTime, tz),
      },
      ownerReferences: [controllerRef(cj, "batch/v1", "CronJob")],
    },
    spec: structuredClone(tmpl.spec ?? {}),
  };
}

/** An `ObjectReference` to a Job, as the active list holds. */
export function jobRef(job: KubeObject): KubeObject["spec"] {
  return {
    kind: "Job",
    namespace: job.metadata.namespace,
    name: job.metadata.name,
    uid: job.metadata.uid,
    apiVersion: "batch/v1",
    resourceVersion: job.metadata.resourceVersion,
  };
}

/** The first half of `syncCronJob`: the active list and lastSuccessfulTime against the Jobs. */
export function reconcileActive(cj: KubeObject, jobs: KubeObject[]): {
  status: KubeObject["status"];
  changed: boolean;
  events: CronEvent[];
  /** Active entries with no Job in the cache: to confirm with a GET before dropping. */
  missing: KubeObject["spec"][];
} {
  const status = structuredClone(cj.status ?? {});
  status.active = [...(status.active ?? [])];
  const events: CronEvent[] = [];
  let changed = false;
  const inActive = (uid: string) => status.active.some((r: { uid: string }) => r.uid === uid);
  const children = new Set<string>();
  for (const j of jobs) {
    children.add(j.metadata.uid!);
    const found = inActive(j.metadata.uid!);
    const finished = finishedType(j);
    if (!found && !finished) {
      events.push({
        type: "Warning",
        reason: "UnexpectedJob",
        message: `Saw a job that the controller did not create or forgot: ${j.metadata.name}`,
      });
    } else if (found && finished) {
      status.active = status.active.filter((r: { uid: string }) => r.uid !== j.metadata.uid);
      events.push({
        type: "Normal",
        reason: "SawCompletedJob",
        message: `Saw completed job: ${j.metadata.name}, condition: ${finished}`,
      });
      changed = true;
    } else if (finished === "Complete") {
      const t = j.status?.completionTime;
      if (t && (!status.lastSuccessfulTime || Date.parse(t) > Date.parse(status.lastSuccessfulTime))) {
        status.lastSuccessfulTime = t;
        changed = true;
      }
    }
  }
  const missing = status.active.filter((r: { uid: string }) => !children.has(r.uid));
  return { status, changed, events, missing };
}

/** What the rest of `syncCronJob` decided. */
export type CronDecision =
  | { kind: "wait"; requeueAfterMs?: number; events: CronEvent[] }
  | { kind: "start"; scheduledTime: number; replace: boolean; requeueAfterMs?: number; events: CronEvent[] };

/**
 * The scheduling half of `syncCronJob` for a CronJob whose active list is current: nothing due,
 * too late (MissSchedule), already started, Forbid with active Jobs (JobAlreadyActive), or start
 * (replacing active Jobs under Replace).
 */
export function decide(cj: KubeObject, now: number, schedule: Schedule): CronDecision {
  const events: CronEvent[] = [];
  const requeue = () => nextScheduleDelay(cj, now, schedule);
  if (cj.spec?.suspend) return { kind: "wait", events };
  let due;
  try {
    due = nextScheduleTime(cj, now, schedule);
  } catch (e) {
    events.push({
      type: "Warning",
      reason: "InvalidSchedule",
      message: `invalid schedule: ${cj.spec?.schedule} : ${(e as Error).message}`,
    });
    return { kind: "wait", events };
  }
  if (due.tooMany) {
    events.push({
      type: "Warning",
      reason: "TooManyMissedTimes",
      message:
        `too many missed start times: ${due.missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew`,
    });
  }
  if (due.time === undefined) return { kind: "wait", requeueAfterMs: requeue(), events };
  const deadline = cj.spec?.startingDeadlineSeconds;
  if (deadline !== undefined && deadline !== null && due.time + deadline * 1000 < now) {
    events.push({
      type: "Warning",
      reason: "MissSchedule",
      message: `Missed scheduled time to start a job: ${rfc1123z(due.time)}`,
    });
    return { kind: "wait", requeueAfterMs: requeue(), events };
  }
  const name = jobName(cj, due.time);
  const active = (cj.status?.active ?? []) as { name: string; namespace: string }[];
  const last = cj.status?.lastScheduleTime ? Date.parse(cj.status.lastScheduleTime) : NaN;
  if (active.some((r) => r.name === name && r.namespace === cj.metadata.namespace) || last === due.time) {
    return { kind: "wait", requeueAfterMs: requeue(), events };
  }
  const policy = cj.spec?.concurrencyPolicy ?? "Allow";
  if (policy === "Forbid" && active.length > 0) {
    events.push({
      type: "Normal",
      reason: "JobAlreadyActive",
      message: "Not starting job because prior execution is running and concurrency policy is Forbid",
    });
    return { kind: "wait", requeueAfterMs: requeue(), events };
  }
  return {
    kind: "start",
    scheduledTime: due.time,
    replace: policy === "Replace" && active.length > 0,
    events,
  };
}

/** Go's `time.RFC1123Z` in UTC: `Mon, 02 Jan 2006 15:04:05 +0000`. */
export function rfc1123z(ms: number): string {
  const d = new Date(ms);
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Upstream `byJobStartTime`: started before unstarted, earlier first, then by name. */
function byStartTime(a: KubeObject, b: KubeObject): number {
  const sa = a.status?.startTime, sb = b.status?.startTime;
  if (!sa && sb) return 1;
  if (sa && !sb) return -1;
  if (sa && sb && sa !== sb) return Date.parse(sa) - Date.parse(sb);
  return (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
}

/** Upstream `cleanupFinishedJobs`: the oldest finished Jobs beyond each history limit. */
export function jobsBeyondHistory(cj: KubeObject, jobs: KubeObject[]): KubeObject[] {
  const successLimit = cj.spec?.successfulJobsHistoryLimit;
  const failedLimit = cj.spec?.failedJobsHistoryLimit;
  const oldest = (list: KubeObject[], limit: number | undefined | null) =>
    limit === undefined || limit === null
      ? []
      : [...list].sort(byStartTime).slice(0, Math.max(0, list.length - limit));
  return [
    ...oldest(jobs.filter((j) => finishedType(j) === "Complete"), successLimit),
    ...oldest(jobs.filter((j) => finishedType(j) === "Failed"), failedLimit),
  ];
}
