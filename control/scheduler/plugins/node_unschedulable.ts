/**
 * NodeUnschedulable: a cordoned node (`spec.unschedulable`) takes only pods that tolerate the
 * `node.kubernetes.io/unschedulable:NoSchedule` taint (upstream `nodeunschedulable`).
 * @module
 */
import { type FilterPlugin, status } from "../types.ts";
import { tolerationsTolerate } from "./helpers.ts";

/** Upstream `ErrReasonUnschedulable`. */
export const ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable";

const UNSCHEDULABLE_TAINT = {
  key: "node.kubernetes.io/unschedulable",
  value: "",
  effect: "NoSchedule" as const,
};

export const nodeUnschedulable: FilterPlugin = {
  name: "NodeUnschedulable",
  events: ["NodeAdd", "NodeTaint"],
  filter(_state, pod, node) {
    if (!node.node.unschedulable) return null;
    if (tolerationsTolerate(pod.tolerations, UNSCHEDULABLE_TAINT)) return null;
    return status("UnschedulableAndUnresolvable", ERR_REASON_UNSCHEDULABLE);
  },
};
