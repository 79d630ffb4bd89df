/**
 * TaintToleration (upstream `tainttoleration`): the Filter rejects a node with a NoSchedule or
 * NoExecute taint the pod does not tolerate; the Score counts the PreferNoSchedule taints the
 * pod does not tolerate, fewer being better (normalized in reverse).
 * @module
 */
import { type FilterPlugin, type ScorePlugin, status, type Toleration } from "../types.ts";
import { defaultNormalizeScore, tolerationsTolerate, untoleratedTaint } from "./helpers.ts";

export const taintToleration: FilterPlugin & ScorePlugin = {
  name: "TaintToleration",
  events: ["NodeAdd", "NodeTaint"],
  filter(_state, pod, node) {
    const taint = untoleratedTaint(node.node.taints, pod.tolerations);
    if (!taint) return null;
    return status(
      "UnschedulableAndUnresolvable",
      `node(s) had untolerated taint {${taint.key}: ${taint.value}}`,
    );
  },
  score(_state, pod, node) {
    const taints = node.node.taints;
    if (taints.length === 0) return 0;
    let preferNo: Toleration[] | null = null;
    let count = 0;
    for (const taint of taints) {
      if (taint.effect !== "PreferNoSchedule") continue;
      preferNo ??= pod.tolerations.filter((t) => t.effect === "" || t.effect === "PreferNoSchedule");
      if (!tolerationsTolerate(preferNo, taint)) count++;
    }
    return count;
  },
  normalizeScore(_state, _pod, _nodes, scores) {
    defaultNormalizeScore(scores, true);
  },
};
