/**
 * The plugin runner (upstream `frameworkImpl`): runs the profile's PreFilter, Filter (also with
 * the nominated pods of higher priority counted), PreScore and Score plugins in order, and
 * records which plugin said what. Pure and synchronous, except for the batch plugins (out of
 * process, e.g. the Wasm plugins): their Filter runs after every in-process Filter, once per
 * cycle over the nodes those kept, and their Score once over the feasible nodes (see
 * {@linkcode BatchPlugin}).
 * @module
 */
import { NodeInfo } from "./node_info.ts";
import { defaultPlugins, type ProfilePlugin } from "./plugins/default_plugins.ts";
import {
  type ClusterEvent,
  type CycleState,
  type FilterPlugin,
  isFilter,
  isPreFilter,
  isPrepareCycle,
  isPreScore,
  isRejected,
  isScore,
  MAX_NODE_SCORE,
  type NodeInfoView,
  type Plugin,
  type PodView,
  type PreFilterPlugin,
  type PrepareCyclePlugin,
  type PreScorePlugin,
  type ScorePlugin,
  type Snapshot,
  type Status,
  status,
} from "./types.ts";

/** Pods nominated to nodes by earlier preemptions (see nominator.ts). */
export interface NominatedPods {
  nominatedPodsForNode(node: string): readonly PodView[];
}

/**
 * A Filter + Score plugin that runs out of process, so one call must cover many nodes. The
 * framework runs it as upstream runs Filter plugins in order: only on the nodes every in-process
 * Filter kept (a node an earlier filter rejected never reaches it), and its Score only on the
 * feasible nodes — one `filterBatch` and one `scoreBatch` per cycle.
 */
export interface BatchPlugin extends Plugin {
  readonly batch: true;
  /** One answer per node (null: passes), in order. Never throws: a failure is a Status. */
  filterBatch(pod: PodView, nodes: readonly NodeInfoView[]): Promise<(Status | null)[]>;
  /** One score per node in [0, MAX_NODE_SCORE], or an Error status. Never throws. */
  scoreBatch(pod: PodView, nodes: readonly NodeInfoView[]): Promise<number[] | Status>;
}

export function isBatch(p: Plugin): p is BatchPlugin {
  return (p as BatchPlugin).batch === true;
}

/** The outcome of PreFilter. */
export interface PreFilterOutcome {
  /** null to go on. */
  status: Status | null;
  /** Only these nodes are worth filtering; null for all. */
  nodeNames: Set<string> | null;
  /** Plugins that rejected the pod or narrowed the nodes. */
  rejectedBy: Set<string>;
}

/** Go's `%v` of a string slice: `[A B]`. */
function goList(xs: string[]): string {
  return `[${xs.join(" ")}]`;
}

export class Framework {
  readonly prepares: PrepareCyclePlugin[] = [];
  readonly preFilters: PreFilterPlugin[] = [];
  readonly filters: FilterPlugin[] = [];
  readonly preScores: PreScorePlugin[] = [];
  readonly scores: { plugin: ScorePlugin; weight: number }[] = [];
  readonly batches: { plugin: BatchPlugin; weight: number }[] = [];
  /**
   * The batch plugins' Filter answers of the current cycle (preemption's dry runs reuse them):
   * each batch's nodes and answers as given, indexed by node name only when something asks.
   */
  #verdicts: {
    uid: string;
    batches: { nodes: readonly NodeInfoView[]; out: (Status | null)[] }[];
    byNode: Map<string, Status | null> | null;
  } | null = null;
  /** Which plugins care about each cluster event. */
  readonly #interested = new Map<ClusterEvent, Set<string>>();

  constructor(plugins: ProfilePlugin[] = defaultPlugins()) {
    for (const { plugin, weight } of plugins) {
      if (isBatch(plugin)) {
        this.batches.push({ plugin, weight });
        for (const e of plugin.events) {
          let s = this.#interested.get(e);
          if (!s) this.#interested.set(e, s = new Set());
          s.add(plugin.name);
        }
        continue;
      }
      if (isPrepareCycle(plugin)) this.prepares.push(plugin);
      if (isPreFilter(plugin)) this.preFilters.push(plugin);
      if (isFilter(plugin)) this.filters.push(plugin);
      if (isPreScore(plugin)) this.preScores.push(plugin);
      if (isScore(plugin) && weight > 0) this.scores.push({ plugin, weight });
      for (const e of plugin.events) {
        let s = this.#interested.get(e);
        if (!s) this.#interested.set(e, s = new Set());
        s.add(plugin.name);
      }
    }
  }

  /** Whether `event` may help a pod the given plugins rejected (every event helps an error'd pod). */
  eventMatters(event: ClusterEvent, rejectedBy: ReadonlySet<string>): boolean {
    if (event === "UnschedulableTimeout" || rejectedBy.size === 0) return true;
    const s = this.#interested.get(event);
    if (!s) return false;
    for (const p of rejectedBy) if (s.has(p)) return true;
    return false;
  }

  /** Runs the plugins' asynchronous preparation (out-of-process calls) before a cycle. */
  async runPrepareCycle(pod: PodView, snapshot: Snapshot): Promise<void> {
    for (const p of this.prepares) await p.prepareCycle(pod, snapshot.nodes());
  }

  /** Upstream `RunPreFilterPlugins`. */
  runPreFilter(state: CycleState, pod: PodView, snapshot: Snapshot): PreFilterOutcome {
    const withNodes: string[] = [];
    let names = null as Set<string> | null;
    const skip = new Set<string>();
    for (const p of this.preFilters) {
      const r = p.preFilter(state, pod, snapshot);
      if (r === null) continue;
      if ("code" in r) {
        if (r.code === "Skip") {
          skip.add(p.name);
          continue;
        }
        const s = { ...r, plugin: p.name };
        if (s.code === "Error") s.reasons = [`running PreFilter plugin "${p.name}": ${s.reasons.join(", ")}`];
        return { status: s, nodeNames: null, rejectedBy: isRejected(s) ? new Set([p.name]) : new Set() };
      }
      withNodes.push(p.name);
      names = names === null ? new Set(r.nodeNames) : new Set([...names].filter((n) => r.nodeNames.has(n)));
      if (names.size === 0) {
        const msg = withNodes.length === 1
          ? `node(s) didn't satisfy plugin ${withNodes[0]}`
          : `node(s) didn't satisfy plugin(s) ${goList(withNodes)} simultaneously`;
        return {
          status: status("UnschedulableAndUnresolvable", msg),
          nodeNames: names,
          rejectedBy: new Set(withNodes),
        };
      }
    }
    state.skipFilter = skip;
    state.activeFilters = null;
    return { status: null, nodeNames: names, rejectedBy: new Set(withNodes) };
  }

  /**
   * Upstream `RunFilterPlugins`: the first plugin that does not pass decides. The batch plugins
   * answer from this cycle's batch (nothing for a node not yet batched).
   */
  runFilters(state: CycleState, pod: PodView, node: NodeInfoView): Status | null {
    const filters = state.activeFilters ??= this.filters.filter((p) => !state.skipFilter.has(p.name));
    for (let i = 0; i < filters.length; i++) {
      const s = filters[i].filter(state, pod, node);
      if (s !== null) return s.plugin ? s : { ...s, plugin: filters[i].name };
    }
    return this.#verdictsOf(pod)?.get(node.node.name) ?? null;
  }

  /** Starts a cycle for `pod`: forgets the batch answers of the previous one. */
  beginCycle(pod: PodView): void {
    this.#verdicts = this.batches.length ? { uid: pod.uid, batches: [], byNode: null } : null;
  }

  /** Whether this cycle's batch Filter already answered for `node`. */
  batchFiltered(pod: PodView, node: string): boolean {
    return this.#verdictsOf(pod)?.has(node) ?? false;
  }

  /** This cycle's batch answers by node name (null: none yet); indexed on first use after a batch. */
  #verdictsOf(pod: PodView): Map<string, Status | null> | null {
    const v = this.#verdicts;
    if (!v || v.uid !== pod.uid || !v.batches.length) return null;
    if (!v.byNode) {
      v.byNode = new Map();
      for (const { nodes, out } of v.batches) nodes.forEach((n, i) => v.byNode!.set(n.node.name, out[i]));
    }
    return v.byNode;
  }

  /**
   * The batch plugins' Filter over `nodes` (which every in-process Filter passed), one call per
   * plugin, each on the nodes the previous ones kept. Answers one status per node (null: feasible).
   */
  async runBatchFilter(
    state: CycleState,
    pod: PodView,
    nodes: readonly NodeInfoView[],
  ): Promise<(Status | null)[]> {
    const out = new Array<Status | null>(nodes.length).fill(null);
    /** The positions still feasible (null: all of them, the usual case with one batch plugin). */
    let idx: number[] | null = null;
    for (const { plugin } of this.batches) {
      if (state.skipFilter.has(plugin.name) || idx?.length === 0) continue;
      const got = await plugin.filterBatch(pod, idx ? idx.map((i) => nodes[i]) : nodes);
      const keep: number[] = [];
      for (let j = 0; j < (idx ?? nodes).length; j++) {
        const i = idx ? idx[j] : j;
        const s = got[j] ?? null;
        if (s === null) keep.push(i);
        else out[i] = s.plugin ? s : { ...s, plugin: plugin.name };
      }
      idx = keep;
    }
    if (this.#verdicts?.uid !== pod.uid) this.beginCycle(pod);
    const v = this.#verdicts;
    if (v) {
      v.batches.push({ nodes, out });
      v.byNode = null;
    }
    return out;
  }

  /** The batch plugins' Score over the feasible nodes, weighted; added to `totals` in place. */
  async runBatchScore(
    state: CycleState,
    pod: PodView,
    nodes: readonly NodeInfoView[],
    totals: number[],
  ): Promise<Status | null> {
    for (const { plugin, weight } of this.batches) {
      if (weight <= 0 || state.skipScore.has(plugin.name)) continue;
      const got = await plugin.scoreBatch(pod, nodes);
      if (!Array.isArray(got)) return got.plugin ? got : { ...got, plugin: plugin.name };
      for (let i = 0; i < nodes.length; i++) {
        const s = got[i];
        if (!(s >= 0 && s <= MAX_NODE_SCORE)) {
          return status(
            "Error",
            `plugin "${plugin.name}" returns an invalid score ${s}, it should in the range of [0, ${MAX_NODE_SCORE}] after normalizing`,
          );
        }
        totals[i] += s * weight;
      }
    }
    return null;
  }

  /**
   * Upstream `RunFilterPluginsWithNominatedPods`: when pods of at least the same priority are
   * nominated to the node, the pod must fit both with them counted and without them.
   */
  runFiltersWithNominated(
    state: CycleState,
    pod: PodView,
    node: NodeInfoView,
    nominated?: NominatedPods,
  ): Status | null {
    const others = nominated?.nominatedPodsForNode(node.node.name);
    if (others && others.length) {
      let info: NodeInfo | null = null;
      let st: CycleState | null = null;
      for (const o of others) {
        if (o.priority < pod.priority || o.uid === pod.uid) continue;
        if (!info) {
          info = node instanceof NodeInfo ? node.clone() : cloneView(node);
          st = state.clone();
        }
        info.addPod(o);
        this.runAddPod(st!, pod, o, info);
      }
      if (info) {
        const s = this.runFilters(st!, pod, info);
        if (s !== null) return s;
      }
    }
    return this.runFilters(state, pod, node);
  }

  /** Upstream `RunPreFilterExtensionAddPod`. */
  runAddPod(state: CycleState, pod: PodView, added: PodView, node: NodeInfoView): void {
    for (const p of this.preFilters) {
      if (state.skipFilter.has(p.name)) continue;
      p.addPod?.(state, pod, added, node);
    }
  }

  /** Upstream `RunPreFilterExtensionRemovePod`. */
  runRemovePod(state: CycleState, pod: PodView, removed: PodView, node: NodeInfoView): void {
    for (const p of this.preFilters) {
      if (state.skipFilter.has(p.name)) continue;
      p.removePod?.(state, pod, removed, node);
    }
  }

  /** Upstream `RunPreScorePlugins`; an Error stops scheduling the pod. */
  runPreScore(
    state: CycleState,
    pod: PodView,
    nodes: readonly NodeInfoView[],
    snapshot: Snapshot,
  ): Status | null {
    const skip = new Set<string>();
    for (const p of this.preScores) {
      const s = p.preScore(state, pod, nodes, snapshot);
      if (s === null) continue;
      if (s.code === "Skip") skip.add(p.name);
      else return { ...s, plugin: p.name };
    }
    state.skipScore = skip;
    return null;
  }

  /**
   * Upstream `RunScorePlugins`: each plugin scores every node, normalizes, and its weighted
   * scores add up. Returns the totals (parallel to `nodes`), or an Error status when a plugin
   * answers outside [0, 100] after normalization.
   */
  runScore(state: CycleState, pod: PodView, nodes: readonly NodeInfoView[]): number[] | Status {
    const totals = new Array<number>(nodes.length).fill(0);
    const scores = new Array<number>(nodes.length);
    for (const { plugin, weight } of this.scores) {
      if (state.skipScore.has(plugin.name)) continue;
      for (let i = 0; i < nodes.length; i++) scores[i] = plugin.score(state, pod, nodes[i]);
      plugin.normalizeScore?.(state, pod, nodes, scores);
      for (let i = 0; i < nodes.length; i++) {
        const s = scores[i];
        if (!(s >= 0 && s <= MAX_NODE_SCORE)) {
          return status(
            "Error",
            `plugin "${plugin.name}" returns an invalid score ${s}, it should in the range of [0, ${MAX_NODE_SCORE}] after normalizing`,
          );
        }
        totals[i] += s * weight;
      }
    }
    return totals;
  }
}

function cloneView(v: NodeInfoView): NodeInfo {
  const n = new NodeInfo(v.node);
  for (const p of v.pods) n.addPod(p);
  return n;
}
