/**
 * The nodes a 0.2.0 scheduler guest holds (WIT `put-nodes` / `remove-nodes`), as the runner
 * tracks them for ONE instance: each node name's handle and the record version the guest was
 * given. A cycle puts only the nodes the guest does not hold as they are now; handles that no
 * cycle named for `idle` cycles (deleted nodes, mostly) are forgotten and reused, so handles stay
 * small and dense. Pure (no guest calls; the binding makes them).
 * @module
 */
import type { NodeRecord } from "../../control/api/plugins.ts";

/** A node of a cycle: its record (a new object per version) and its WIT node-view. */
export interface CycleNode {
  record: NodeRecord;
  wit: Record<string, unknown>;
}

/** What a cycle needs from the guest table. */
export interface CyclePlan {
  /** The cycle's nodes as handles, in order. */
  ids: Uint32Array;
  /** WIT node-entries to put before the cycle (new or changed nodes). */
  puts: { id: number; node: Record<string, unknown> }[];
}

/** One instance's node table. */
export class GuestNodes {
  readonly #idle: number;
  readonly #byName = new Map<string, { id: number; record: NodeRecord; used: number }>();
  readonly #free: number[] = [];
  #next = 0;
  #cycle = 0;

  /** `idle`: cycles after which an unnamed node is forgotten (default 1024). */
  constructor(opts: { idle?: number } = {}) {
    this.#idle = opts.idle ?? 1024;
  }

  /** Nodes held. */
  get size(): number {
    return this.#byName.size;
  }

  /** The handles of a cycle's nodes and what to put first; records what the guest will hold. */
  plan(nodes: readonly CycleNode[]): CyclePlan {
    const cycle = ++this.#cycle;
    const ids = new Uint32Array(nodes.length);
    const puts: CyclePlan["puts"] = [];
    nodes.forEach(({ record, wit }, i) => {
      let held = this.#byName.get(record.name);
      if (!held) {
        held = { id: this.#free.pop() ?? this.#next++, record, used: cycle };
        this.#byName.set(record.name, held);
        puts.push({ id: held.id, node: wit });
      } else if (held.record !== record) {
        held.record = record;
        puts.push({ id: held.id, node: wit });
      }
      held.used = cycle;
      ids[i] = held.id;
    });
    return { ids, puts };
  }

  /**
   * Every `idle` cycles: the handles no cycle named in the last `idle` cycles, forgotten here
   * (the caller removes them from the guest); otherwise none.
   */
  stale(): number[] {
    if (this.#cycle % this.#idle !== 0) return [];
    const out: number[] = [];
    for (const [name, held] of this.#byName) {
      if (this.#cycle - held.used >= this.#idle) {
        this.#byName.delete(name);
        this.#free.push(held.id);
        out.push(held.id);
      }
    }
    return out;
  }
}
