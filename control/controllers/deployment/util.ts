/**
 * Deployment helpers, pure, as upstream's `pkg/controller/deployment/util`: annotations and
 * revisions, maxSurge/maxUnavailable resolution, the new/old ReplicaSet split, replica sums, and
 * the completeness, progress and timeout tests behind the `Progressing` condition.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { getCondition } from "../workload/conditions.ts";
import { semanticEqual } from "../workload/equality.ts";
import { scaledValue } from "../workload/int_or_percent.ts";
import { creationTime } from "../workload/pod_util.ts";

/** The revision of a Deployment and of each of its ReplicaSets. */
export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
/** Earlier revisions a ReplicaSet served (after rollbacks). */
export const REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history";
/** `spec.replicas` of the Deployment when the ReplicaSet was last sized. */
export const DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas";
/** `replicas + maxSurge` of the Deployment when the ReplicaSet was last sized. */
export const MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas";
/** `apps.DefaultDeploymentUniqueLabelKey`. */
export const POD_TEMPLATE_HASH = "pod-template-hash";
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";
const DEPRECATED_ROLLBACK_TO = "deprecated.deployment.rollback.to";

/** Progressing and Available condition reasons (upstream `deploymentutil`). */
export const Reason = {
  ReplicaSetUpdated: "ReplicaSetUpdated",
  FailedRSCreate: "ReplicaSetCreateError",
  NewReplicaSet: "NewReplicaSetCreated",
  FoundNewRS: "FoundNewReplicaSet",
  NewRSAvailable: "NewReplicaSetAvailable",
  TimedOut: "ProgressDeadlineExceeded",
  Paused: "DeploymentPaused",
  Resumed: "DeploymentResumed",
  MinimumReplicasAvailable: "MinimumReplicasAvailable",
  MinimumReplicasUnavailable: "MinimumReplicasUnavailable",
} as const;

const MAX_INT32 = 2147483647;

/** Upstream's `annotationsToSkip`: never copied from a Deployment to its ReplicaSets. */
const SKIP = new Set([
  LAST_APPLIED,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  DEPRECATED_ROLLBACK_TO,
]);

/** Whether a Deployment annotation stays off its ReplicaSets. */
export function skipCopyAnnotation(key: string): boolean {
  return SKIP.has(key);
}

/** `spec.replicas`, default 1. */
export function replicas(obj: KubeObject): number {
  return obj.spec?.replicas ?? 1;
}

/** Whether the strategy is RollingUpdate (the default). */
export function isRollingUpdate(d: KubeObject): boolean {
  return (d.spec?.strategy?.type ?? "RollingUpdate") === "RollingUpdate";
}

/**
 * Upstream `ResolveFenceposts`: maxSurge rounds up, maxUnavailable down; if both come out 0,
 * maxUnavailable becomes 1. Defaults (unset fields) are 25% each, as the API defaults them.
 */
export function resolveFenceposts(d: KubeObject): { maxSurge: number; maxUnavailable: number } {
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  const desired = replicas(d);
  const surge = scaledValue(ru.maxSurge ?? "25%", desired, true);
  let unavailable = scaledValue(ru.maxUnavailable ?? "25%", desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { maxSurge: surge, maxUnavailable: unavailable };
}

/** Upstream `MaxUnavailable`: 0 unless rolling with replicas > 0; never more than replicas. */
export function maxUnavailable(d: KubeObject): number {
  if (!isRollingUpdate(d) || replicas(d) === 0) return 0;
  return Math.min(resolveFenceposts(d).maxUnavailable, replicas(d));
}

/** Upstream `MaxSurge`: 0 unless rolling. */
export function maxSurge(d: KubeObject): number {
  return isRollingUpdate(d) ? resolveFenceposts(d).maxSurge : 0;
}

/** A ReplicaSet's (or Deployment's) revision annotation as a number (0 when absent, NaN when bad). */
export function revision(obj: KubeObject): number {
  const v = obj.metadata.annotations?.[REVISION_ANNOTATION];
  if (v === undefined) return 0;
  return /^\d+$/.test(v) ? Number(v) : NaN;
}

/** Upstream `MaxRevision`. */
export function maxRevision(rss: KubeObject[]): number {
  let max = 0;
  for (const rs of rss) {
    const v = revision(rs);
    if (!Number.isNaN(v) && v > max) max = v;
  }
  return max;
}

/** Oldest first; ties by name (upstream `ReplicaSetsByCreationTimestamp`). */
export function byCreation(a: KubeObject, b: KubeObject): number {
  const d = creationTime(a) - creationTime(b);
  return d !== 0 ? d : (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
}

/** Upstream `EqualIgnoreHash`: templates equal once the `pod-template-hash` label is dropped. */
export function equalIgnoreHash(t1: KubeObject | undefined, t2: KubeObject | undefined): boolean {
  const strip = (t: KubeObject | undefined) => {
    const c = structuredClone(t ?? {}) as KubeObject;
    if (c.metadata?.labels) delete c.metadata.labels[POD_TEMPLATE_HASH];
    return c;
  };
  return semanticEqual(strip(t1), strip(t2));
}

/** Upstream `FindNewReplicaSet`: the oldest ReplicaSet whose template equals the Deployment's. */
export function findNewReplicaSet(d: KubeObject, rss: KubeObject[]): KubeObject | undefined {
  return [...rss].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

/** Upstream `FindOldReplicaSets`: every other ReplicaSet (the second list), and those with replicas. */
export function findOldReplicaSets(
  d: KubeObject,
  rss: KubeObject[],
): { active: KubeObject[]; all: KubeObject[] } {
  const newRS = findNewReplicaSet(d, rss);
  const all = rss.filter((rs) => !newRS || rs.metadata.uid !== newRS.metadata.uid);
  return { all, active: all.filter((rs) => replicas(rs) !== 0) };
}

/** ReplicaSets with `spec.replicas > 0` (upstream `FilterActiveReplicaSets`). */
export function activeReplicaSets(rss: (KubeObject | undefined)[]): KubeObject[] {
  return rss.filter((rs): rs is KubeObject => !!rs && replicas(rs) > 0);
}

const sum = (rss: (KubeObject | undefined)[], f: (rs: KubeObject) => number) =>
  rss.reduce((n, rs) => n + (rs ? f(rs) : 0), 0);

/** Sum of `spec.replicas`. */
export const specReplicas = (rss: (KubeObject | undefined)[]): number => sum(rss, replicas);
/** Sum of `status.replicas`. */
export const actualReplicas = (rss: (KubeObject | undefined)[]): number =>
  sum(rss, (rs) => rs.status?.replicas ?? 0);
/** Sum of `status.readyReplicas`. */
export const readyReplicas = (rss: (KubeObject | undefined)[]): number =>
  sum(rss, (rs) => rs.status?.readyReplicas ?? 0);
/** Sum of `status.availableReplicas`. */
export const availableReplicas = (rss: (KubeObject | undefined)[]): number =>
  sum(rss, (rs) => rs.status?.availableReplicas ?? 0);

/** Upstream `NewRSNewReplicas`: the size the new ReplicaSet may grow to in this step. */
export function newRSNewReplicas(d: KubeObject, allRSs: KubeObject[], newRS: KubeObject): number {
  if (!isRollingUpdate(d)) return replicas(d);
  const surge = scaledValue(d.spec?.strategy?.rollingUpdate?.maxSurge ?? "25%", replicas(d), true);
  const current = specReplicas(allRSs);
  const maxTotal = replicas(d) + surge;
  if (current >= maxTotal) return replicas(newRS);
  const up = Math.min(maxTotal - current, replicas(d) - replicas(newRS));
  return replicas(newRS) + up;
}

/** Upstream `IsSaturated`: the new ReplicaSet holds, believes in and has available all replicas. */
export function isSaturated(d: KubeObject, rs: KubeObject | undefined): boolean {
  if (!rs) return false;
  const desired = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
  if (desired === undefined || !/^-?\d+$/.test(desired)) return false;
  return replicas(rs) === replicas(d) && Number(desired) === replicas(d) &&
    (rs.status?.availableReplicas ?? 0) === replicas(d);
}

/** Upstream `HasProgressDeadline`. */
export function hasProgressDeadline(d: KubeObject): boolean {
  const s = d.spec?.progressDeadlineSeconds;
  return s !== undefined && s !== null && s !== MAX_INT32;
}

/** Upstream `HasRevisionHistoryLimit`. */
export function hasRevisionHistoryLimit(d: KubeObject): boolean {
  const l = d.spec?.revisionHistoryLimit;
  return l !== undefined && l !== null && l !== MAX_INT32;
}

/** The status fields the progress tests look at. */
export interface RolloutCounts {
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  // deno-lint-ignore no-explicit-any
  conditions?: any[];
}

/** Upstream `DeploymentComplete`. */
export function deploymentComplete(d: KubeObject, s: RolloutCounts): boolean {
  const want = replicas(d);
  return (s.updatedReplicas ?? 0) === want && (s.replicas ?? 0) === want &&
    (s.availableReplicas ?? 0) === want &&
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
}

/** Upstream `DeploymentProgressing`: new pods up, ready or available, or old ones down. */
export function deploymentProgressing(d: KubeObject, s: RolloutCounts): boolean {
  const old: RolloutCounts = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) || newOld < oldOld ||
    (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0);
}

/** Upstream `DeploymentTimedOut`: the Progressing condition is older than the deadline. */
export function deploymentTimedOut(d: KubeObject, s: RolloutCounts, now: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const cond = getCondition(s.conditions, "Progressing");
  if (!cond) return false;
  if (cond.reason === Reason.NewRSAvailable) return false;
  if (cond.reason === Reason.TimedOut) return true;
  const from = Date.parse(cond.lastUpdateTime ?? "");
  if (Number.isNaN(from)) return false;
  return from + d.spec.progressDeadlineSeconds * 1000 < now;
}
