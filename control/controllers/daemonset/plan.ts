/**
 * The DaemonSet controller's decisions, pure (upstream `manage`/`podsShouldBeOnNode`,
 * `rollingUpdate` and `updateDaemonSetStatus`): on which nodes to create a daemon pod, which pods
 * to delete, and the status `kubectl rollout status ds/x` reads.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { scaledValue } from "../workload/int_or_percent.ts";
import { CONTROLLER_REVISION_HASH } from "../workload/history.ts";
import { creationTime, isPodAvailable, isPodReady, isPodTerminal } from "../workload/pod_util.ts";
import { nodeShouldRunDaemonPod, targetNodeName } from "./eligibility.ts";

/** Upstream's DaemonSet `BurstReplicas`. */
export const DS_BURST_REPLICAS = 250;

/** Scheduled first, then oldest, then by name (upstream `podByCreationTimestampAndPhase`). */
export function byCreationAndPhase(a: KubeObject, b: KubeObject): number {
  const sa = !!a.spec?.nodeName, sb = !!b.spec?.nodeName;
  if (sa !== sb) return sa ? -1 : 1;
  const d = creationTime(a) - creationTime(b);
  return d !== 0 ? d : (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
}

/** Daemon pods by the node they are on or pinned to; deleted finished pods are left out unless asked. */
export function podsByNode(pods: KubeObject[], includeDeletedTerminal = false): Map<string, KubeObject[]> {
  const map = new Map<string, KubeObject[]>();
  for (const pod of pods) {
    if (!includeDeletedTerminal && isPodTerminal(pod) && pod.metadata.deletionTimestamp) continue;
    const node = targetNodeName(pod);
    if (node === undefined) continue;
    if (!map.has(node)) map.set(node, []);
    map.get(node)!.push(pod);
  }
  return map;
}

/** Upstream `IsPodUpdated` (by revision hash; the deprecated template generation is not used). */
export function isPodUpdated(pod: KubeObject, hash: string): boolean {
  return !!hash && pod.metadata.labels?.[CONTROLLER_REVISION_HASH] === hash;
}

function allowsSurge(ds: KubeObject): boolean {
  return surgeCount(ds, 1) > 0;
}

/** Upstream `UnavailableCount` (percentages round up; unset is the API default, 1). */
export function unavailableCount(ds: KubeObject, numberToSchedule: number): number {
  if ((ds.spec?.updateStrategy?.type ?? "RollingUpdate") !== "RollingUpdate") return 0;
  return scaledValue(ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1, numberToSchedule, true);
}

/** Upstream `SurgeCount` (percentages round up; unset is the API default, 0). */
export function surgeCount(ds: KubeObject, numberToSchedule: number): number {
  if ((ds.spec?.updateStrategy?.type ?? "RollingUpdate") !== "RollingUpdate") return 0;
  return scaledValue(ds.spec?.updateStrategy?.rollingUpdate?.maxSurge ?? 0, numberToSchedule, true);
}

/** What one sync should do. */
export interface DaemonPlan {
  /** Nodes that need a daemon pod. */
  createOn: string[];
  /** Names of pods to delete. */
  deletePods: string[];
  /** Failed pods found (each is in `deletePods`; upstream records `FailedDaemonPod` for them). */
  failed: { pod: KubeObject; node: string }[];
  /** Failed pods left alone because their node is in back-off: look again after this long. */
  retryAfterMs?: number;
}

/**
 * Upstream `podsShouldBeOnNode` for every node (the `manage` loop): create where a daemon pod
 * should run and none exists; delete failed and succeeded pods, extra pods (keeping the oldest,
 * or with surge one old and one new), and pods on nodes where they may not continue.
 * `backoffMs(node)` says how long failed pods on a node must still wait before being replaced.
 */
export function planManage(
  ds: KubeObject,
  nodes: KubeObject[],
  byNode: Map<string, KubeObject[]>,
  hash: string,
  now: number,
  backoffMs: (node: string) => number = () => 0,
): DaemonPlan {
  const plan: DaemonPlan = { createOn: [], deletePods: [], failed: [] };
  const minReady = ds.spec?.minReadySeconds ?? 0;
  for (const node of nodes) {
    const name = node.metadata.name!;
    const { shouldRun, shouldContinueRunning } = nodeShouldRunDaemonPod(node, ds);
    const pods = byNode.get(name);
    if (shouldRun && !pods) {
      plan.createOn.push(name);
      continue;
    }
    if (shouldContinueRunning) {
      const running: KubeObject[] = [];
      for (const pod of pods ?? []) {
        if (pod.metadata.deletionTimestamp) continue;
        if (pod.status?.phase === "Failed") {
          const wait = backoffMs(name);
          if (wait > 0) {
            plan.retryAfterMs = Math.min(plan.retryAfterMs ?? Infinity, wait);
            continue;
          }
          plan.failed.push({ pod, node: name });
          plan.deletePods.push(pod.metadata.name!);
        } else if (pod.status?.phase === "Succeeded") {
          plan.deletePods.push(pod.metadata.name!);
        } else running.push(pod);
      }
      if (running.length <= 1) continue;
      running.sort(byCreationAndPhase);
      if (!allowsSurge(ds)) {
        for (const pod of running.slice(1)) plan.deletePods.push(pod.metadata.name!);
        continue;
      }
      let oldestNew: KubeObject | undefined, oldestOld: KubeObject | undefined;
      for (const pod of running) {
        if (isPodUpdated(pod, hash)) {
          if (!oldestNew) {
            oldestNew = pod;
            continue;
          }
        } else if (!oldestOld) {
          oldestOld = pod;
          continue;
        }
        plan.deletePods.push(pod.metadata.name!);
      }
      if (oldestNew && oldestOld) {
        if (!isPodReady(oldestOld) || isPodAvailable(oldestNew, minReady, now)) {
          plan.deletePods.push(oldestOld.metadata.name!);
        }
      }
    } else if (pods) {
      for (const pod of pods) if (!pod.metadata.deletionTimestamp) plan.deletePods.push(pod.metadata.name!);
    }
  }
  return plan;
}

/** Upstream `findUpdatedPodsOnNode`: at most one new and one old live pod, else not ok. */
export function updatedPodsOnNode(
  pods: KubeObject[],
  hash: string,
): { newPod?: KubeObject; oldPod?: KubeObject; ok: boolean } {
  let newPod: KubeObject | undefined, oldPod: KubeObject | undefined;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    if (isPodUpdated(pod, hash)) {
      if (newPod) return { ok: false };
      newPod = pod;
    } else {
      if (oldPod) return { ok: false };
      oldPod = pod;
    }
  }
  return { newPod, oldPod, ok: true };
}

/**
 * Upstream `rollingUpdate`. Without surge: delete old pods (unavailable ones always, available
 * ones while under maxUnavailable) and let the manage loop recreate them. With surge: create new
 * pods next to old ones (up to maxSurge, unavailable old ones always) and delete an old pod once
 * the new one on its node is available.
 */
export function planRollingUpdate(
  ds: KubeObject,
  nodes: KubeObject[],
  byNode: Map<string, KubeObject[]>,
  hash: string,
  now: number,
): { createOn: string[]; deletePods: string[] } {
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const available = (p: KubeObject) => isPodAvailable(p, minReady, now);
  const pods = new Map(byNode);
  let desired = 0;
  const nodeByName = new Map<string, KubeObject>();
  for (const node of nodes) {
    nodeByName.set(node.metadata.name!, node);
    if (!nodeShouldRunDaemonPod(node, ds).shouldRun) continue;
    desired++;
    if (!pods.has(node.metadata.name!)) pods.set(node.metadata.name!, []);
  }
  let maxUnavailable = unavailableCount(ds, desired);
  const maxSurge = surgeCount(ds, desired);
  if (desired > 0 && maxUnavailable === 0 && maxSurge === 0) maxUnavailable = 1;

  if (maxSurge === 0) {
    let numUnavailable = 0;
    const replace: string[] = [], candidates: string[] = [];
    for (const [, list] of pods) {
      const { newPod, oldPod, ok } = updatedPodsOnNode(list, hash);
      if (!ok) {
        numUnavailable++;
        continue;
      }
      if ((!oldPod && !newPod) || (oldPod && newPod)) numUnavailable++;
      else if (newPod) {
        if (!available(newPod)) numUnavailable++;
      } else if (!available(oldPod!)) replace.push(oldPod!.metadata.name!);
      else if (numUnavailable < maxUnavailable) candidates.push(oldPod!.metadata.name!);
    }
    const remaining = Math.min(Math.max(maxUnavailable - numUnavailable, 0), candidates.length);
    return { createOn: [], deletePods: [...replace, ...candidates.slice(0, remaining)] };
  }

  const deletePods: string[] = [],
    shouldNotRun: string[] = [],
    candidates: string[] = [],
    allowed: string[] = [];
  let numSurge = 0, numAvailable = 0;
  for (const [nodeName, list] of pods) {
    const { newPod, oldPod, ok } = updatedPodsOnNode(list, hash);
    if (!ok) {
      numSurge++;
      continue;
    }
    if (oldPod ? available(oldPod) : newPod && available(newPod)) numAvailable++;
    if (!oldPod) continue;
    const node = nodeByName.get(nodeName);
    const shouldRun = !!node && nodeShouldRunDaemonPod(node, ds).shouldRun;
    if (!newPod) {
      if (!available(oldPod)) {
        if (!shouldRun) deletePods.push(oldPod.metadata.name!);
        else allowed.push(nodeName);
      } else if (!shouldRun) shouldNotRun.push(oldPod.metadata.name!);
      else if (numSurge < maxSurge) candidates.push(nodeName);
    } else if (!available(newPod)) numSurge++;
    else deletePods.push(oldPod.metadata.name!);
  }
  const deletable = Math.min(Math.max(numAvailable - desired, 0), shouldNotRun.length);
  deletePods.push(...shouldNotRun.slice(0, deletable));
  const remaining = Math.min(Math.max(maxSurge - numSurge, 0), candidates.length);
  return { createOn: [...allowed, ...candidates.slice(0, remaining)], deletePods };
}

/** `apps/v1` DaemonSetStatus. */
export interface DaemonSetStatus {
  currentNumberScheduled: number;
  numberMisscheduled: number;
  desiredNumberScheduled: number;
  numberReady: number;
  observedGeneration?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  numberUnavailable?: number;
  collisionCount?: number;
}

/** Upstream `updateDaemonSetStatus`'s counts, looking at the oldest pod on each node. */
export function daemonSetStatus(
  ds: KubeObject,
  nodes: KubeObject[],
  byNode: Map<string, KubeObject[]>,
  hash: string,
  now: number,
  updateObservedGen: boolean,
): DaemonSetStatus {
  let desired = 0, current = 0, misscheduled = 0, ready = 0, updated = 0, available = 0;
  const minReady = ds.spec?.minReadySeconds ?? 0;
  for (const node of nodes) {
    const { shouldRun } = nodeShouldRunDaemonPod(node, ds);
    const pods = byNode.get(node.metadata.name!) ?? [];
    const scheduled = pods.length > 0;
    if (shouldRun) {
      desired++;
      if (!scheduled) continue;
      current++;
      const pod = [...pods].sort(byCreationAndPhase)[0];
      if (isPodReady(pod)) {
        ready++;
        if (isPodAvailable(pod, minReady, now)) available++;
      }
      if (isPodUpdated(pod, hash)) updated++;
    } else if (scheduled) misscheduled++;
  }
  return {
    currentNumberScheduled: current,
    numberMisscheduled: misscheduled,
    desiredNumberScheduled: desired,
    numberReady: ready,
    observedGeneration: updateObservedGen
      ? (ds.metadata.generation ?? 0)
      : (ds.status?.observedGeneration ?? 0),
    updatedNumberScheduled: updated,
    numberAvailable: available,
    numberUnavailable: desired - available,
    ...(ds.status?.collisionCount !== undefined ? { collisionCount: ds.status.collisionCount } : {}),
  };
}
