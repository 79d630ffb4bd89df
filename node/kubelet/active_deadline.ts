/**
 * `spec.activeDeadlineSeconds`, as the kubelet's `activeDeadlineHandler`: a pod active on the node
 * (counted from its `status.startTime`) for that long is stopped and marked `Failed`, reason
 * `DeadlineExceeded`, with a `DeadlineExceeded` event. Pure.
 * @module
 */
import type { Pod, PodStatus } from "kubernetes-types/core/v1.d.ts";

export const DEADLINE_REASON = "DeadlineExceeded";
export const DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline";

/**
 * The ms left before the pod's active deadline (0: it has passed), or undefined when it has none
 * or has not started (`startTime` from the status last written, else the pod's).
 */
export function activeDeadlineLeft(pod: Pod, startTime: string | undefined, now: number): number | undefined {
  const seconds = pod.spec?.activeDeadlineSeconds;
  if (seconds === undefined || seconds === null || !startTime) return undefined;
  const start = Date.parse(startTime);
  if (Number.isNaN(start)) return undefined;
  return Math.max(0, start + seconds * 1000 - now);
}

/** The status of a pod stopped at its deadline: `Failed`, with upstream's reason and message. */
export function deadlineStatus(status: PodStatus): PodStatus {
  return { ...status, phase: "Failed", reason: DEADLINE_REASON, message: DEADLINE_MESSAGE };
}
