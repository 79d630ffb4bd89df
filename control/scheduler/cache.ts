/**
 * The scheduler cache (upstream `internal/cache`): nodes and the pods placed on them, including
 * pods *assumed* to be there because this scheduler just decided to bind them. An assumed pod
 * counts at once, so the next scheduling cycle sees its resources taken before the binding
 * round-trip finishes; the informer's update confirms it, a failed binding forgets it.
 *
 * Scheduling cycles run synchronously on one thread, so the cache itself is the cycle's snapshot
 * (no per-cycle copying of 5,000 nodes).
 * @module
 */
import { NodeInfo } from "./node_info.ts";
import type { NodeView, PodView, Snapshot } from "./types.ts";

function placeholder(name: string): NodeView {
  return {
    name,
    labels: {},
    unschedulable: false,
    taints: [],
    allocatable: { milliCPU: 0, memory: 0, ephemeralStorage: 0, scalar: null, pods: 0 },
    runtimeHandlers: null,
  };
}

export class SchedulerCache implements Snapshot {
  /** Every NodeInfo, including those of nodes not (yet, or any more) known but holding pods. */
  readonly #infos = new Map<string, NodeInfo>();
  readonly #present = new Set<string>();
  #list: NodeInfo[] | null = null;
  #affinityList: NodeInfo[] | null = null;
  #antiAffinityList: NodeInfo[] | null = null;
  /** Pod key → node it is on. */
  readonly #podNode = new Map<string, string>();
  readonly #assumed = new Set<string>();
  readonly #namespaces = new Map<string, Record<string, string>>();

  // ---- Snapshot ----

  nodes(): readonly NodeInfo[] {
    this.#list ??= [...this.#present].map((n) => this.#infos.get(n)!);
    return this.#list;
  }

  get(name: string): NodeInfo | undefined {
    return this.#present.has(name) ? this.#infos.get(name) : undefined;
  }

  nodesWithAffinityPods(): readonly NodeInfo[] {
    this.#affinityList ??= this.nodes().filter((n) => n.podsWithAffinity > 0);
    return this.#affinityList;
  }

  nodesWithRequiredAntiAffinityPods(): readonly NodeInfo[] {
    this.#antiAffinityList ??= this.nodes().filter((n) => n.podsWithRequiredAntiAffinity > 0);
    return this.#antiAffinityList;
  }

  namespaceLabels(namespace: string): Record<string, string> | undefined {
    return this.#namespaces.get(namespace);
  }

  // ---- nodes and namespaces ----

  /** Adds or updates a node, keeping the pods already placed on it. */
  setNode(view: NodeView): void {
    const info = this.#infos.get(view.name);
    if (info) info.node = view;
    else this.#infos.set(view.name, new NodeInfo(view));
    if (!this.#present.has(view.name)) {
      this.#present.add(view.name);
      this.#dirtyNodes();
    }
  }

  removeNode(name: string): void {
    if (!this.#present.delete(name)) return;
    const info = this.#infos.get(name)!;
    // Pods still bound to a deleted node keep counting until they go (upstream keeps the NodeInfo).
    if (info.pods.length === 0) this.#infos.delete(name);
    else info.node = placeholder(name);
    this.#dirtyNodes();
  }

  setNamespace(name: string, labels: Record<string, string>): void {
    this.#namespaces.set(name, labels);
  }

  removeNamespace(name: string): void {
    this.#namespaces.delete(name);
  }

  get nodeCount(): number {
    return this.#present.size;
  }

  // ---- pods ----

  /** Whether the pod was assumed by this scheduler and not yet confirmed by the informer. */
  isAssumed(key: string): boolean {
    return this.#assumed.has(key);
  }

  /** The node a cached pod is on, or undefined. */
  nodeOf(key: string): string | undefined {
    return this.#podNode.get(key);
  }

  /** Places a pod this scheduler is binding (`pod.nodeName` is the chosen node). */
  assumePod(pod: PodView): void {
    this.#place(pod);
    this.#assumed.add(pod.key);
  }

  /** Undoes `assumePod` after a failed binding; a confirmed pod is left alone. */
  forgetPod(key: string): void {
    if (!this.#assumed.delete(key)) return;
    this.#unplace(key);
  }

  /** Adds or updates a bound pod from the informer (confirms an assumed one). */
  addPod(pod: PodView): void {
    this.#assumed.delete(pod.key);
    this.#place(pod);
  }

  /** Removes a pod that was deleted, finished, or unbound. */
  removePod(key: string): void {
    this.#assumed.delete(key);
    this.#unplace(key);
  }

  get podCount(): number {
    return this.#podNode.size;
  }

  get assumedCount(): number {
    return this.#assumed.size;
  }

  #place(pod: PodView): void {
    this.#unplace(pod.key);
    let info = this.#infos.get(pod.nodeName);
    if (!info) this.#infos.set(pod.nodeName, info = new NodeInfo(placeholder(pod.nodeName)));
    const before = info.podsWithAffinity + info.podsWithRequiredAntiAffinity;
    info.addPod(pod);
    this.#podNode.set(pod.key, pod.nodeName);
    if (info.podsWithAffinity + info.podsWithRequiredAntiAffinity !== before) this.#dirtyAffinity();
  }

  #unplace(key: string): void {
    const node = this.#podNode.get(key);
    if (node === undefined) return;
    this.#podNode.delete(key);
    const info = this.#infos.get(node);
    if (!info) return;
    const before = info.podsWithAffinity + info.podsWithRequiredAntiAffinity;
    info.removePod(key);
    if (info.podsWithAffinity + info.podsWithRequiredAntiAffinity !== before) this.#dirtyAffinity();
    if (info.pods.length === 0 && !this.#present.has(node)) this.#infos.delete(node);
  }

  #dirtyNodes(): void {
    this.#list = null;
    this.#dirtyAffinity();
  }

  #dirtyAffinity(): void {
    this.#affinityList = null;
    this.#antiAffinityList = null;
  }
}
