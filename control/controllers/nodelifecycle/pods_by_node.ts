/**
 * An index of pod keys by `spec.nodeName`, kept up to date from a pod informer (upstream's
 * `spec.nodeName` indexer), so node-scoped work does not scan every pod.
 * @module
 */
import type { Informer } from "../../api/informer.ts";
import { type KubeObject, objectKey } from "../../api/types.ts";

const shared = new WeakMap<Informer, PodsByNode>();

export class PodsByNode {
  /** The index of `pods`, shared by every controller using that informer. */
  static of(pods: Informer): PodsByNode {
    let index = shared.get(pods);
    if (!index) shared.set(pods, index = new PodsByNode(pods));
    return index;
  }

  readonly #byNode = new Map<string, Set<string>>();
  readonly #nodeOf = new Map<string, string>();
  readonly #pods: Informer;

  /** Registers on `pods`. */
  constructor(pods: Informer) {
    this.#pods = pods;
    pods.addHandler({
      onAdd: (p) => this.#set(p),
      onUpdate: (_, p) => this.#set(p),
      onDelete: (p) => this.#remove(objectKey(p)),
    });
  }

  #set(pod: KubeObject) {
    const key = objectKey(pod);
    const node: string = pod.spec?.nodeName ?? "";
    if (this.#nodeOf.get(key) === node) return;
    this.#remove(key);
    if (!node) return;
    this.#nodeOf.set(key, node);
    let set = this.#byNode.get(node);
    if (!set) this.#byNode.set(node, set = new Set());
    set.add(key);
  }

  #remove(key: string) {
    const node = this.#nodeOf.get(key);
    if (node === undefined) return;
    this.#nodeOf.delete(key);
    const set = this.#byNode.get(node);
    set?.delete(key);
    if (set && !set.size) this.#byNode.delete(node);
  }

  /** The cached pods bound to `nodeName`. */
  pods(nodeName: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const key of this.#byNode.get(nodeName) ?? []) {
      const p = this.#pods.getByKey(key);
      if (p) out.push(p);
    }
    return out;
  }

  /** The keys of the pods bound to `nodeName`. */
  keys(nodeName: string): string[] {
    return [...this.#byNode.get(nodeName) ?? []];
  }
}
