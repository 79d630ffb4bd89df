/**
 * Preemption (upstream `DefaultPreemption` PostFilter and `preemption.Evaluator`), as a pure
 * decision: given a pod no node fits, find the node where evicting the fewest, least important
 * lower-priority pods makes it fit, and return that plan (or why there is none). The caller
 * performs it: marks and deletes the victims, records `Preempted` events, nominates the node.
 *
 * Not modelled: PodDisruptionBudgets (every victim counts as not violating one) and extenders.
 * @module
 */
import { fitErrorMessage, type NodeToStatus, NodeToStatus as NodeStatuses } from "./fit_error.ts";
import type { Framework, NominatedPods } from "./framework.ts";
import { NodeInfo } from "./node_info.ts";
import { type CycleState, type PodView, type Snapshot, type Status, status } from "./types.ts";

/** Upstream `DefaultPreemptionArgs` defaults. */
export const MIN_CANDIDATE_NODES_PERCENTAGE = 10;
export const MIN_CANDIDATE_NODES_ABSOLUTE = 100;

export type PreemptionResult =
  /** Evict `victims` on `node` and nominate it; clear the nomination of `clearNominated`. */
  | { kind: "preempt"; node: string; victims: PodView[]; clearNominated: PodView[] }
  /**
   * No preemption. `message` is the PostFilter message (already prefixed with `preemption: `);
   * `clearNomination`: the pod's nominatedNodeName should be cleared.
   */
  | { kind: "none"; message: string; clearNomination: boolean };

export interface PreemptArgs {
  framework: Framework;
  /** The failed cycle's state (PreFilter results), cloned per node. */
  state: CycleState;
  pod: PodView;
  /** The Filter statuses of the failed cycle. */
  statuses: NodeToStatus;
  snapshot: Snapshot & { nodes(): readonly NodeInfoLike[] };
  nominated: NominatedPods;
  /** The pod's current nominated node, if any. */
  nominatedNode: string;
  random?: () => number;
}

type NodeInfoLike = ReturnType<Snapshot["nodes"]>[number];

/** Upstream `util.MoreImportantPod`: higher priority, then started earlier. */
export function moreImportant(a: PodView, b: PodView): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  return a.startTime < b.startTime;
}

/** Upstream `calculateNumCandidates`. */
export function numCandidates(nodes: number): number {
  let n = Math.trunc((nodes * MIN_CANDIDATE_NODES_PERCENTAGE) / 100);
  if (n < MIN_CANDIDATE_NODES_ABSOLUTE) n = MIN_CANDIDATE_NODES_ABSOLUTE;
  return Math.min(n, nodes);
}

/** Upstream `SelectVictimsOnNode`: the victims to evict on `info` (a copy it mutates), or why none work. */
export function selectVictimsOnNode(
  fw: Framework,
  state: CycleState,
  pod: PodView,
  info: NodeInfo,
  nominated: NominatedPods,
): { victims: PodView[] } | { status: Status } {
  const potential = info.pods.filter((p) => p.priority < pod.priority);
  if (potential.length === 0) {
    return { status: status("UnschedulableAndUnresolvable", "No preemption victims found for incoming pod") };
  }
  for (const p of potential) {
    info.removePod(p.key);
    fw.runRemovePod(state, pod, p, info);
  }
  const s = fw.runFiltersWithNominated(state, pod, info, nominated);
  if (s) return { status: s };
  potential.sort((a, b) => (moreImportant(a, b) ? -1 : moreImportant(b, a) ? 1 : 0));
  const victims: PodView[] = [];
  for (const p of potential) {
    info.addPod(p);
    fw.runAddPod(state, pod, p, info);
    if (fw.runFiltersWithNominated(state, pod, info, nominated) !== null) {
      info.removePod(p.key);
      fw.runRemovePod(state, pod, p, info);
      victims.push(p);
    }
  }
  return { victims };
}

/** Upstream `GetEarliestPodStartTime`: the earliest start among the highest-priority victims. */
function earliestStart(victims: readonly PodView[]): number {
  let max = victims[0].priority;
  let earliest = victims[0].startTime;
  for (const v of victims) {
    if (v.priority === max) earliest = Math.min(earliest, v.startTime);
    else if (v.priority > max) {
      max = v.priority;
      earliest = v.startTime;
    }
  }
  return earliest;
}

/** Upstream `pickOneNodeForPreemption` (victims sorted most important first). */
export function pickOneNodeForPreemption(
  candidates: readonly { node: string; victims: PodView[] }[],
): string {
  if (candidates.length === 0) return "";
  const scoreFuncs: ((c: { victims: PodView[] }) => number)[] = [
    // No PodDisruptionBudgets are modelled: every candidate violates none.
    (c) => -c.victims[0].priority,
    (c) => -c.victims.reduce((s, v) => s + v.priority + 2147483648, 0),
    (c) => -c.victims.length,
    (c) => earliestStart(c.victims),
  ];
  let pool = [...candidates];
  for (const f of scoreFuncs) {
    let best = -Infinity;
    let picked: typeof pool = [];
    for (const c of pool) {
      const s = f(c);
      if (s > best) {
        best = s;
        picked = [c];
      } else if (s === best) picked.push(c);
    }
    if (picked.length === 1) return picked[0].node;
    pool = picked;
  }
  return pool[0].node;
}

function notHelpful(numAllNodes: number, statuses: NodeToStatus): string {
  statuses.absent = status("UnschedulableAndUnresolvable", "Preemption is not helpful for scheduling");
  return "preemption: " +
    fitErrorMessage(numAllNodes, {
      nodeToStatus: statuses,
      unschedulablePlugins: new Set(),
      preFilterMsg: "",
      postFilterMsg: "",
    });
}

/** Upstream `Evaluator.Preempt`, without the API calls. */
export function preempt(a: PreemptArgs): PreemptionResult {
  const { framework: fw, pod } = a;
  if (pod.preemptionPolicy === "Never") {
    return {
      kind: "none",
      message: "preemption: not eligible due to preemptionPolicy=Never.",
      clearNomination: false,
    };
  }
  if (a.nominatedNode && a.statuses.get(a.nominatedNode).code !== "UnschedulableAndUnresolvable") {
    const n = a.snapshot.get(a.nominatedNode);
    if (n?.pods.some((p) => p.priority < pod.priority && p.terminating && p.preemptedByScheduler)) {
      return {
        kind: "none",
        message: "preemption: not eligible due to a terminating pod on the nominated node.",
        clearNomination: false,
      };
    }
  }
  const all = a.snapshot.nodes();
  const potential = a.statuses.nodesWithCode(all, "Unschedulable");
  const dryRun = new NodeStatuses();
  if (potential.length === 0) {
    return { kind: "none", message: notHelpful(all.length, dryRun), clearNomination: true };
  }

  const random = a.random ?? Math.random;
  const offset = Math.floor(random() * potential.length);
  const want = numCandidates(potential.length);
  const candidates: { node: string; victims: PodView[] }[] = [];
  for (let i = 0; i < potential.length && candidates.length < want; i++) {
    const n = potential[(offset + i) % potential.length];
    const info = n instanceof NodeInfo ? n.clone() : cloneInfo(n);
    const r = selectVictimsOnNode(fw, a.state.clone(), pod, info, a.nominated);
    if ("victims" in r && r.victims.length) candidates.push({ node: n.node.name, victims: r.victims });
    else if ("status" in r) dryRun.set(n.node.name, r.status);
    else {dryRun.set(
        n.node.name,
        status("Error", `expected at least one victim pod on node "${n.node.name}"`),
      );}
  }
  if (candidates.length === 0) {
    return { kind: "none", message: notHelpful(all.length, dryRun), clearNomination: true };
  }

  const node = pickOneNodeForPreemption(candidates);
  const victims = candidates.find((c) => c.node === node)!.victims;
  const clearNominated = a.nominated.nominatedPodsForNode(node).filter((p) => p.priority < pod.priority);
  return { kind: "preempt", node, victims, clearNominated };
}

function cloneInfo(n: NodeInfoLike): NodeInfo {
  const info = new NodeInfo(n.node);
  for (const p of n.pods) info.addPod(p);
  return info;
}
