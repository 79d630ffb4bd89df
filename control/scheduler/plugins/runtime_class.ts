/**
 * RuntimeClass (Skiff's own plugin; upstream has no scheduler plugin for it): a pod whose
 * `spec.runtimeClassName` names a RuntimeClass lands only on nodes that list the class's
 * `handler` in `status.runtimeHandlers[].name`. A node that reports no runtime handlers supports
 * none. The class's `scheduling.nodeSelector` and `scheduling.tolerations` are merged into the
 * pod view (see views.ts), so NodeAffinity and TaintToleration enforce them; a missing class or
 * a conflicting nodeSelector fails PreFilter.
 * @module
 */
import { type FilterPlugin, type PreFilterPlugin, status } from "../types.ts";

/** The reason a node without the handler gets. */
export function errReasonHandler(handler: string): string {
  return `node(s) didn't have runtime handler "${handler}"`;
}

export const runtimeClass: PreFilterPlugin & FilterPlugin = {
  name: "RuntimeClass",
  events: ["NodeAdd", "NodeRuntimeHandlers", "RuntimeClassChange"],
  preFilter(_state, pod) {
    const rc = pod.runtimeClass;
    if (!rc) return status("Skip");
    if (rc.error) return status("UnschedulableAndUnresolvable", rc.error);
    return null;
  },
  filter(_state, pod, node) {
    const handler = pod.runtimeClass!.handler;
    if (node.node.runtimeHandlers?.includes(handler)) return null;
    return status("UnschedulableAndUnresolvable", errReasonHandler(handler));
  },
};
