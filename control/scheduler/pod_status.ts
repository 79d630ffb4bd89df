/**
 * The status writes the scheduler makes, as strategic merge patches of `pods/status` (computed
 * here, pure; sent by the scheduler): the `PodScheduled=False` condition of a pod no node fits
 * (only when something changed, as upstream's `podutil.UpdatePodCondition`), the pod's
 * `nominatedNodeName`, and the `DisruptionTarget` condition marking a preemption victim.
 * @module
 */
import type { KubeObject } from "../api/types.ts";

export interface PodCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
}

/** How to treat `status.nominatedNodeName` (upstream `NominatingMode`). */
export type Nominating = { mode: "noop" } | { mode: "override"; node: string };

/** Upstream's RFC 3339 second-precision timestamp. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/**
 * The condition list with `cond` applied (upstream `UpdatePodCondition`): a new condition gets
 * `lastTransitionTime` = now, an unchanged status keeps the old one. Returns null when nothing
 * changed.
 */
export function updateCondition(
  conditions: readonly PodCondition[] | undefined,
  cond: PodCondition,
  now: number,
): PodCondition | null {
  const old = conditions?.find((c) => c.type === cond.type);
  const next: PodCondition = {
    ...cond,
    lastProbeTime: cond.lastProbeTime ?? null,
    lastTransitionTime: rfc3339(now),
  };
  if (!old) return next;
  if (old.status === next.status) next.lastTransitionTime = old.lastTransitionTime;
  const same = old.status === next.status && (old.reason ?? "") === (next.reason ?? "") &&
    (old.message ?? "") === (next.message ?? "") && (old.lastProbeTime ?? null) === next.lastProbeTime;
  return same ? null : next;
}

/**
 * The `pods/status` patch after a failed attempt (upstream `updatePod` in handleSchedulingFailure):
 * `PodScheduled=False` with `reason` (`Unschedulable` or `SchedulerError`) and the message, and
 * the nomination. null when the pod already says all that.
 */
export function schedulingFailurePatch(
  pod: KubeObject,
  reason: string,
  message: string,
  nominating: Nominating,
  now: number,
): Record<string, unknown> | null {
  const status: Record<string, unknown> = {};
  const cond = updateCondition(pod.status?.conditions, {
    type: "PodScheduled",
    status: "False",
    reason,
    message,
  }, now);
  if (cond) status.conditions = [cond];
  const current = pod.status?.nominatedNodeName ?? "";
  if (nominating.mode === "override" && current !== nominating.node) {
    status.nominatedNodeName = nominating.node === "" ? null : nominating.node;
  }
  return Object.keys(status).length ? { status } : null;
}

/** Upstream `PodReasonPreemptionByScheduler` condition on a victim; null if already there. */
export function preemptionVictimPatch(
  victim: KubeObject,
  schedulerName: string,
  now: number,
): Record<string, unknown> | null {
  const cond = updateCondition(victim.status?.conditions, {
    type: "DisruptionTarget",
    status: "True",
    reason: "PreemptionByScheduler",
    message: `${schedulerName}: preempting to accommodate a higher priority pod`,
  }, now);
  return cond ? { status: { conditions: [cond] } } : null;
}

/** The patch clearing a pod's nomination (upstream `ClearNominatedNodeName`). */
export function clearNominationPatch(): Record<string, unknown> {
  return { status: { nominatedNodeName: null } };
}
