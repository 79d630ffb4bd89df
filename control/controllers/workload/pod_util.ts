/**
 * Pod predicates the workload controllers share, as upstream's `k8s.io/kubernetes/pkg/api/v1/pod`
 * and `controller.FilterActivePods`: ready, available (ready for at least `minReadySeconds`),
 * active (not finished, not being deleted), terminating.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";

/** A condition of a pod's status, when present. */
export function podCondition(
  pod: KubeObject,
  type: string,
): { status?: string; lastTransitionTime?: string } | undefined {
  return (pod.status?.conditions as
    | { type: string; status?: string; lastTransitionTime?: string }[]
    | undefined)
    ?.find((c) => c.type === type);
}

/** Whether the pod's `Ready` condition is `True` (upstream `IsPodReady`). */
export function isPodReady(pod: KubeObject): boolean {
  return podCondition(pod, "Ready")?.status === "True";
}

/** When the pod last became Ready, in ms, or undefined when it is not ready or the time is unknown. */
export function podReadyTime(pod: KubeObject): number | undefined {
  const c = podCondition(pod, "Ready");
  if (c?.status !== "True" || !c.lastTransitionTime) return undefined;
  const t = Date.parse(c.lastTransitionTime);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Whether the pod has been ready for at least `minReadySeconds` at `now` (upstream `IsPodAvailable`).
 * A ready pod with no transition time counts as available only when `minReadySeconds` is 0.
 */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, now: number): boolean {
  if (!isPodReady(pod)) return false;
  if (!minReadySeconds) return true;
  const t = podReadyTime(pod);
  return t !== undefined && t + minReadySeconds * 1000 < now;
}

/** Succeeded or Failed. */
export function isPodTerminal(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

/** Neither finished nor marked for deletion (upstream `controller.IsPodActive`). */
export function isPodActive(pod: KubeObject): boolean {
  return !isPodTerminal(pod) && !pod.metadata.deletionTimestamp;
}

/** Marked for deletion but not yet finished (upstream `controller.IsPodTerminating`). */
export function isPodTerminating(pod: KubeObject): boolean {
  return !isPodTerminal(pod) && !!pod.metadata.deletionTimestamp;
}

/** The highest restart count among the pod's containers. */
export function maxContainerRestarts(pod: KubeObject): number {
  let max = 0;
  for (const s of (pod.status?.containerStatuses ?? []) as { restartCount?: number }[]) {
    max = Math.max(max, s.restartCount ?? 0);
  }
  return max;
}

/** The sum of restart counts of the pod's init and app containers. */
export function totalContainerRestarts(pod: KubeObject): number {
  let sum = 0;
  for (const s of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    sum += (s as { restartCount?: number }).restartCount ?? 0;
  }
  return sum;
}

/** `metadata.creationTimestamp` in ms (0 when missing). */
export function creationTime(obj: KubeObject): number {
  const t = obj.metadata.creationTimestamp ? Date.parse(obj.metadata.creationTimestamp) : NaN;
  return Number.isNaN(t) ? 0 : t;
}

/** An RFC 3339 timestamp with second precision, as `metav1.Time` serializes. */
export function timestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}
