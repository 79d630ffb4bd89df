/**
 * NodeResourcesBalancedAllocation (upstream `noderesources/balanced_allocation.go`): prefers
 * nodes where cpu and memory would be used in equal fractions: score = (1 − std) × 100, where
 * std is the standard deviation of the requested/allocatable fractions (capped at 1). Pods that
 * request neither are not scored by it (upstream skips best-effort pods).
 * @module
 */
import {
  MAX_NODE_SCORE,
  type NodeInfoView,
  type PodView,
  type PreScorePlugin,
  type ScorePlugin,
  status,
} from "../types.ts";

/** Upstream `balancedResourceScorer`. */
export function balancedResourceScore(requested: readonly number[], allocatable: readonly number[]): number {
  const fractions: number[] = [];
  let total = 0;
  for (let i = 0; i < requested.length; i++) {
    if (allocatable[i] === 0) continue;
    const f = Math.min(requested[i] / allocatable[i], 1);
    total += f;
    fractions.push(f);
  }
  let std = 0;
  if (fractions.length === 2) std = Math.abs((fractions[0] - fractions[1]) / 2);
  else if (fractions.length > 2) {
    const mean = total / fractions.length;
    let sum = 0;
    for (const f of fractions) sum += (f - mean) * (f - mean);
    std = Math.sqrt(sum / fractions.length);
  }
  return Math.trunc((1 - std) * MAX_NODE_SCORE);
}

/** The balanced-allocation score of the pod on the node (actual requests, not defaults). */
export function balancedAllocationScore(pod: PodView, node: NodeInfoView): number {
  const alloc = node.node.allocatable;
  // The two-resource case of balancedResourceScore, without allocating (it runs per node per pod).
  if (alloc.milliCPU === 0 || alloc.memory === 0) {
    return balancedResourceScore(
      [node.requested.milliCPU + pod.requests.milliCPU, node.requested.memory + pod.requests.memory],
      [alloc.milliCPU, alloc.memory],
    );
  }
  const cpu = Math.min((node.requested.milliCPU + pod.requests.milliCPU) / alloc.milliCPU, 1);
  const mem = Math.min((node.requested.memory + pod.requests.memory) / alloc.memory, 1);
  return Math.trunc((1 - Math.abs((cpu - mem) / 2)) * MAX_NODE_SCORE);
}

export const balancedAllocation: PreScorePlugin & ScorePlugin = {
  name: "NodeResourcesBalancedAllocation",
  events: ["NodeAdd", "NodeAllocatable", "AssignedPodDelete"],
  preScore(_state, pod) {
    return pod.requests.milliCPU === 0 && pod.requests.memory === 0 ? status("Skip") : null;
  },
  score(_state, pod, node) {
    return balancedAllocationScore(pod, node);
  },
};
