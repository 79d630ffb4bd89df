/**
 * The Job controller's decisions, pure (upstream `job_controller.go`, `backoff_utils.go`): pod
 * accounting with the `batch.kubernetes.io/job-tracking` finalizer, failure and deadline checks,
 * how many pods to start or stop, the pod back-off, and the conditions a Job goes through
 * (`SuccessCriteriaMet` then `Complete`; `FailureTarget` then `Failed`, as 1.32 does them).
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { isPodActive, isPodReady, isPodTerminal, totalContainerRestarts } from "../workload/pod_util.ts";
import { sortActivePods } from "../workload/ranking.ts";
import { completionIndex, duplicatedIndexPods, firstPendingIndexes, type Interval } from "./indexes.ts";

/** The finalizer that keeps a Job's pods until the Job has counted them. */
export const JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking";
/** Upstream `MaxUncountedPods`. */
export const MAX_UNCOUNTED_PODS = 500;
/** Upstream `MaxPodCreateDeletePerSync`. */
export const MAX_POD_CREATE_DELETE_PER_SYNC = 500;
/** Upstream `DefaultJobPodFailureBackOff` and `MaxJobPodFailureBackOff`. */
export const DEFAULT_POD_FAILURE_BACKOFF_MS = 10_000;
/** Upstream `MaxJobPodFailureBackOff`. */
export const MAX_POD_FAILURE_BACKOFF_MS = 6 * 60_000;

/** A Job condition. */
export interface JobCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastProbeTime?: string;
  lastTransitionTime?: string;
}

/** An RFC 3339 time with second precision (`metav1.Time`). */
export function timestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** Upstream `newCondition`: probe and transition time are now. */
export function newCondition(
  type: string,
  status: JobCondition["status"],
  reason: string,
  message: string,
  now: number,
): JobCondition {
  const t = timestamp(now);
  return { type, status, lastProbeTime: t, lastTransitionTime: t, reason, message };
}

/** Upstream `ensureJobConditionStatus`: returns the list and whether it changed. */
export function ensureCondition(
  list: JobCondition[] | undefined,
  type: string,
  status: JobCondition["status"],
  reason: string,
  message: string,
  now: number,
): { conditions: JobCondition[]; changed: boolean } {
  const conditions = [...(list ?? [])];
  const i = conditions.findIndex((c) => c.type === type);
  if (i >= 0) {
    const c = conditions[i];
    if (c.status !== status || (c.reason ?? "") !== reason || (c.message ?? "") !== message) {
      conditions[i] = newCondition(type, status, reason, message, now);
      return { conditions, changed: true };
    }
    return { conditions, changed: false };
  }
  if (status !== "False") {
    return { conditions: [...conditions, newCondition(type, status, reason, message, now)], changed: true };
  }
  return { conditions, changed: false };
}

/** The Job's condition of `type`, if any. */
export function findCondition(job: KubeObject, type: string): JobCondition | undefined {
  return (job.status?.conditions as JobCondition[] | undefined)?.find((c) => c.type === type);
}

/** Upstream `IsJobFinished`: a `Complete` or `Failed` condition is True. */
export function isJobFinished(job: KubeObject): boolean {
  return ((job.status?.conditions ?? []) as JobCondition[]).some(
    (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
  );
}

/** The time a finished Job finished (its terminal condition's transition), in ms. */
export function jobFinishTime(job: KubeObject): number | undefined {
  const c = ((job.status?.conditions ?? []) as JobCondition[]).find(
    (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
  );
  const t = c?.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  return Number.isNaN(t) ? undefined : t;
}

/** `completionMode: Indexed`. */
export const isIndexed = (job: KubeObject) => job.spec?.completionMode === "Indexed";
/** `spec.suspend: true`. */
export const isSuspended = (job: KubeObject) => job.spec?.suspend === true;
/** Whether the pod still carries the Job tracking finalizer. */
export const hasTrackingFinalizer = (pod: KubeObject) =>
  !!pod.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER);
/** podReplacementPolicy Failed: terminating pods are not replaced until they fail. */
export const onlyReplaceFailedPods = (job: KubeObject) =>
  job.spec?.podReplacementPolicy === "Failed" || !!job.spec?.podFailurePolicy;

/** Upstream `isPodFailed`: Failed, or (unless only failed pods are replaced) deleted before succeeding. */
export function isPodFailed(pod: KubeObject, job: KubeObject): boolean {
  if (pod.status?.phase === "Failed") return true;
  if (onlyReplaceFailedPods(job)) return false;
  return !!pod.metadata.deletionTimestamp && pod.status?.phase !== "Succeeded";
}

/** Pods being deleted that have not finished (upstream `CountTerminatingPods`). */
export function countTerminating(pods: KubeObject[]): number {
  return pods.filter((p) => !isPodTerminal(p) && p.metadata.deletionTimestamp).length;
}

/**
 * Upstream `getNewFinishedPods`: finished pods still carrying the tracking finalizer that are not
 * yet in `uncountedTerminatedPods` nor having their finalizer removed.
 */
export function newFinishedPods(
  job: KubeObject,
  pods: KubeObject[],
  expectedRm: Set<string>,
): { succeeded: KubeObject[]; failed: KubeObject[] } {
  const uncounted = job.status?.uncountedTerminatedPods ?? {};
  const us = new Set<string>(uncounted.succeeded ?? []), uf = new Set<string>(uncounted.failed ?? []);
  const completions = job.spec?.completions;
  const valid = (p: KubeObject) => {
    if (!hasTrackingFinalizer(p) || expectedRm.has(p.metadata.uid!)) return false;
    if (!isIndexed(job)) return true;
    const ix = completionIndex(p);
    return ix >= 0 && ix < completions;
  };
  return {
    succeeded: pods.filter((p) => valid(p) && !us.has(p.metadata.uid!) && p.status?.phase === "Succeeded"),
    failed: pods.filter((p) => valid(p) && !uf.has(p.metadata.uid!) && isPodFailed(p, job)),
  };
}

/** Upstream `pastBackoffLimitOnFailure`: container restarts of running pods reach the limit (OnFailure only). */
export function pastBackoffLimitOnFailure(job: KubeObject, pods: KubeObject[]): boolean {
  if (job.spec?.template?.spec?.restartPolicy !== "OnFailure") return false;
  let restarts = 0;
  for (const p of pods) {
    if (p.status?.phase === "Running" || p.status?.phase === "Pending") restarts += totalContainerRestarts(p);
  }
  const limit = job.spec?.backoffLimit ?? 6;
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

/** Upstream `pastActiveDeadline`. */
export function pastActiveDeadline(job: KubeObject, now: number): boolean {
  const ads = job.spec?.activeDeadlineSeconds;
  const start = job.status?.startTime ? Date.parse(job.status.startTime) : NaN;
  if (ads === undefined || ads === null || Number.isNaN(start) || isSuspended(job)) return false;
  return now - start >= ads * 1000;
}

/** When `activeDeadlineSeconds` will pass, in ms from now (undefined without a deadline). */
export function activeDeadlineRemainingMs(job: KubeObject, now: number): number | undefined {
  const ads = job.spec?.activeDeadlineSeconds;
  const start = job.status?.startTime ? Date.parse(job.status.startTime) : NaN;
  if (ads === undefined || ads === null || Number.isNaN(start) || isSuspended(job)) return undefined;
  return Math.max(0, start + ads * 1000 - now);
}

/** Upstream `activePodsForRemoval`: duplicates and bad indexes first (Indexed), then by ActivePods order. */
export function activePodsForRemoval(job: KubeObject, pods: KubeObject[], atLeast: number): KubeObject[] {
  let rm: KubeObject[] = [], left = pods;
  if (isIndexed(job)) ({ remove: rm, keep: left } = duplicatedIndexPods(pods, job.spec?.completions ?? 0));
  if (rm.length < atLeast) rm = [...rm, ...sortActivePods(left).slice(0, atLeast - rm.length)];
  return rm;
}

/** What `manageJob` should do this sync. */
export type ManagePlan =
  | { kind: "delete"; pods: KubeObject[] }
  | { kind: "create"; count: number; indexes?: number[] }
  | { kind: "wait"; ms: number }
  | { kind: "none" };

/**
 * Upstream `manageJob`'s decision: suspended Jobs lose every active pod; otherwise keep
 * `min(parallelism, completions - succeeded)` active (or parallelism until a first success for
 * Jobs without completions), deleting before creating, and waiting out the pod back-off.
 */
export function planManageJob(
  job: KubeObject,
  activePods: KubeObject[],
  succeeded: number,
  terminating: number,
  succeededIndexes: Interval[],
  backoffRemainingMs: number,
): ManagePlan {
  const active = activePods.length;
  if (isSuspended(job)) {
    return active
      ? { kind: "delete", pods: activePodsForRemoval(job, activePods, active) }
      : { kind: "none" };
  }
  const parallelism = job.spec?.parallelism ?? 1;
  const completions = job.spec?.completions;
  let want: number;
  if (completions === undefined || completions === null) want = succeeded > 0 ? active : parallelism;
  else want = Math.max(0, Math.min(completions - succeeded, parallelism));
  const rm = activePodsForRemoval(job, activePods, Math.max(0, active - want)).slice(
    0,
    MAX_POD_CREATE_DELETE_PER_SYNC,
  );
  if (rm.length) return { kind: "delete", pods: rm };
  const diff = want - (onlyReplaceFailedPods(job) ? terminating : 0) - active;
  if (diff <= 0) return { kind: "none" };
  if (backoffRemainingMs > 0) return { kind: "wait", ms: backoffRemainingMs };
  let count = Math.min(diff, MAX_POD_CREATE_DELETE_PER_SYNC);
  if (isIndexed(job)) {
    const indexes = firstPendingIndexes(activePods, succeededIndexes, count, completions ?? 0);
    return indexes.length ? { kind: "create", count: indexes.length, indexes } : { kind: "none" };
  }
  count = Math.max(count, 0);
  return { kind: "create", count };
}

// ---- pod failure back-off (backoff_utils.go)

/** Failures since the last success and when the last one happened. */
export interface BackoffRecord {
  failuresAfterLastSuccess: number;
  lastFailureTime?: number;
}

/** Upstream `getFinishedTime`: the last container finish, else when Ready turned False, else the deletion time. */
export function finishedTime(pod: KubeObject, now: number): number {
  const statuses = (pod.status?.containerStatuses ?? []) as KubeObject[];
  if (statuses.length && statuses.every((s) => s.state?.terminated)) {
    const times = statuses.map((s) => Date.parse(s.state.terminated.finishedAt ?? "")).filter((t) =>
      !Number.isNaN(t)
    );
    if (times.length === statuses.length) return Math.max(...times);
  }
  const ready = ((pod.status?.conditions ?? []) as JobCondition[]).find((c) => c.type === "Ready");
  if (ready?.status === "False" && ready.lastTransitionTime) {
    const t = Date.parse(ready.lastTransitionTime);
    if (!Number.isNaN(t)) return t;
  }
  if (pod.metadata.deletionTimestamp) {
    const t = Date.parse(pod.metadata.deletionTimestamp) -
      (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
    if (!Number.isNaN(t)) return t;
  }
  return now;
}

/** Upstream `newBackoffRecord`: the previous record updated with newly finished pods. */
export function nextBackoffRecord(
  prev: BackoffRecord,
  succeeded: KubeObject[],
  failed: KubeObject[],
  now: number,
): BackoffRecord {
  const times = (pods: KubeObject[]) => pods.map((p) => finishedTime(p, now)).sort((a, b) => a - b);
  const st = times(succeeded), ft = times(failed);
  if (!st.length) {
    if (!ft.length) return { ...prev };
    return {
      failuresAfterLastSuccess: prev.failuresAfterLastSuccess + ft.length,
      lastFailureTime: ft.at(-1),
    };
  }
  const lastSuccess = st.at(-1)!;
  const after = ft.filter((t) => t > lastSuccess);
  return after.length
    ? { failuresAfterLastSuccess: after.length, lastFailureTime: after.at(-1) }
    : { failuresAfterLastSuccess: 0 };
}

/** Upstream `getRemainingTime`: `base` doubled per failure after the first, capped at `max`, minus time since the last failure. */
export function backoffRemainingMs(rec: BackoffRecord, now: number, baseMs: number, maxMs: number): number {
  if (!rec.failuresAfterLastSuccess || rec.lastFailureTime === undefined) return 0;
  let d = baseMs;
  for (let i = 1; i < rec.failuresAfterLastSuccess; i++) {
    d *= 2;
    if (d >= maxMs) {
      d = maxMs;
      break;
    }
  }
  const elapsed = now - rec.lastFailureTime;
  return d < elapsed ? 0 : d - elapsed;
}

// ---- finalizer tracking (trackJobStatusAndRemoveFinalizers)

/** The status fields finalizer tracking updates. */
export interface TrackedCounts {
  succeeded: number;
  failed: number;
  uncountedTerminatedPods: { succeeded: string[]; failed: string[] };
}

/** Upstream `cleanUncountedPodsWithoutFinalizers`: UIDs whose finalizer is gone are counted. */
export function countUncounted(counts: TrackedCounts, withFinalizer: Set<string>): boolean {
  const u = counts.uncountedTerminatedPods;
  const s = u.succeeded.filter((uid) => withFinalizer.has(uid));
  const f = u.failed.filter((uid) => withFinalizer.has(uid));
  const changed = s.length !== u.succeeded.length || f.length !== u.failed.length;
  counts.succeeded += u.succeeded.length - s.length;
  counts.failed += u.failed.length - f.length;
  counts.uncountedTerminatedPods = { succeeded: s, failed: f };
  return changed;
}

/** What {@link planTracking} decided. */
export interface TrackingPlan {
  /** Pods whose tracking finalizer to remove. */
  removeFinalizer: KubeObject[];
  /** UIDs to add to `uncountedTerminatedPods`. */
  addSucceeded: string[];
  addFailed: string[];
  /** Indexed Jobs: newly succeeded indexes. */
  newSucceededIndexes: number[];
  /** Stopped at MaxUncountedPods; the Job is synced again. */
  reachedMax: boolean;
}

/**
 * Which pods to count and un-finalize now: finished ones (succeeded, failed, deleted), and every
 * remaining one once the Job is finishing (`finishing` without success means they count as failed).
 */
export function planTracking(
  job: KubeObject,
  pods: KubeObject[],
  expectedRm: Set<string>,
  finishing: "success" | "failure" | undefined,
  prevSucceededIndexes: Interval[],
): TrackingPlan {
  const uncounted = job.status?.uncountedTerminatedPods ?? {};
  const us = new Set<string>(uncounted.succeeded ?? []), uf = new Set<string>(uncounted.failed ?? []);
  const plan: TrackingPlan = {
    removeFinalizer: [],
    addSucceeded: [],
    addFailed: [],
    newSucceededIndexes: [],
    reachedMax: false,
  };
  const completions = job.spec?.completions ?? 0;
  const indexed = isIndexed(job);
  const ordered = indexed ? [...pods].sort((a, b) => completionIndex(a) - completionIndex(b)) : pods;
  const prevHas = (ix: number) => prevSucceededIndexes.some((i) => i.first <= ix && ix <= i.last);
  for (const pod of ordered) {
    const uid = pod.metadata.uid!;
    if (!hasTrackingFinalizer(pod) || expectedRm.has(uid)) continue;
    const failed = isPodFailed(pod, job);
    const canRemove = !!job.metadata.deletionTimestamp || finishing !== undefined ||
      pod.status?.phase === "Succeeded" || failed;
    if (!canRemove) continue;
    plan.removeFinalizer.push(pod);
    const ix = completionIndex(pod);
    if (pod.status?.phase === "Succeeded" && !uf.has(uid)) {
      if (indexed) {
        if (ix >= 0 && ix < completions && !prevHas(ix) && !plan.newSucceededIndexes.includes(ix)) {
          plan.newSucceededIndexes.push(ix);
        }
      } else if (!us.has(uid)) plan.addSucceeded.push(uid);
    } else if (failed || finishing === "failure") {
      if (!uf.has(uid) && (!indexed || (ix >= 0 && ix < completions))) plan.addFailed.push(uid);
    }
    if (
      plan.newSucceededIndexes.length + us.size + plan.addSucceeded.length + uf.size +
          plan.addFailed.length >= MAX_UNCOUNTED_PODS
    ) {
      plan.reachedMax = true;
      break;
    }
  }
  return plan;
}

/** Active pods: not finished, not being deleted. */
export const activePods = (pods: KubeObject[]) => pods.filter(isPodActive);
/** Ready active pods. */
export const readyCount = (pods: KubeObject[]) => pods.filter(isPodReady).length;
