/**
 * One scheduling decision, as upstream's `schedulePod` (schedule_one.go): PreFilter, then Filter
 * over the nodes starting where the previous cycle stopped until `numFeasibleNodesToFind` nodes
 * fit (upstream's adaptive `percentageOfNodesToScore`), then PreScore/Score and the best node
 * (ties broken at random). Pure and synchronous: it reads the snapshot and changes nothing but
 * the rotating start index.
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

/** Runs one scheduling cycle's algorithm. Keeps the rotating start index between calls. */
export class PodScheduler {
  readonly framework: Framework;
  /** Where the next Filter pass starts (upstream `nextStartNodeIndex`). */
  nextStartNodeIndex = 0;

  constructor(framework: Framework) {
    this.framework = framework;
  }

  schedule(pod: PodView, snapshot: Snapshot, opts: ScheduleOptions = {}): ScheduleOutcome {
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
    const fw = this.framework;
    const pre = fw.runPreFilter(state, pod, snapshot);
    diagnosis.unschedulablePlugins = pre.rejectedBy;
    if (pre.status) {
      if (!isRejected(pre.status)) return { kind: "error", status: pre.status, diagnosis, state };
      diagnosis.nodeToStatus.absent = pre.status;
      diagnosis.preFilterMsg = pre.status.reasons.join(", ");
      return { kind: "unschedulable", numAllNodes: all.length, diagnosis, state };
    }

    if (opts.nominatedNode) {
      const n = snapshot.get(opts.nominatedNode);
      if (n && (!pre.nodeNames || pre.nodeNames.has(n.node.name))) {
        const s = fw.runFiltersWithNominated(state, pod, n, opts.nominated);
        if (s === null) return { kind: "scheduled", node: n.node.name, evaluated: 1, feasible: 1, state };
        if (s.code === "Error") return { kind: "error", status: s, diagnosis, state };
        diagnosis.nodeToStatus.set(n.node.name, s);
        if (s.plugin) diagnosis.unschedulablePlugins.add(s.plugin);
      }
    }

    let nodes: readonly NodeInfoView[] = all;
    if (pre.nodeNames) {
      const picked: NodeInfoView[] = [];
      for (const name of pre.nodeNames) {
        const n = snapshot.get(name);
        if (n) picked.push(n);
      }
      nodes = picked;
      diagnosis.nodeToStatus.absent = status(
        "UnschedulableAndUnresolvable",
        `node(s) didn't satisfy plugin(s) [${[...pre.rejectedBy].sort().join(" ")}]`,
      );
    }

    const want = numFeasibleNodesToFind(nodes.length, opts.percentageOfNodesToScore ?? 0);
    const feasible: NodeInfoView[] = [];
    const start = this.nextStartNodeIndex % Math.max(nodes.length, 1);
    let processed = 0;
    for (let i = 0; i < nodes.length && feasible.length < want; i++) {
      const n = nodes[(start + i) % nodes.length];
      processed++;
      const s = fw.runFiltersWithNominated(state, pod, n, opts.nominated);
      if (s === null) feasible.push(n);
      else if (s.code === "Error") return { kind: "error", status: s, diagnosis, state };
      else {
        diagnosis.nodeToStatus.set(n.node.name, s);
        if (s.plugin) diagnosis.unschedulablePlugins.add(s.plugin);
      }
    }
    this.nextStartNodeIndex = (this.nextStartNodeIndex + processed) % all.length;

    if (feasible.length === 0) return { kind: "unschedulable", numAllNodes: all.length, diagnosis, state };
    const evaluated = feasible.length + diagnosis.nodeToStatus.size;
    if (feasible.length === 1) {
      return { kind: "scheduled", node: feasible[0].node.name, evaluated, feasible: 1, state };
    }

    const ps = fw.runPreScore(state, pod, feasible, snapshot);
    if (ps) return { kind: "error", status: ps, diagnosis, state };
    const totals = fw.runScore(state, pod, feasible);
    if (!Array.isArray(totals)) return { kind: "error", status: totals, diagnosis, state };
    return {
      kind: "scheduled",
      node: selectHost(feasible, totals, opts.random ?? Math.random),
      evaluated,
      feasible: feasible.length,
      state,
    };
  }
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
