/**
 * The scheduler's direct path to its Wasm plugins' runners (control/api/plugin_direct.ts; the
 * runner's side is plugins/host/direct.ts): a cycle goes straight to each plugin's runner
 * process on its unix socket — scheduler → runner → scheduler, two process wake-ups instead of
 * the four of the relay through the plugin host — with the body of the host's `POST
 * /scheduler/cycle` naming that plugin only.
 *
 * The node cache lives here, where the calls come from. This scheduler numbers its nodes (a
 * slot per node name, in the order it first sends them, so the rotating window of candidates is
 * one or two runs of slots; a deleted node's slot is reused), and keeps per runner (by the id
 * the plugin host publishes for it; a recycled or replaced runner is a new process with a new id,
 * holding nothing) each slot's node JSON as last sent to it in full. A call names its candidates
 * as `[start, count]` ranges of slots (`slots`), with the nodes changed since (or never) sent put
 * in full into their slots (`put`); the runner resolves them against this scheduler's own slot
 * table there (named by `session`). A slot the runner does not hold gets 409 NodeCacheMiss and
 * the call is sent again with every node in full; any failed or unanswered call forgets what
 * that runner holds (it may hold newer versions than this side knows of), so the next call sends
 * every node in full. The guest's own node handles are per instance (plugins/scheduler/guest_nodes.ts): a
 * fresh instance after a trap is given every node again by the runner.
 *
 * A call answers the plugin's result (or its failure, as the plugin host reports it), or null:
 * send it through the plugin host (no endpoint known yet, the socket unreachable — another
 * machine, Deno Deploy —, a drained runner).
 * @module
 */
import { type AskHost, PluginDirectCaller } from "../../api/plugin_direct.ts";
import {
  MAX_SLOTS,
  NODE_CACHE_MISS,
  type NodeRecord,
  type PluginFailure,
  type PodRecord,
  type SchedulingCycleRequest,
  type SchedulingCycleResponse,
  slotRanges,
} from "../../api/plugins.ts";

/** One plugin's answer to a cycle. */
export type CycleResult = SchedulingCycleResponse["results"][string];

/**
 * A node of a cycle: its record and that record's JSON (what was sent, to compare). The caller
 * keeps one object per node version (wasm_plugins.ts), so an unchanged node is the same object
 * on every cycle: `cycle` compares objects (not JSON text) and remembers the node's slot on it.
 */
export interface SentNode {
  record: NodeRecord;
  json: string;
  /** This node's slot in a {@linkcode DirectCycles} (its memo; checked against the slot's name). */
  slot?: number;
}

/** Direct scheduling cycles of one scheduler. `close()` when done. */
export class DirectCycles {
  readonly #caller: PluginDirectCaller;
  readonly #session: string;
  /** Each node name's slot (the same on every runner). */
  readonly #slotOf = new Map<string, number>();
  /** Slots of deleted nodes, to reuse. */
  readonly #free: number[] = [];
  #nextSlot = 0;
  /** By slot, the name of the node it holds (undefined: free). */
  readonly #nameAt: (string | undefined)[] = [];
  /** Per runner id: by slot, the node last put there (what the runner holds: its JSON). */
  readonly #held = new Map<string, (SentNode | undefined)[]>();
  /** Per plugin: the runner its last direct call went to. */
  readonly #runnerOf = new Map<string, string>();
  #seq = 0;
  /** Calls answered directly, nodes sent in full and by reference on them, misses (tests, benchmarks). */
  readonly stats = { calls: 0, nodesSent: 0, nodesReferenced: 0, misses: 0 };

  /** `ask`: the plugin host's `POST` (for `/direct` and `/direct/failure`); `session`: this scheduler's cache name. */
  constructor(ask: AskHost, session: string) {
    this.#caller = new PluginDirectCaller(ask);
    this.#session = session;
  }

  /** What the runner serving `plugin` now holds of this scheduler's nodes (tests). */
  held(plugin: string): ReadonlyMap<string, string> | undefined {
    const runner = this.#runnerOf.get(plugin);
    const held = runner ? this.#held.get(runner) : undefined;
    if (!held) return undefined;
    const out = new Map<string, string>();
    for (const [name, slot] of this.#slotOf) if (held[slot] !== undefined) out.set(name, held[slot]!.json);
    return out;
  }

  /**
   * `plugin`'s cycle on its runner over `pod` and `nodes`; null: send it through the plugin
   * host. `timeoutMs`: the plugin's deadline (the plugin host kills the runner when it passes).
   */
  async cycle(
    plugin: SchedulingCycleRequest["plugins"][number],
    pod: PodRecord,
    nodes: readonly SentNode[],
    timeoutMs: number,
  ): Promise<CycleResult | null> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const runner = this.#caller.runner(plugin.name);
      if (!runner) return null;
      const held = this.#heldBy(plugin.name, runner);
      const slots = new Array<number>(nodes.length);
      /** The nodes this call sends in full (the runner holds the others as last sent). */
      const put: [number, NodeRecord][] = [];
      const full: number[] = [];
      for (let i = 0; i < nodes.length; i++) {
        const n = nodes[i];
        let slot = n.slot;
        if (slot === undefined || this.#nameAt[slot] !== n.record.name) n.slot = slot = this.#slot(n.record.name);
        slots[i] = slot;
        // The same object: unchanged since sent (one comparison, no text compared per node).
        const h = held[slot];
        if (h === n) continue;
        // A new version with the same JSON: the runner holds it already.
        if (h !== undefined && h.json === n.json) {
          held[slot] = n;
          continue;
        }
        put.push([slot, n.record]);
        full.push(i);
      }
      if (this.#nextSlot > MAX_SLOTS) return null;
      const body: Omit<SchedulingCycleRequest, "nodes"> = {
        plugins: [plugin],
        pod,
        slots: slotRanges(slots),
        put,
        session: this.#session,
        key: `${pod.uid}/${++this.#seq}`,
      };
      const refs = nodes.length - full.length;
      // (Synchronously after runner(): the call goes to that runner, or through the host.)
      const sending = this.#caller.post(plugin.name, "/scheduler/cycle", body, body.key!, timeoutMs);
      let res;
      try {
        res = await sending;
      } catch (e) {
        held.length = 0;
        const message = `the plugin's runner did not answer within its deadline: ${(e as Error).message}`;
        return { failure: { kind: "PluginFailure", plugin: plugin.name, reason: "Timeout", message } };
      }
      if (!res) {
        held.length = 0;
        return null;
      }
      const answer = res.body as Partial<SchedulingCycleResponse & PluginFailure> | null;
      if (res.status === 409 && (answer as { reason?: string } | null)?.reason === NODE_CACHE_MISS) {
        // The runner's cache for this session is not what this side thought: everything in full.
        this.stats.misses++;
        held.length = 0;
        continue;
      }
      const r = res.status === 200 ? answer?.results?.[plugin.name] : undefined;
      if (r && !r.failure) {
        for (const i of full) held[slots[i]] = nodes[i];
      } else held.length = 0;
      if (r || answer?.kind === "PluginFailure") {
        this.stats.calls++;
        this.stats.nodesReferenced += refs;
        this.stats.nodesSent += nodes.length - refs;
        return r ?? { failure: answer as PluginFailure };
      }
      // Not served by that runner (400, 404): the plugin host answers instead.
      return null;
    }
    return null;
  }

  /** Forgets nodes that no longer exist. */
  prune(live: Set<string>): void {
    for (const [name, slot] of this.#slotOf) {
      if (live.has(name)) continue;
      this.#slotOf.delete(name);
      this.#nameAt[slot] = undefined;
      this.#free.push(slot);
      for (const held of this.#held.values()) held[slot] = undefined;
    }
  }

  close(): void {
    this.#caller.close();
  }

  /** A node's slot, numbered on first use (a free one first). */
  #slot(name: string): number {
    let slot = this.#slotOf.get(name);
    if (slot === undefined) {
      this.#slotOf.set(name, slot = this.#free.pop() ?? this.#nextSlot++);
      this.#nameAt[slot] = name;
    }
    return slot;
  }

  /** The nodes `runner` holds, by slot; a plugin's previous runner (recycled, replaced) is forgotten. */
  #heldBy(plugin: string, runner: string): (SentNode | undefined)[] {
    const prev = this.#runnerOf.get(plugin);
    if (prev !== runner) {
      if (prev !== undefined) this.#held.delete(prev);
      this.#runnerOf.set(plugin, runner);
    }
    let held = this.#held.get(runner);
    if (!held) this.#held.set(runner, held = []);
    return held;
  }
}
