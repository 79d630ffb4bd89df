/**
 * Which pods to remove first, as upstream's `controller.ActivePods` and
 * `controller.ActivePodsWithRanks` (with the PodDeletionCost and LogarithmicScaleDown features on,
 * as in 1.32). Sorting puts the pods to delete first at the front.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { creationTime, isPodActive, isPodReady, maxContainerRestarts, podReadyTime } from "./pod_util.ts";

/** The pod annotation that ranks pods for scale-down (lower cost goes first). */
export const POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost";

const PHASE_ORDINAL: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function phaseOrdinal(pod: KubeObject): number {
  return PHASE_ORDINAL[pod.status?.phase ?? ""] ?? 0;
}

/** The pod's deletion cost (an int32 annotation; anything unparsable counts as 0). */
export function deletionCost(pod: KubeObject): number {
  const v = pod.metadata.annotations?.[POD_DELETION_COST];
  if (v === undefined || !/^[+-]?\d+$/.test(v.trim())) return 0;
  const n = Number(v.trim());
  return n >= -(2 ** 31) && n < 2 ** 31 ? n : 0;
}

/** Upstream `afterOrZero`: true when `a` is unset (0) or later than `b`. */
function afterOrZero(a: number, b: number): boolean {
  if (a === 0 || b === 0) return a === 0;
  return a > b;
}

/** floor(log2(age in ns)) of each time relative to `now`, subtracted (upstream `logarithmicRankDiff`). */
export function logarithmicRankDiff(t1: number, t2: number, now: number): number {
  const d1 = (now - t1) * 1e6;
  const d2 = (now - t2) * 1e6;
  const r1 = d1 > 0 ? Math.floor(Math.log2(d1)) : -1;
  const r2 = d2 > 0 ? Math.floor(Math.log2(d2)) : -1;
  return r1 - r2;
}

function uidLess(a: KubeObject, b: KubeObject): boolean {
  return (a.metadata.uid ?? "") < (b.metadata.uid ?? "");
}

function common(a: KubeObject, b: KubeObject): boolean | undefined {
  const na = a.spec?.nodeName ?? "", nb = b.spec?.nodeName ?? "";
  if (na !== nb && (na === "" || nb === "")) return na === "";
  if (phaseOrdinal(a) !== phaseOrdinal(b)) return phaseOrdinal(a) < phaseOrdinal(b);
  if (isPodReady(a) !== isPodReady(b)) return !isPodReady(a);
  return undefined;
}

/** Upstream `ActivePods.Less`: whether `a` should be deleted before `b`. */
export function activePodLess(a: KubeObject, b: KubeObject): boolean {
  const c = common(a, b);
  if (c !== undefined) return c;
  if (isPodReady(a) && isPodReady(b)) {
    const ra = podReadyTime(a) ?? 0, rb = podReadyTime(b) ?? 0;
    if (ra !== rb) return afterOrZero(ra, rb);
  }
  if (maxContainerRestarts(a) !== maxContainerRestarts(b)) {
    return maxContainerRestarts(a) > maxContainerRestarts(b);
  }
  const ca = creationTime(a), cb = creationTime(b);
  if (ca !== cb) return afterOrZero(ca, cb);
  return false;
}

/** Upstream `ActivePodsWithRanks.Less`, `rank` being the number of related active pods on a pod's node. */
export function rankedPodLess(
  a: KubeObject,
  rankA: number,
  b: KubeObject,
  rankB: number,
  now: number,
): boolean {
  const c = common(a, b);
  if (c !== undefined) return c;
  const costA = deletionCost(a), costB = deletionCost(b);
  if (costA !== costB) return costA < costB;
  if (rankA !== rankB) return rankA > rankB;
  if (isPodReady(a) && isPodReady(b)) {
    const ra = podReadyTime(a) ?? 0, rb = podReadyTime(b) ?? 0;
    if (ra !== rb) {
      if (!now || !ra || !rb) return afterOrZero(ra, rb);
      const diff = logarithmicRankDiff(ra, rb, now);
      return diff === 0 ? uidLess(a, b) : diff < 0;
    }
  }
  if (maxContainerRestarts(a) !== maxContainerRestarts(b)) {
    return maxContainerRestarts(a) > maxContainerRestarts(b);
  }
  const ca = creationTime(a), cb = creationTime(b);
  if (ca !== cb) {
    if (!now || !ca || !cb) return afterOrZero(ca, cb);
    const diff = logarithmicRankDiff(ca, cb, now);
    return diff === 0 ? uidLess(a, b) : diff < 0;
  }
  return false;
}

function toCompare<T>(less: (a: T, b: T) => boolean): (a: T, b: T) => number {
  return (a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : 0);
}

/** Active pods ordered deletion-first (upstream `sort.Sort(controller.ActivePods(pods))`). */
export function sortActivePods(pods: KubeObject[]): KubeObject[] {
  return [...pods].sort(toCompare(activePodLess));
}

/**
 * The `count` pods a ReplicaSet should delete first (upstream `getPodsToDelete`): pods are ranked
 * by how many active `related` pods (pods of sibling ReplicaSets too) share their node.
 */
export function podsToDelete(
  pods: KubeObject[],
  related: KubeObject[],
  count: number,
  now: number,
): KubeObject[] {
  if (count >= pods.length) return [...pods];
  const onNode = new Map<string, number>();
  for (const p of related) {
    if (!isPodActive(p)) continue;
    const n = p.spec?.nodeName ?? "";
    onNode.set(n, (onNode.get(n) ?? 0) + 1);
  }
  const ranked = pods.map((pod) => ({ pod, rank: onNode.get(pod.spec?.nodeName ?? "") ?? 0 }));
  ranked.sort(toCompare((x, y) => rankedPodLess(x.pod, x.rank, y.pod, y.rank, now)));
  return ranked.slice(0, count).map((r) => r.pod);
}
