/**
 * The `endpoints.kubernetes.io/last-change-trigger-time` annotation, as upstream's
 * `TriggerTimeTracker`: the earliest change (a pod's Ready transition, or the Service's creation)
 * that this sync is the first to reflect.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { podTriggerTime } from "./pod_endpoints.ts";

/** The annotation key. */
export const LAST_CHANGE_TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time";

interface ServiceState {
  pods: Map<string, number>;
  service: number;
}

export class TriggerTimeTracker {
  readonly #states = new Map<string, ServiceState>();

  /**
   * The trigger time for syncing `svc` with `pods` (the pods its selector matches), in ms, or 0
   * when nothing changed since the last committed sync of this Service. Call `commit()` once the
   * sync has been written (or found up to date), so a failed write is retried with the same time.
   */
  compute(svc: KubeObject, pods: KubeObject[]): { time: number; commit(): void } {
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const prev = this.#states.get(key);
    const next: ServiceState = {
      pods: new Map(),
      service: Date.parse(svc.metadata.creationTimestamp ?? "") || 0,
    };
    let min = Infinity;
    for (const pod of pods) {
      const t = podTriggerTime(pod);
      if (!t) continue;
      next.pods.set(pod.metadata.name!, t);
      if (t > (prev?.pods.get(pod.metadata.name!) ?? 0)) min = Math.min(min, t);
    }
    if (next.service > (prev?.service ?? 0)) min = Math.min(min, next.service);
    return { time: min === Infinity ? 0 : min, commit: () => void this.#states.set(key, next) };
  }

  /** Forgets a deleted Service. */
  delete(namespace: string, name: string): void {
    this.#states.delete(`${namespace}/${name}`);
  }
}

/** RFC 3339 with nanoseconds, as Go's `time.RFC3339Nano` (trailing zeros trimmed). */
export function rfc3339Nano(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, "Z").replace(/\.Z$/, "Z");
}
