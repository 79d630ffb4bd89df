/**
 * PriorityClass: a pod whose `spec.priorityClassName` names no PriorityClass is unschedulable
 * until the class appears (upstream's Priority admission plugin rejects such a pod at creation;
 * Skiff's scheduler resolves the class itself, so it reports the same message here).
 * @module
 */
import { type PreFilterPlugin, status } from "../types.ts";

export const priorityClass: PreFilterPlugin = {
  name: "PriorityClass",
  events: ["PriorityClassChange"],
  preFilter(_state, pod) {
    return pod.priorityError ? status("UnschedulableAndUnresolvable", pod.priorityError) : null;
  },
};
