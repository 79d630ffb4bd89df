/**
 * One scheduling decision, as upstream's `schedulePod` (schedule_one.go): PreFilter, then Filter
 * over the nodes starting where the previous cycle stopped until `numFeasibleNodesToFind` nodes
 * fit (upstream's adaptive `percentageOfNodesToScore`), then PreScore/Score and the best node
 * (ties broken at random). Pure and synchronous: it reads the snapshot and changes nothing but
 * the rotating start index. With batch (Wasm) plugins the cycle awaits their calls; the built-in
 * scoring then runs while the Filter call is in flight (`scheduleWithBatches`).
 * @module
 */
import { type Diagnosis, newDiagnosis } from "./fit_error.ts";
import type { Framework, NominatedPods } from "./framework.ts";
import {
  CycleState,
  isRejected,
  type NodeInfoView,
  type PodView,
  type Snapshot,
  type Status,
  status,
} from "./types.ts";

/** Upstream `minFeasibleNodesToFind`. */
export const MIN_FEASIBLE_NODES_TO_FIND = 100;
/** Upstream `minFeasibleNodesPercentageToFind`. */
export const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;

/**
 * How many feasible nodes to find before scoring (upstream `numFeasibleNodesToFind`): all of
 * them below 100 nodes; else `percentage` % (0 = adaptive: 50 − nodes/125, at least 5), and at
 * least 100.
 */
export function numFeasibleNodesToFind(numAllNodes: number, percentage = 0): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let pct = percentage;
  if (pct === 0) {
    pct = 50 - Math.trunc(numAllNodes / 125);
    if (pct < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) pct = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
  }
  const n = Math.trunc((numAllNodes * pct) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}

/** Upstream `ErrNoNodesAvailable`. */
export const ERR_NO_NODES_AVAILABLE = "no nodes available to schedule pods";

export type ScheduleOutcome =
  | { kind: "scheduled"; node: string; evaluated: number; feasible: number; state: CycleState }
  /** No node fits: the FitError's parts (message via fitErrorMessage). */
  | { kind: "unschedulable"; numAllNodes: number; diagnosis: Diagnosis; state: CycleState }
  /** No nodes at all, or a plugin error. */
  | { kind: "error"; status: Status; diagnosis: Diagnosis; state: CycleState };

export interface ScheduleOptions {
  /** Fixed percentage of nodes to score; 0 (default) for upstream's adaptive rule. */
  percentageOfNodesToScore?: number;
  nominated?: NominatedPods;
  /** The node a previous preemption nominated for this pod, tried first. */
  nominatedNode?: string;
  /** Random source in [0, 1) for breaking score ties. */
  random?: () => number;
}

/** A cycle in progress (between its phases). */
interface Pass {
  pod: PodView;
  snapshot: Snapshot;
  opts: ScheduleOptions;
  state: CycleState;
  diagnosis: Diagnosis;
  numAllNodes: number;
  /** The nodes worth filtering (PreFilter may narrow them), in rotation order from `start`. */
  nodes: readonly NodeInfoView[];
  start: number;
  /** How many of `nodes` the in-process filters have seen. */
  processed: number;
  want: number;
  feasible: NodeInfoView[];
  /** PreFilter's node names, when it narrowed them. */
  nominatedAllowed?: Set<string>;
}

/**
 * Runs one scheduling cycle's algorithm. Keeps the rotating start index between calls.
 * `schedule` is synchronous and runs the in-process plugins only; `scheduleWithBatches` also runs
 * the framework's batch (out-of-process) plugins, as upstream runs Filter plugins in order: their
 * Filter sees only the nodes every in-process Filter kept, in batches of the feasible nodes still
 * wanted (one batch unless it rejects some and more nodes remain), and their Score only the
 * feasible nodes.
 */
export class PodScheduler {
  readonly framework: Framework;
  /** Where the next Filter pass starts (upstream `nextStartNodeIndex`). */
  nextStartNodeIndex = 0;

  constructor(framework: Framework) {
    this.framework = framework;
  }

  schedule(pod: PodView, snapshot: Snapshot, opts: ScheduleOptions = {}): ScheduleOutcome {
    const c = this.#begin(pod, snapshot, opts);
    if ("kind" in c) return c;
    if (c.opts.nominatedNode) {
      const n = this.#nominated(c);
      if (n && "kind" in n) return n;
      if (n) return this.#scheduledOne(c, n.node.name, 1);
    }
    const err = this.#filterInProcess(c, c.want, c.feasible);
    if (err) return err;
    this.#advance(c);
    return this.#finishSync(c);
  }

  /** `schedule` with the framework's batch plugins (Wasm plugins). */
  async scheduleWithBatches(
    pod: PodView,
    snapshot: Snapshot,
    opts: ScheduleOptions = {},
  ): Promise<ScheduleOutcome> {
    const fw = this.framework;
    fw.beginCycle(pod);
    const c = this.#begin(pod, snapshot, opts);
    if ("kind" in c) return c;
    if (c.opts.nominatedNode) {
      const n = this.#nominated(c);
      if (n && "kind" in n) return n;
      if (n) {
        const [s] = await fw.runBatchFilter(c.state, pod, [n]);
        if (s === null) return this.#scheduledOne(c, n.node.name, 1);
        const err = this.#record(c, n, s);
        if (err) return err;
      }
    }
    /** The in-process scores of the first batch's nodes, computed while the batch plugins answer. */
    let early: { nodes: readonly NodeInfoView[]; totals: number[] | ScheduleOutcome } | null = null;
    while (c.feasible.length < c.want && c.processed < c.nodes.length) {
      const candidates: NodeInfoView[] = [];
      const err = this.#filterInProcess(c, c.want - c.feasible.length, candidates);
      if (err) return err;
      // Nodes this cycle already batched (the nominated node) answer from runFilters.
      const ask = candidates.filter((n) => !fw.batchFiltered(pod, n.node.name));
      const asking = ask.length ? fw.runBatchFilter(c.state, pod, ask) : null;
      // While the batch plugins answer (their call is already on the wire): PreScore and Score of
      // the in-process plugins over these nodes, which are the feasible nodes when the batch
      // plugins reject none of them and no more are wanted (the usual case). When they reject
      // some, these scores are dropped and the feasible nodes are scored again below (upstream
      // scores, and normalizes, over the feasible nodes only). A PreScore run again rewrites
      // what its plugin reads, or answers Skip and its Score is not called.
      if (
        asking && c.feasible.length === 0 && candidates.length > 1 &&
        (candidates.length >= c.want || c.processed >= c.nodes.length)
      ) {
        early = { nodes: candidates, totals: this.#scoreOn(c, candidates) };
      }
      const got = asking ? await asking : [];
      // (Usually every candidate was asked: answers by position, no lookup.)
      const verdict = ask.length === candidates.length ? null : new Map(ask.map((n, i) => [n, got[i]]));
      for (let i = 0; i < candidates.length; i++) {
        const n = candidates[i];
        const s = (verdict ? verdict.get(n) : got[i]) ?? null;
        if (s === null) c.feasible.push(n);
        else {
          const e = this.#record(c, n, s);
          if (e) return e;
        }
      }
    }
    this.#advance(c);
    if (c.feasible.length === 0) {
      return { kind: "unschedulable", numAllNodes: c.numAllNodes, diagnosis: c.diagnosis, state: c.state };
    }
    if (c.feasible.length === 1) return this.#scheduledOne(c, c.feasible[0].node.name, this.#evaluated(c));
    const totals = early && sameNodes(early.nodes, c.feasible) ? early.totals : this.#score(c);
    if (!Array.isArray(totals)) return totals;
    const s = await fw.runBatchScore(c.state, pod, c.feasible, totals);
    if (s) return { kind: "error", status: s, diagnosis: c.diagnosis, state: c.state };
    return this.#select(c, totals);
  }

  /** PreFilter and the node list; an outcome when the cycle ends there. */
  #begin(pod: PodView, snapshot: Snapshot, opts: ScheduleOptions): Pass | ScheduleOutcome {
    const state = new CycleState();
    const diagnosis = newDiagnosis();
    const all = snapshot.nodes();
    if (all.length === 0) {
      return {
        kind: "error",
        status: status("UnschedulableAndUnresolvable", ERR_NO_NODES_AVAILABLE),
        diagnosis,
        state,
      };
    }
    if (pod.invalid) return { kind: "error", status: status("Error", pod.invalid), diagnosis, state };
    const pre = this.framework.runPreFilter(state, pod, snapshot);
    diagnosis.unschedulablePlugins = pre.rejectedBy;
    if (pre.status) {
      if (!isRejected(pre.status)) return { kind: "error", status: pre.status, diagnosis, state };
      diagnosis.nodeToStatus.absent = pre.status;
      diagnosis.preFilterMsg = pre.status.reasons.join(", ");
      return { kind: "unschedulable", numAllNodes: all.length, diagnosis, state };
    }
    let nodes: readonly NodeInfoView[] = all;
    if (pre.nodeNames) {
      const picked: NodeInfoView[] = [];
      for (const name of pre.nodeNames) {
        const n = snapshot.get(name);
        if (n) picked.push(n);
      }
      nodes = picked;
    }
    const c: Pass = {
      pod,
      snapshot,
      opts,
      state,
      diagnosis,
      numAllNodes: all.length,
      nodes,
      start: this.nextStartNodeIndex % Math.max(nodes.length, 1),
      processed: 0,
      want: numFeasibleNodesToFind(nodes.length, opts.percentageOfNodesToScore ?? 0),
      feasible: [],
    };
    if (pre.nodeNames) {
      c.nominatedAllowed = pre.nodeNames;
      diagnosis.nodeToStatus.absent = status(
        "UnschedulableAndUnresolvable",
        `node(s) didn't satisfy plugin(s) [${[...pre.rejectedBy].sort().join(" ")}]`,
      );
    }
    return c;
  }

  /**
   * The node a previous preemption nominated, tried first: the node when the in-process filters
   * pass it, an outcome on an Error, else null (its status recorded).
   */
  #nominated(c: Pass): NodeInfoView | ScheduleOutcome | null {
    const n = c.snapshot.get(c.opts.nominatedNode!);
    if (!n || (c.nominatedAllowed && !c.nominatedAllowed.has(n.node.name))) return null;
    const s = this.framework.runFiltersWithNominated(c.state, c.pod, n, c.opts.nominated);
    if (s === null) return n;
    return this.#record(c, n, s);
  }

  /** Records a node's rejection; an outcome when it is an Error. */
  #record(c: Pass, n: NodeInfoView, s: Status): ScheduleOutcome | null {
    if (s.code === "Error") return { kind: "error", status: s, diagnosis: c.diagnosis, state: c.state };
    c.diagnosis.nodeToStatus.set(n.node.name, s);
    if (s.plugin) c.diagnosis.unschedulablePlugins.add(s.plugin);
    return null;
  }

  /** Runs the in-process filters over the next nodes until `want` pass (into `out`). */
  #filterInProcess(c: Pass, want: number, out: NodeInfoView[]): ScheduleOutcome | null {
    const nodes = c.nodes;
    const fw = this.framework;
    let found = 0;
    while (c.processed < nodes.length && found < want) {
      const n = nodes[(c.start + c.processed) % nodes.length];
      c.processed++;
      const s = fw.runFiltersWithNominated(c.state, c.pod, n, c.opts.nominated);
      if (s === null) {
        out.push(n);
        found++;
      } else {
        const e = this.#record(c, n, s);
        if (e) return e;
      }
    }
    return null;
  }

  #advance(c: Pass): void {
    this.nextStartNodeIndex = (this.nextStartNodeIndex + c.processed) % c.numAllNodes;
  }

  #evaluated(c: Pass): number {
    return c.feasible.length + c.diagnosis.nodeToStatus.size;
  }

  #scheduledOne(c: Pass, node: string, evaluated: number): ScheduleOutcome {
    return { kind: "scheduled", node, evaluated, feasible: 1, state: c.state };
  }

  #finishSync(c: Pass): ScheduleOutcome {
    if (c.feasible.length === 0) {
      return { kind: "unschedulable", numAllNodes: c.numAllNodes, diagnosis: c.diagnosis, state: c.state };
    }
    if (c.feasible.length === 1) return this.#scheduledOne(c, c.feasible[0].node.name, this.#evaluated(c));
    const totals = this.#score(c);
    if (!Array.isArray(totals)) return totals;
    return this.#select(c, totals);
  }

  /** PreScore and the in-process Score plugins over the feasible nodes. */
  #score(c: Pass): number[] | ScheduleOutcome {
    return this.#scoreOn(c, c.feasible);
  }

  /** PreScore and the in-process Score plugins over `nodes`. */
  #scoreOn(c: Pass, nodes: readonly NodeInfoView[]): number[] | ScheduleOutcome {
    const fw = this.framework;
    const ps = fw.runPreScore(c.state, c.pod, nodes, c.snapshot);
    if (ps) return { kind: "error", status: ps, diagnosis: c.diagnosis, state: c.state };
    const totals = fw.runScore(c.state, c.pod, nodes);
    if (!Array.isArray(totals)) {
      return { kind: "error", status: totals, diagnosis: c.diagnosis, state: c.state };
    }
    return totals;
  }

  #select(c: Pass, totals: number[]): ScheduleOutcome {
    return {
      kind: "scheduled",
      node: selectHost(c.feasible, totals, c.opts.random ?? Math.random),
      evaluated: this.#evaluated(c),
      feasible: c.feasible.length,
      state: c.state,
    };
  }
}

/** Whether two node lists hold the same nodes in the same order. Pure. */
function sameNodes(a: readonly NodeInfoView[], b: readonly NodeInfoView[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The highest-scoring node; ties are broken uniformly at random (reservoir sampling). */
export function selectHost(
  nodes: readonly NodeInfoView[],
  totals: readonly number[],
  random: () => number,
): string {
  let best = 0;
  let ties = 1;
  for (let i = 1; i < nodes.length; i++) {
    if (totals[i] > totals[best]) {
      best = i;
      ties = 1;
    } else if (totals[i] === totals[best]) {
      ties++;
      if (random() * ties < 1) best = i;
    }
  }
  return nodes[best].node.name;
}
