/**
 * Pods nominated to a node by preemption (upstream's `nominator`): while the victims terminate,
 * the space is kept for the preemptor, because Filter counts nominated pods of at least the same
 * priority as if they were already there.
 * @module
 */
import type { NominatedPods } from "./framework.ts";
import type { PodView } from "./types.ts";

export class Nominator implements NominatedPods {
  readonly #byNode = new Map<string, PodView[]>();
  readonly #nodeOf = new Map<string, string>();

  /** Records that `pod` is nominated to `node` ("" clears the nomination). */
  set(pod: PodView, node: string): void {
    this.delete(pod.key);
    if (!node) return;
    this.#nodeOf.set(pod.key, node);
    let list = this.#byNode.get(node);
    if (!list) this.#byNode.set(node, list = []);
    list.push(pod);
  }

  /** Forgets the pod's nomination (it was bound, deleted, or nominated elsewhere). */
  delete(key: string): void {
    const node = this.#nodeOf.get(key);
    if (node === undefined) return;
    this.#nodeOf.delete(key);
    const list = this.#byNode.get(node)!.filter((p) => p.key !== key);
    if (list.length) this.#byNode.set(node, list);
    else this.#byNode.delete(node);
  }

  /** The node the pod is nominated to, or "". */
  nodeFor(key: string): string {
    return this.#nodeOf.get(key) ?? "";
  }

  nominatedPodsForNode(node: string): readonly PodView[] {
    return this.#byNode.get(node) ?? [];
  }

  get size(): number {
    return this.#nodeOf.size;
  }
}
