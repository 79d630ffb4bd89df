/**
 * The ReplicaSet controller's decisions, pure (upstream `manageReplicas` and `calculateStatus`):
 * how many pods to create or which to delete, and the status those pods add up to.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { type Condition, getCondition, removeCondition, setCondition } from "../workload/conditions.ts";
import { isPodAvailable, isPodReady, timestamp } from "../workload/pod_util.ts";
import { podsToDelete } from "../workload/ranking.ts";

/** Upstream `BurstReplicas`: at most this many creations or deletions per sync. */
export const BURST_REPLICAS = 500;

/** What one sync should do to the pods. */
export interface ReplicaPlan {
  /** Pods to create. */
  create: number;
  /** Pods to delete, chosen by upstream's ranking. */
  delete: KubeObject[];
}

/** The replicas a ReplicaSet wants (`spec.replicas`, default 1). */
export function desiredReplicas(rs: KubeObject): number {
  return rs.spec?.replicas ?? 1;
}

/**
 * Upstream `manageReplicas`, deciding only: compares active pods with `spec.replicas` and caps
 * the change at `burst`. `related` are the active pods of sibling ReplicaSets (same owner), used
 * to prefer deleting pods doubled up on a node.
 */
export function planReplicas(
  rs: KubeObject,
  activePods: KubeObject[],
  related: KubeObject[],
  now: number,
  burst = BURST_REPLICAS,
): ReplicaPlan {
  const diff = activePods.length - desiredReplicas(rs);
  if (diff < 0) return { create: Math.min(-diff, burst), delete: [] };
  if (diff > 0) return { create: 0, delete: podsToDelete(activePods, related, Math.min(diff, burst), now) };
  return { create: 0, delete: [] };
}

/** `apps/v1` ReplicaSetStatus. */
export interface ReplicaSetStatus {
  replicas: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: Condition[];
}

/**
 * Upstream `calculateStatus` plus the observed generation: counts the active pods that carry
 * every template label, are ready, and are available; sets or clears `ReplicaFailure` from the
 * error of this sync's creates or deletes.
 */
export function replicaSetStatus(
  rs: KubeObject,
  activePods: KubeObject[],
  manageError: string | undefined,
  now: number,
): ReplicaSetStatus {
  const template = rs.spec?.template?.metadata?.labels ?? {};
  const minReady = rs.spec?.minReadySeconds ?? 0;
  let fully = 0, ready = 0, available = 0;
  for (const pod of activePods) {
    const labels = pod.metadata.labels ?? {};
    if (Object.entries(template).every(([k, v]) => labels[k] === v)) fully++;
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, minReady, now)) available++;
    }
  }
  let conditions: Condition[] | undefined = rs.status?.conditions;
  const failure = getCondition(conditions, "ReplicaFailure");
  if (manageError !== undefined && !failure) {
    const diff = activePods.length - desiredReplicas(rs);
    const reason = diff < 0 ? "FailedCreate" : diff > 0 ? "FailedDelete" : "";
    conditions = setCondition(conditions, {
      type: "ReplicaFailure",
      status: "True",
      reason,
      message: manageError,
      lastTransitionTime: timestamp(now),
    });
  } else if (manageError === undefined && failure) {
    conditions = removeCondition(conditions, "ReplicaFailure");
  }
  return {
    replicas: activePods.length,
    fullyLabeledReplicas: fully,
    readyReplicas: ready,
    availableReplicas: available,
    observedGeneration: rs.metadata.generation ?? 0,
    ...(conditions?.length ? { conditions } : {}),
  };
}

/** Whether `next` differs from the ReplicaSet's current status in anything upstream compares. */
export function statusChanged(rs: KubeObject, next: ReplicaSetStatus): boolean {
  const cur = rs.status ?? {};
  return (cur.replicas ?? 0) !== next.replicas ||
    (cur.fullyLabeledReplicas ?? 0) !== (next.fullyLabeledReplicas ?? 0) ||
    (cur.readyReplicas ?? 0) !== (next.readyReplicas ?? 0) ||
    (cur.availableReplicas ?? 0) !== (next.availableReplicas ?? 0) ||
    (cur.observedGeneration ?? 0) !== (next.observedGeneration ?? 0) ||
    JSON.stringify(cur.conditions ?? []) !== JSON.stringify(next.conditions ?? []);
}

/**
 * When to look again so `availableReplicas` catches up with `minReadySeconds` (upstream requeues
 * after minReadySeconds when all pods are ready but not all available), in ms.
 */
export function availabilityRequeueMs(rs: KubeObject, status: ReplicaSetStatus): number | undefined {
  const minReady = rs.spec?.minReadySeconds ?? 0;
  const want = desiredReplicas(rs);
  if (minReady > 0 && status.readyReplicas === want && status.availableReplicas !== want) {
    return minReady * 1000;
  }
  return undefined;
}
