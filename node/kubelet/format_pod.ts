/**
 * A pod as the kubelet names it in messages and events: `<name>_<namespace>(<uid>)`, upstream's
 * `format.Pod`.
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.d.ts";

/** `<name>_<namespace>(<uid>)`. */
export function formatPod(pod: Pod): string {
  return `${pod.metadata?.name}_${pod.metadata?.namespace}(${pod.metadata?.uid})`;
}
