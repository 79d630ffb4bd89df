/**
 * The scheduler's direct path to its Wasm plugins' runners (control/api/plugin_direct.ts; the
 * runner's side is plugins/host/direct.ts): a cycle goes straight to each plugin's runner
 * process on its unix socket — scheduler → runner → scheduler, two process wake-ups instead of
 * the four of the relay through the plugin host — with the body of the host's `POST
 * /scheduler/cycle` naming that plugin only.
 *
 * The node cache lives here, where the calls come from: per runner (by the id the plugin host
 * publishes for it; a recycled or replaced runner is a new process with a new id, holding
 * nothing), each node's JSON as last sent to it in full. A node unchanged since then travels as
 * a reference (its name), which the runner resolves against this scheduler's own cache there
 * (named by `session`). A reference the runner cannot resolve gets 409 NodeCacheMiss and the call
 * is sent again with every node in full; any failed or unanswered call forgets what that runner
 * holds (it may hold newer versions than this side knows of), so the next call sends every node
 * in full. The guest's own node handles are per instance (plugins/scheduler/guest_nodes.ts): a
 * fresh instance after a trap is given every node again by the runner.
 *
 * A call answers the plugin's result (or its failure, as the plugin host reports it), or null:
 * send it through the plugin host (no endpoint known yet, the socket unreachable — another
 * machine, Deno Deploy —, a drained runner).
 * @module
 */
import { type AskHost, PluginDirectCaller } from "../../api/plugin_direct.ts";
import {
  type CachedNodeRef,
  NODE_CACHE_MISS,
  type NodeRecord,
  type PluginFailure,
  type PodRecord,
  type SchedulingCycleRequest,
  type SchedulingCycleResponse,
} from "../../api/plugins.ts";

/** One plugin's answer to a cycle. */
export type CycleResult = SchedulingCycleResponse["results"][string];

/** A node of a cycle: its record and that record's JSON (what was sent, to compare). */
export interface SentNode {
  record: NodeRecord;
  json: string;
}

/** Direct scheduling cycles of one scheduler. `close()` when done. */
export class DirectCycles {
  readonly #caller: PluginDirectCaller;
  readonly #session: string;
  /** Per runner id: each node's JSON as last sent to it in full. */
  readonly #held = new Map<string, Map<string, string>>();
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
    return runner ? this.#held.get(runner) : undefined;
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
      /** The nodes this call sends in full (the runner holds the others as last sent). */
      const full: SentNode[] = [];
      const body: SchedulingCycleRequest = {
        plugins: [plugin],
        pod,
        nodes: nodes.map((n): NodeRecord | CachedNodeRef => {
          if (held.get(n.record.name) === n.json) return n.record.name;
          full.push(n);
          return n.record;
        }),
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
        held.clear();
        const message = `the plugin's runner did not answer within its deadline: ${(e as Error).message}`;
        return { failure: { kind: "PluginFailure", plugin: plugin.name, reason: "Timeout", message } };
      }
      if (!res) {
        held.clear();
        return null;
      }
      const answer = res.body as Partial<SchedulingCycleResponse & PluginFailure> | null;
      if (res.status === 409 && (answer as { reason?: string } | null)?.reason === NODE_CACHE_MISS) {
        // The runner's cache for this session is not what this side thought: everything in full.
        this.stats.misses++;
        held.clear();
        continue;
      }
      const r = res.status === 200 ? answer?.results?.[plugin.name] : undefined;
      if (r && !r.failure) {
        for (const { record, json } of full) held.set(record.name, json);
      } else held.clear();
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
    for (const held of this.#held.values()) {
      for (const name of [...held.keys()]) if (!live.has(name)) held.delete(name);
    }
  }

  close(): void {
    this.#caller.close();
  }

  /** The nodes `runner` holds; a plugin's previous runner (recycled, replaced) is forgotten. */
  #heldBy(plugin: string, runner: string): Map<string, string> {
    const prev = this.#runnerOf.get(plugin);
    if (prev !== runner) {
      if (prev !== undefined) this.#held.delete(prev);
      this.#runnerOf.set(plugin, runner);
    }
    let held = this.#held.get(runner);
    if (!held) this.#held.set(runner, held = new Map());
    return held;
  }
}
