/**
 * Deployment status, pure (upstream `calculateStatus`, `syncRolloutStatus`,
 * `requeueStuckDeployment`, `checkPausedConditions`): the counts `kubectl rollout status` reads,
 * and the `Available` and `Progressing` conditions with their upstream reasons and messages.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { type Condition, getCondition, removeCondition, setCondition } from "../workload/conditions.ts";
import { timestamp } from "../workload/pod_util.ts";
import {
  actualReplicas,
  availableReplicas,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  hasProgressDeadline,
  maxUnavailable,
  readyReplicas,
  Reason,
  replicas,
  specReplicas,
} from "./util.ts";

/** `apps/v1` DeploymentStatus. */
export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  collisionCount?: number;
  conditions?: Condition[];
}

/** Upstream `NewDeploymentCondition`: both times are now. */
export function condition(
  type: string,
  status: Condition["status"],
  reason: string,
  message: string,
  now: number,
): Condition {
  const t = timestamp(now);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

/** Upstream `calculateStatus`: counts from the ReplicaSets plus the `Available` condition. */
export function calculateStatus(
  allRSs: (KubeObject | undefined)[],
  newRS: KubeObject | undefined,
  d: KubeObject,
  now: number,
): DeploymentStatus {
  const available = availableReplicas(allRSs);
  const unavailable = Math.max(0, specReplicas(allRSs) - available);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation ?? 0,
    replicas: actualReplicas(allRSs),
    updatedReplicas: actualReplicas([newRS]),
    readyReplicas: readyReplicas(allRSs),
    availableReplicas: available,
    unavailableReplicas: unavailable,
    ...(d.status?.collisionCount !== undefined ? { collisionCount: d.status.collisionCount } : {}),
    conditions: [...(d.status?.conditions ?? [])],
  };
  status.conditions = available >= replicas(d) - maxUnavailable(d)
    ? setCondition(
      status.conditions,
      condition(
        "Available",
        "True",
        Reason.MinimumReplicasAvailable,
        "Deployment has minimum availability.",
        now,
      ),
    )
    : setCondition(
      status.conditions,
      condition(
        "Available",
        "False",
        Reason.MinimumReplicasUnavailable,
        "Deployment does not have minimum availability.",
        now,
      ),
    );
  return status;
}

/** Upstream `getReplicaFailures`: `ReplicaFailure` conditions of the new ReplicaSet first, else of any. */
function replicaFailures(allRSs: (KubeObject | undefined)[], newRS: KubeObject | undefined): Condition[] {
  const toDeployment = (c: Condition): Condition => ({
    type: c.type,
    status: c.status,
    lastTransitionTime: c.lastTransitionTime,
    lastUpdateTime: c.lastTransitionTime,
    reason: c.reason,
    message: c.message,
  });
  const of = (rs: KubeObject | undefined) =>
    ((rs?.status?.conditions ?? []) as Condition[]).filter((c) => c.type === "ReplicaFailure").map(
      toDeployment,
    );
  const fromNew = of(newRS);
  return fromNew.length ? fromNew : allRSs.flatMap(of);
}

/** What `syncRolloutStatus` decided. */
export interface RolloutStatus {
  status: DeploymentStatus;
  /** Look again after this long to check the progress deadline (upstream `requeueStuckDeployment`). */
  requeueAfterMs?: number;
}

/**
 * Upstream `syncRolloutStatus`: the status during a rollout, with the Progressing condition moved
 * to NewReplicaSetAvailable, ReplicaSetUpdated or ProgressDeadlineExceeded.
 */
export function rolloutStatus(
  allRSs: (KubeObject | undefined)[],
  newRS: KubeObject | undefined,
  d: KubeObject,
  now: number,
): RolloutStatus {
  const status = calculateStatus(allRSs, newRS, d, now);
  if (!hasProgressDeadline(d)) status.conditions = removeCondition(status.conditions, "Progressing");
  const current = getCondition<Condition>(d.status?.conditions, "Progressing");
  const isComplete = status.replicas === status.updatedReplicas && current?.reason === Reason.NewRSAvailable;
  if (hasProgressDeadline(d) && !isComplete) {
    if (deploymentComplete(d, status)) {
      const msg = newRS
        ? `ReplicaSet "${newRS.metadata.name}" has successfully progressed.`
        : `Deployment "${d.metadata.name}" has successfully progressed.`;
      status.conditions = setCondition(
        status.conditions,
        condition("Progressing", "True", Reason.NewRSAvailable, msg, now),
      );
    } else if (deploymentProgressing(d, status)) {
      const msg = newRS
        ? `ReplicaSet "${newRS.metadata.name}" is progressing.`
        : `Deployment "${d.metadata.name}" is progressing.`;
      const cond = condition("Progressing", "True", Reason.ReplicaSetUpdated, msg, now);
      if (current) {
        if (current.status === "True") cond.lastTransitionTime = current.lastTransitionTime;
        status.conditions = removeCondition(status.conditions, "Progressing");
      }
      status.conditions = setCondition(status.conditions, cond);
    } else if (deploymentTimedOut(d, status, now)) {
      const msg = newRS
        ? `ReplicaSet "${newRS.metadata.name}" has timed out progressing.`
        : `Deployment "${d.metadata.name}" has timed out progressing.`;
      status.conditions = setCondition(
        status.conditions,
        condition("Progressing", "False", Reason.TimedOut, msg, now),
      );
    }
  }
  const failures = replicaFailures(allRSs, newRS);
  status.conditions = failures.length
    ? setCondition(status.conditions, failures[0])
    : removeCondition(status.conditions, "ReplicaFailure");
  return { status, requeueAfterMs: stuckRequeueMs(d, status, now) };
}

/**
 * Upstream `requeueStuckDeployment`: with a deadline and no completion or timeout yet, look again
 * when the deadline passes (plus a second). Upstream requeues with rate limiting when less than a
 * second is left; we requeue for just after the deadline instead, which checks it once.
 */
export function stuckRequeueMs(d: KubeObject, status: DeploymentStatus, now: number): number | undefined {
  const current = getCondition<Condition>(d.status?.conditions, "Progressing");
  if (!hasProgressDeadline(d) || !current) return undefined;
  if (deploymentComplete(d, status) || current.reason === Reason.TimedOut) return undefined;
  const last = Date.parse(current.lastUpdateTime ?? "");
  if (Number.isNaN(last)) return undefined;
  const after = last + d.spec.progressDeadlineSeconds * 1000 - now;
  return after < 1000 ? Math.max(after, 0) + 1 : after + 1000;
}

/**
 * Upstream `checkPausedConditions`: the conditions with Progressing set to DeploymentPaused or
 * DeploymentResumed when pausing changed; undefined when nothing changes.
 */
export function pausedConditions(d: KubeObject, now: number): Condition[] | undefined {
  if (!hasProgressDeadline(d)) return undefined;
  const cond = getCondition<Condition>(d.status?.conditions, "Progressing");
  if (cond?.reason === Reason.TimedOut) return undefined;
  const pausedExists = cond?.reason === Reason.Paused;
  if (d.spec?.paused && !pausedExists) {
    return setCondition(
      d.status?.conditions,
      condition("Progressing", "Unknown", Reason.Paused, "Deployment is paused", now),
    );
  }
  if (!d.spec?.paused && pausedExists) {
    return setCondition(
      d.status?.conditions,
      condition("Progressing", "Unknown", Reason.Resumed, "Deployment is resumed", now),
    );
  }
  return undefined;
}
