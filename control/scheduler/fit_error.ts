/**
 * Why a pod fits no node, and the message users see in the `FailedScheduling` event and the
 * `PodScheduled=False` condition, formatted exactly as upstream's `FitError.Error()`:
 * `0/3 nodes are available: 2 Insufficient cpu, 1 node(s) had untolerated taint {k: v}. preemption: ...`
 * @module
 */
import type { Code, Status } from "./types.ts";

/** Each node's rejection; nodes never evaluated share the `absent` status. */
export class NodeToStatus {
  readonly #map = new Map<string, Status>();
  /** The status of nodes not in the map (upstream default: UnschedulableAndUnresolvable, no reason). */
  absent: Status = { code: "UnschedulableAndUnresolvable", reasons: [] };

  set(node: string, s: Status): void {
    this.#map.set(node, s);
  }

  get(node: string): Status {
    return this.#map.get(node) ?? this.absent;
  }

  /** Nodes with an explicit status. */
  get size(): number {
    return this.#map.size;
  }

  entries(): IterableIterator<[string, Status]> {
    return this.#map.entries();
  }

  /** Of `nodes`, those whose status has `code` (upstream `NodesForStatusCode`). */
  nodesWithCode<T extends { node: { name: string } }>(nodes: readonly T[], code: Code): T[] {
    return nodes.filter((n) => this.get(n.node.name).code === code);
  }
}

/** What went wrong in one scheduling attempt (upstream `framework.Diagnosis`). */
export interface Diagnosis {
  nodeToStatus: NodeToStatus;
  /** Plugins that rejected the pod somewhere: only their events requeue it. */
  unschedulablePlugins: Set<string>;
  preFilterMsg: string;
  postFilterMsg: string;
}

/** A fresh, empty diagnosis. */
export function newDiagnosis(): Diagnosis {
  return {
    nodeToStatus: new NodeToStatus(),
    unschedulablePlugins: new Set(),
    preFilterMsg: "",
    postFilterMsg: "",
  };
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Upstream `FitError.Error()`. */
export function fitErrorMessage(numAllNodes: number, d: Diagnosis): string {
  let msg = `0/${numAllNodes} nodes are available:`;
  if (d.preFilterMsg) msg += ` ${d.preFilterMsg}.`;
  else {
    const counts = new Map<string, number>();
    for (const [, s] of d.nodeToStatus.entries()) {
      for (const r of s.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
    }
    const absent = numAllNodes - d.nodeToStatus.size;
    if (absent > 0) {
      for (const r of d.nodeToStatus.absent.reasons) counts.set(r, (counts.get(r) ?? 0) + absent);
    }
    const parts = [...counts].map(([r, n]) => `${n} ${r}`).sort(byteOrder);
    if (parts.length) msg += ` ${parts.join(", ")}.`;
  }
  if (d.postFilterMsg) msg += ` ${d.postFilterMsg}.`;
  return msg;
}

/** Upstream `validation.NoteLengthLimit`: the longest event message. */
export const NOTE_LENGTH_LIMIT = 1024;

/** Upstream `truncateMessage`: cuts an event message to the limit, ending it with ` ...`. */
export function truncateMessage(message: string, max = NOTE_LENGTH_LIMIT): string {
  if (message.length <= max) return message;
  const suffix = " ...";
  return message.slice(0, max - suffix.length) + suffix;
}
