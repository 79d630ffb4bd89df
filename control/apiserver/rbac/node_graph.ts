/**
 * The node authorizer's graph (upstream plugin/pkg/auth/authorizer/node/graph.go): which node
 * each bound pod runs on, what each pod uses, and which claim each PersistentVolume is bound to.
 * An object is reachable from a node when a pod on that node uses it, or (for a volume and its
 * secrets) when a pod on that node uses the claim the volume is bound to.
 *
 * Pure: fed by the pod and PV watches through {@link NodeGraph.podSink} and {@link NodeGraph.pvSink}.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { podNode, podRefs, pvRefs, refKey, type RefKind } from "./node_refs.ts";
import type { CacheSink } from "./watched.ts";

interface PodEntry {
  node: string;
  refs: string[];
}

interface PvEntry {
  claim: string | null;
  secrets: string[];
}

function addTo(index: Map<string, Set<string>>, key: string, member: string) {
  let s = index.get(key);
  if (!s) index.set(key, s = new Set());
  s.add(member);
}

function removeFrom(index: Map<string, Set<string>>, key: string, member: string) {
  const s = index.get(key);
  if (!s) return;
  s.delete(member);
  if (s.size === 0) index.delete(key);
}

export class NodeGraph {
  readonly #pods = new Map<string, PodEntry>();
  /** ref key → pods (`ns/name`) using it. */
  readonly #podsByRef = new Map<string, Set<string>>();
  readonly #pvs = new Map<string, PvEntry>();
  /** claim ref key → PVs bound to it. */
  readonly #pvsByClaim = new Map<string, Set<string>>();
  /** secret ref key → PVs naming it. */
  readonly #pvsBySecret = new Map<string, Set<string>>();

  /** Adds or replaces a pod; unscheduled pods are not in the graph. */
  setPod(pod: KubeObject): void {
    this.deletePod(pod);
    const node = podNode(pod);
    if (!node) return;
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const refs = podRefs(pod);
    this.#pods.set(key, { node, refs });
    for (const r of refs) addTo(this.#podsByRef, r, key);
  }

  deletePod(pod: KubeObject): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const old = this.#pods.get(key);
    if (!old) return;
    for (const r of old.refs) removeFrom(this.#podsByRef, r, key);
    this.#pods.delete(key);
  }

  setPV(pv: KubeObject): void {
    this.deletePV(pv);
    const name = pv.metadata.name ?? "";
    const e = pvRefs(pv);
    this.#pvs.set(name, e);
    if (e.claim) addTo(this.#pvsByClaim, e.claim, name);
    for (const s of e.secrets) addTo(this.#pvsBySecret, s, name);
  }

  deletePV(pv: KubeObject): void {
    const name = pv.metadata.name ?? "";
    const old = this.#pvs.get(name);
    if (!old) return;
    if (old.claim) removeFrom(this.#pvsByClaim, old.claim, name);
    for (const s of old.secrets) removeFrom(this.#pvsBySecret, s, name);
    this.#pvs.delete(name);
  }

  /** The node a pod is bound to, per the graph. */
  podNode(namespace: string, name: string): string | undefined {
    return this.#pods.get(`${namespace}/${name}`)?.node;
  }

  #usedOnNode(ref: string, node: string): boolean {
    for (const pod of this.#podsByRef.get(ref) ?? []) if (this.#pods.get(pod)?.node === node) return true;
    return false;
  }

  #pvOnNode(pvName: string, node: string): boolean {
    const claim = this.#pvs.get(pvName)?.claim;
    return !!claim && this.#usedOnNode(claim, node);
  }

  /** `hasPathFrom`: whether `node` reaches the object of `kind` at `namespace/name`. */
  hasPath(node: string, kind: RefKind | "pod", namespace: string, name: string): boolean {
    if (kind === "pod") return this.podNode(namespace, name) === node;
    if (kind === "persistentvolume") return this.#pvOnNode(name, node);
    const ref = refKey(kind, namespace, name);
    if (this.#usedOnNode(ref, node)) return true;
    if (kind === "secret") {
      for (const pv of this.#pvsBySecret.get(ref) ?? []) if (this.#pvOnNode(pv, node)) return true;
    }
    return false;
  }

  #clearPods() {
    this.#pods.clear();
    this.#podsByRef.clear();
  }

  #clearPVs() {
    this.#pvs.clear();
    this.#pvsByClaim.clear();
    this.#pvsBySecret.clear();
  }

  podSink(): CacheSink {
    return {
      reset: (objects) => {
        this.#clearPods();
        for (const o of objects) this.setPod(o);
      },
      set: (o) => this.setPod(o),
      delete: (o) => this.deletePod(o),
    };
  }

  pvSink(): CacheSink {
    return {
      reset: (objects) => {
        this.#clearPVs();
        for (const o of objects) this.setPV(o);
      },
      set: (o) => this.setPV(o),
      delete: (o) => this.deletePV(o),
    };
  }

  get podCount(): number {
    return this.#pods.size;
  }
}
