/**
 * The StatefulSet controller's decisions, pure (upstream `updateStatefulSet`, `processReplica`,
 * `processCondemned`, `updateStatefulSetAfterInvariantEstablished`, `updateStatus`,
 * `completeRollingUpdate`). With OrderedReady management the plan stops at the first pod that
 * blocks (created but not Running and Ready, or terminating), so pods come up in ordinal order
 * and go down in reverse; with Parallel management every step is planned at once. Rolling
 * updates delete the highest-ordinal out-of-date pod at or above the partition, one at a time.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { isPodAvailable, isPodReady } from "../workload/pod_util.ts";
import {
  identityMatches,
  inOrdinalRange,
  newStatefulSetPod,
  ordinalOf,
  podRevision,
  startOrdinal,
  storageMatches,
} from "./identity.ts";

/** One thing the controller does to a pod. */
export type SetStep =
  | { kind: "recreate"; pod: KubeObject; failed: boolean }
  | { kind: "create"; pod: KubeObject }
  | { kind: "claims"; pod: KubeObject }
  | { kind: "update"; pod: KubeObject }
  | { kind: "delete"; pod: KubeObject; why: "scale" | "update" };

/** `apps/v1` StatefulSetStatus. */
export interface StatefulSetStatus {
  observedGeneration: number;
  replicas: number;
  readyReplicas: number;
  currentReplicas: number;
  updatedReplicas: number;
  availableReplicas: number;
  currentRevision: string;
  updateRevision: string;
  collisionCount: number;
}

/** One sync's steps and the status they lead to. */
export interface SetPlan {
  /** OrderedReady: run every step in order. Parallel: each replica's steps in parallel, then the rest. */
  monotonic: boolean;
  /** Steps per replica, in ordinal order. */
  replicas: SetStep[][];
  /** Scale-down deletions, highest ordinal first. */
  condemned: SetStep[];
  /** The rolling-update deletion, if any. */
  update: SetStep[];
  status: StatefulSetStatus;
}

/** What the planner knows about the revisions. */
export interface RevisionInfo {
  currentName: string;
  updateName: string;
  /** The set with the current revision's template. */
  currentSet: KubeObject;
  /** The set with the update revision's template. */
  updateSet: KubeObject;
}

/** A pod read from the API (built pods have no UID until created). */
const isCreated = (p: KubeObject) => p.metadata.uid !== undefined;
const isTerminating = (p: KubeObject) => !!p.metadata.deletionTimestamp;
const isRunningAndReady = (p: KubeObject) => p.status?.phase === "Running" && isPodReady(p);
const isHealthy = (p: KubeObject) => isRunningAndReady(p) && !isTerminating(p);

/** Upstream `newVersionedStatefulSetPod`: ordinals below the partition keep the current revision. */
export function versionedPod(set: KubeObject, rev: RevisionInfo, ordinal: number): KubeObject {
  const ru = rev.currentSet.spec?.updateStrategy;
  const rolling = (ru?.type ?? "RollingUpdate") === "RollingUpdate";
  const partition = ru?.rollingUpdate?.partition;
  const current = rolling &&
    ((partition === undefined && ordinal < (set.status?.currentReplicas ?? 0)) ||
      (partition !== undefined && ordinal < partition));
  return current
    ? newStatefulSetPod(rev.currentSet, ordinal, rev.currentName)
    : newStatefulSetPod(rev.updateSet, ordinal, rev.updateName);
}

/** Upstream `updateStatus`/`computeReplicaStatus` over the given pods. */
export function countStatus(pods: KubeObject[], minReadySeconds: number, rev: RevisionInfo, now: number) {
  let replicas = 0, ready = 0, available = 0, current = 0, updated = 0;
  for (const pod of pods) {
    if (isCreated(pod)) replicas++;
    if (isRunningAndReady(pod)) {
      ready++;
      if (isPodAvailable(pod, minReadySeconds, now)) available++;
    }
    if (isCreated(pod) && !isTerminating(pod)) {
      if (podRevision(pod) === rev.currentName) current++;
      if (podRevision(pod) === rev.updateName) updated++;
    }
  }
  return {
    replicas,
    readyReplicas: ready,
    availableReplicas: available,
    currentReplicas: current,
    updatedReplicas: updated,
  };
}

/** Plans one sync of `set` over its claimed `pods`. */
export function planStatefulSet(
  set: KubeObject,
  pods: KubeObject[],
  rev: RevisionInfo,
  now: number,
): SetPlan {
  const minReady = set.spec?.minReadySeconds ?? 0;
  const available = (p: KubeObject) => p.status?.phase === "Running" && isPodAvailable(p, minReady, now);
  const count = set.spec?.replicas ?? 1;
  const start = startOrdinal(set);
  const replicas: KubeObject[] = new Array(count);
  const condemned: KubeObject[] = [];
  for (const pod of pods) {
    if (inOrdinalRange(set, pod)) replicas[ordinalOf(pod) - start] = pod;
    else if (ordinalOf(pod) >= 0) condemned.push(pod);
  }
  for (let i = 0; i < count; i++) replicas[i] ??= versionedPod(set, rev, i + start);
  condemned.sort((a, b) => ordinalOf(b) - ordinalOf(a));
  let firstUnhealthy: KubeObject | undefined = replicas.find((p) => !isHealthy(p));
  if (!firstUnhealthy) {
    for (let i = condemned.length - 1; i >= 0; i--) {
      if (!isHealthy(condemned[i])) firstUnhealthy ??= condemned[i];
    }
  }

  const monotonic = (set.spec?.podManagementPolicy ?? "OrderedReady") !== "Parallel";
  const plan: SetPlan = {
    monotonic,
    replicas: [],
    condemned: [],
    update: [],
    status: undefined as unknown as StatefulSetStatus,
  };
  const finish = (currentDeleted = 0): SetPlan => {
    const counts = countStatus([...replicas, ...condemned], minReady, rev, now);
    plan.status = {
      observedGeneration: set.metadata.generation ?? 0,
      ...counts,
      currentReplicas: counts.currentReplicas - currentDeleted,
      currentRevision: rev.currentName,
      updateRevision: rev.updateName,
      collisionCount: set.status?.collisionCount ?? 0,
    };
    return plan;
  };
  if (set.metadata.deletionTimestamp) return finish();

  // processReplica for each replica
  for (let i = 0; i < count; i++) {
    const steps: SetStep[] = [];
    plan.replicas.push(steps);
    let pod = replicas[i];
    const phase = pod.status?.phase;
    if (isCreated(pod) && (phase === "Failed" || phase === "Succeeded")) {
      steps.push({ kind: "recreate", pod, failed: phase === "Failed" });
      pod = replicas[i] = versionedPod(set, rev, i + start);
    }
    if (!isCreated(pod)) {
      steps.push({ kind: "create", pod });
      if (monotonic) return finish();
      continue;
    }
    if (phase === "Pending") steps.push({ kind: "claims", pod });
    if (monotonic && (isTerminating(pod) || !isRunningAndReady(pod) || !available(pod))) return finish();
    if (!identityMatches(set, pod) || !storageMatches(set, pod)) steps.push({ kind: "update", pod });
  }

  // processCondemned, highest ordinal first
  for (const pod of condemned) {
    if (isTerminating(pod)) {
      if (monotonic) return finish();
      continue;
    }
    if (monotonic && pod !== firstUnhealthy && (!isRunningAndReady(pod) || !available(pod))) return finish();
    plan.condemned.push({ kind: "delete", pod, why: "scale" });
    if (monotonic) return finish();
  }

  const strategy = set.spec?.updateStrategy ?? {};
  if (strategy.type === "OnDelete") return finish();
  // updateStatefulSetAfterInvariantEstablished with maxUnavailable 1
  const updateMin = strategy.rollingUpdate?.partition ?? 0;
  if (replicas.some((p) => !isHealthy(p))) return finish();
  for (let target = replicas.length - 1; target >= updateMin; target--) {
    const pod = replicas[target];
    if (podRevision(pod) !== rev.updateName && !isTerminating(pod)) {
      plan.update.push({ kind: "delete", pod, why: "update" });
      return finish(1);
    }
  }
  return finish();
}

/** Upstream `completeRollingUpdate`: once every pod is updated and ready, the update revision is current. */
export function completeRollingUpdate(set: KubeObject, status: StatefulSetStatus): StatefulSetStatus {
  const rolling = (set.spec?.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate";
  if (rolling && status.updatedReplicas === status.replicas && status.readyReplicas === status.replicas) {
    return { ...status, currentReplicas: status.updatedReplicas, currentRevision: status.updateRevision };
  }
  return status;
}

/** Upstream `inconsistentStatus`: whether the stored status differs from the computed one. */
export function statusDiffers(set: KubeObject, s: StatefulSetStatus): boolean {
  const cur = set.status ?? {};
  return (cur.observedGeneration ?? 0) !== s.observedGeneration || (cur.replicas ?? 0) !== s.replicas ||
    (cur.readyReplicas ?? 0) !== s.readyReplicas || (cur.currentReplicas ?? 0) !== s.currentReplicas ||
    (cur.updatedReplicas ?? 0) !== s.updatedReplicas ||
    (cur.availableReplicas ?? 0) !== s.availableReplicas ||
    (cur.currentRevision ?? "") !== s.currentRevision || (cur.updateRevision ?? "") !== s.updateRevision ||
    (cur.collisionCount ?? 0) !== s.collisionCount;
}
