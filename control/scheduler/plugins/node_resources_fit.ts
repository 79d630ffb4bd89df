/**
 * NodeResourcesFit (upstream `noderesources`): the Filter checks that the pod's requests for cpu,
 * memory, ephemeral-storage and extended resources, and one more pod, fit in what the node's
 * allocatable leaves after the pods already there; the Score is the `LeastAllocated` strategy
 * (cpu and memory, weight 1 each), counting upstream's defaults for containers without requests.
 * @module
 */
import {
  type FilterPlugin,
  MAX_NODE_SCORE,
  type NodeInfoView,
  type PodView,
  type ScorePlugin,
  type Status,
} from "../types.ts";

/** One resource the pod does not fit in (upstream `InsufficientResource`). */
export interface InsufficientResource {
  resource: string;
  reason: string;
  requested: number;
  used: number;
  capacity: number;
  /** The request exceeds the node's whole allocatable: evicting pods cannot help. */
  unresolvable: boolean;
}

/** What does not fit (upstream `fitsRequest`); empty when the pod fits. */
export function insufficientResources(pod: PodView, node: NodeInfoView): InsufficientResource[] {
  const out: InsufficientResource[] = [];
  const alloc = node.node.allocatable;
  const used = node.requested;
  if (node.pods.length + 1 > alloc.pods) {
    out.push({
      resource: "pods",
      reason: "Too many pods",
      requested: 1,
      used: node.pods.length,
      capacity: alloc.pods,
      unresolvable: false,
    });
  }
  const req = pod.requests;
  if (req.milliCPU === 0 && req.memory === 0 && req.ephemeralStorage === 0 && !req.scalar) return out;
  const check = (resource: string, want: number, have: number, inUse: number) => {
    if (want > 0 && want > have - inUse) {
      out.push({
        resource,
        reason: `Insufficient ${resource}`,
        requested: want,
        used: inUse,
        capacity: have,
        unresolvable: want > have,
      });
    }
  };
  check("cpu", req.milliCPU, alloc.milliCPU, used.milliCPU);
  check("memory", req.memory, alloc.memory, used.memory);
  check("ephemeral-storage", req.ephemeralStorage, alloc.ephemeralStorage, used.ephemeralStorage);
  if (req.scalar) {
    for (const [name, want] of Object.entries(req.scalar)) {
      check(name, want, alloc.scalar?.[name] ?? 0, used.scalar?.[name] ?? 0);
    }
  }
  return out;
}

/** Upstream `leastRequestedScore`. */
export function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

/** The `LeastAllocated` score of placing the pod on the node. */
export function leastAllocatedScore(pod: PodView, node: NodeInfoView): number {
  const alloc = node.node.allocatable;
  let sum = 0;
  let weights = 0;
  if (alloc.milliCPU > 0) {
    sum += leastRequestedScore(node.nonZeroRequested.milliCPU + pod.nonZeroMilliCPU, alloc.milliCPU);
    weights++;
  }
  if (alloc.memory > 0) {
    sum += leastRequestedScore(node.nonZeroRequested.memory + pod.nonZeroMemory, alloc.memory);
    weights++;
  }
  return weights === 0 ? 0 : Math.trunc(sum / weights);
}

/** Whether the pod fits, without building the list (the common case, run per node per pod). */
function fits(pod: PodView, node: NodeInfoView): boolean {
  const alloc = node.node.allocatable;
  const used = node.requested;
  const req = pod.requests;
  return node.pods.length + 1 <= alloc.pods && !req.scalar &&
    (req.milliCPU === 0 || req.milliCPU <= alloc.milliCPU - used.milliCPU) &&
    (req.memory === 0 || req.memory <= alloc.memory - used.memory) &&
    (req.ephemeralStorage === 0 || req.ephemeralStorage <= alloc.ephemeralStorage - used.ephemeralStorage);
}

export const nodeResourcesFit: FilterPlugin & ScorePlugin = {
  name: "NodeResourcesFit",
  events: ["NodeAdd", "NodeAllocatable", "AssignedPodDelete", "AssignedPodUpdate"],
  filter(_state, pod, node): Status | null {
    if (fits(pod, node)) return null;
    const missing = insufficientResources(pod, node);
    if (missing.length === 0) return null;
    return {
      code: missing.some((m) => m.unresolvable) ? "UnschedulableAndUnresolvable" : "Unschedulable",
      reasons: missing.map((m) => m.reason),
    };
  },
  score(_state, pod, node) {
    return leastAllocatedScore(pod, node);
  },
};
