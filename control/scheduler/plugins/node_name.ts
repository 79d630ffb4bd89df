/**
 * NodeName: a pod that names a node (`spec.nodeName`) fits only that node. The scheduler only
 * schedules pods without a node name, so this matters for plugins composing a custom profile and
 * for preemption's what-if runs; kept for parity with upstream's `nodename` plugin.
 * @module
 */
import { type FilterPlugin, status } from "../types.ts";

/** Upstream `ErrReason`. */
export const ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name";

export const nodeName: FilterPlugin = {
  name: "NodeName",
  events: ["NodeAdd"],
  filter(_state, pod, node) {
    if (!pod.nodeName || pod.nodeName === node.node.name) return null;
    return status("UnschedulableAndUnresolvable", ERR_REASON_NODE_NAME);
  },
};
