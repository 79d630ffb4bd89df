/**
 * NodePorts (upstream `nodeports`): a pod asking for host ports fits only a node where no placed
 * pod holds the same protocol and port on an overlapping address (`0.0.0.0` overlaps all).
 * @module
 */
import { type FilterPlugin, type HostPort, type PreFilterPlugin, status } from "../types.ts";

/** Upstream `ErrReason`. */
export const ERR_REASON_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports";

/** Whether two host ports collide (upstream `HostPortInfo.CheckConflict`). */
export function portsConflict(a: HostPort, b: HostPort): boolean {
  if (a.port !== b.port || a.protocol !== b.protocol) return false;
  return a.hostIP === "0.0.0.0" || b.hostIP === "0.0.0.0" || a.hostIP === b.hostIP;
}

export const nodePorts: PreFilterPlugin & FilterPlugin = {
  name: "NodePorts",
  events: ["AssignedPodDelete", "NodeAdd"],
  preFilter(_state, pod) {
    return pod.hostPorts.length === 0 ? status("Skip") : null;
  },
  filter(_state, pod, node) {
    for (const other of node.pods) {
      for (const used of other.hostPorts) {
        for (const want of pod.hostPorts) {
          if (portsConflict(want, used)) return status("Unschedulable", ERR_REASON_NODE_PORTS);
        }
      }
    }
    return null;
  },
};
