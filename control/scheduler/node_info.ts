/**
 * What the scheduler knows about one node: its view and the pods bound or assumed on it, with
 * running sums of their requests (upstream's `framework.NodeInfo`). Adding and removing a pod is
 * O(1); `clone` is a shallow copy for preemption's what-if evaluation.
 * @module
 */
import { hasAffinity } from "./views.ts";
import { addTo, emptyResources } from "./resources.ts";
import type { NodeInfoView, NodeView, PodView, Resources } from "./types.ts";

export class NodeInfo implements NodeInfoView {
  node: NodeView;
  pods: PodView[] = [];
  requested: Resources = emptyResources();
  nonZeroRequested = { milliCPU: 0, memory: 0 };
  podsWithAffinity = 0;
  podsWithRequiredAntiAffinity = 0;
  /** Bumped on every change. */
  generation = 0;
  #index = new Map<string, number>();

  constructor(node: NodeView) {
    this.node = node;
  }

  /** Whether a pod with this key is on the node. */
  has(key: string): boolean {
    return this.#index.has(key);
  }

  getPod(key: string): PodView | undefined {
    const i = this.#index.get(key);
    return i === undefined ? undefined : this.pods[i];
  }

  addPod(p: PodView): void {
    if (this.#index.has(p.key)) this.removePod(p.key);
    this.#index.set(p.key, this.pods.length);
    this.pods.push(p);
    this.#account(p, 1);
  }

  /** Removes the pod with this key; returns it, or undefined if it was not here. */
  removePod(key: string): PodView | undefined {
    const i = this.#index.get(key);
    if (i === undefined) return undefined;
    const p = this.pods[i];
    const last = this.pods.pop()!;
    if (last !== p) {
      this.pods[i] = last;
      this.#index.set(last.key, i);
    }
    this.#index.delete(key);
    this.#account(p, -1);
    return p;
  }

  #account(p: PodView, sign: number): void {
    addTo(this.requested, p.requests, sign);
    this.nonZeroRequested.milliCPU += sign * p.nonZeroMilliCPU;
    this.nonZeroRequested.memory += sign * p.nonZeroMemory;
    if (hasAffinity(p)) this.podsWithAffinity += sign;
    if (p.requiredAntiAffinity.length) this.podsWithRequiredAntiAffinity += sign;
    this.generation++;
  }

  /** An independent copy (pods are shared, lists and sums are not). */
  clone(): NodeInfo {
    const c = new NodeInfo(this.node);
    c.pods = [...this.pods];
    c.#index = new Map(this.#index);
    c.requested = { ...this.requested, scalar: this.requested.scalar ? { ...this.requested.scalar } : null };
    c.nonZeroRequested = { ...this.nonZeroRequested };
    c.podsWithAffinity = this.podsWithAffinity;
    c.podsWithRequiredAntiAffinity = this.podsWithRequiredAntiAffinity;
    c.generation = this.generation;
    return c;
  }
}
