/**
 * PodTopologySpread (upstream `podtopologyspread`): `DoNotSchedule` constraints are a Filter
 * (existing matching pods in the node's domain + 1 − the global minimum ≤ maxSkew, and the node
 * must carry the topology key), `ScheduleAnyway` constraints a Score (fewer matching pods in the
 * node's domain is better). Node inclusion policies (`nodeAffinityPolicy` Honor,
 * `nodeTaintsPolicy` Ignore by default), `minDomains` and `matchLabelKeys` are honoured.
 * Upstream's system default constraints (derived from Services and ReplicaSets) are not applied.
 * @module
 */
import { matchesLabels } from "../../api/selector.ts";
import {
  type CycleState,
  type FilterPlugin,
  MAX_NODE_SCORE,
  type NodeInfoView,
  type NodeView,
  type PodView,
  type PreFilterPlugin,
  type PreScorePlugin,
  type ScorePlugin,
  type SpreadConstraint,
  type StateData,
  status,
} from "../types.ts";
import { requiredNodeAffinityMatches, untoleratedTaint } from "./helpers.ts";

/** Upstream `ErrReasonConstraintsNotMatch`. */
export const ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints";
/** Upstream `ErrReasonNodeLabelNotMatch`. */
export const ERR_REASON_NODE_LABEL_NOT_MATCH = ERR_REASON_CONSTRAINTS_NOT_MATCH + " (missing required label)";

const HOSTNAME = "kubernetes.io/hostname";
const PRE_FILTER_KEY = "PreFilterPodTopologySpread";
const PRE_SCORE_KEY = "PreScorePodTopologySpread";

/** The two smallest domains of a constraint (upstream `criticalPaths`). */
type CriticalPaths = [{ value: string; num: number }, { value: string; num: number }];

function newPaths(): CriticalPaths {
  return [{ value: "", num: Number.MAX_SAFE_INTEGER }, { value: "", num: Number.MAX_SAFE_INTEGER }];
}

function updatePaths(p: CriticalPaths, value: string, num: number): void {
  const i: number = value === p[0].value ? 0 : value === p[1].value ? 1 : -1;
  if (i >= 0) {
    p[i as 0 | 1].num = num;
    if (p[0].num > p[1].num) [p[0], p[1]] = [p[1], p[0]];
  } else if (num < p[0].num) {
    p[1] = p[0];
    p[0] = { value, num };
  } else if (num < p[1].num) {
    p[1] = { value, num };
  }
}

class PreFilterState implements StateData {
  constructor(
    readonly constraints: SpreadConstraint[],
    readonly counts: Map<string, number>[],
    readonly paths: CriticalPaths[],
  ) {}

  clone(): PreFilterState {
    return new PreFilterState(
      this.constraints,
      this.counts.map((m) => new Map(m)),
      this.paths.map((p) => [{ ...p[0] }, { ...p[1] }] as CriticalPaths),
    );
  }

  minMatch(i: number): number {
    return this.counts[i].size < this.constraints[i].minDomains ? 0 : this.paths[i][0].num;
  }
}

class PreScoreState implements StateData {
  constructor(
    readonly constraints: SpreadConstraint[],
    readonly ignored: Set<string>,
    readonly counts: Map<string, number>[],
    readonly weights: number[],
  ) {}

  clone(): PreScoreState {
    return this;
  }
}

/** Whether the node carries every constraint's topology key. */
function hasAllKeys(labels: Record<string, string>, constraints: readonly SpreadConstraint[]): boolean {
  for (const c of constraints) if (!Object.hasOwn(labels, c.topologyKey)) return false;
  return true;
}

/** Upstream `matchNodeInclusionPolicies`. */
function included(c: SpreadConstraint, pod: PodView, node: NodeView): boolean {
  if (c.nodeAffinityPolicy === "Honor" && !requiredNodeAffinityMatches(pod, node)) return false;
  if (c.nodeTaintsPolicy === "Honor" && untoleratedTaint(node.taints, pod.tolerations)) return false;
  return true;
}

/** Non-terminating pods of the namespace the selector matches (upstream `countPodsMatchSelector`). */
export function countMatching(pods: readonly PodView[], c: SpreadConstraint, namespace: string): number {
  if (!c.selector) return 0;
  let n = 0;
  for (const p of pods) {
    if (p.terminating || p.namespace !== namespace) continue;
    if (matchesLabels(c.selector, p.labels)) n++;
  }
  return n;
}

function updateWithPod(
  state: CycleState,
  pod: PodView,
  changed: PodView,
  node: NodeInfoView,
  delta: number,
): void {
  const s = state.read<PreFilterState>(PRE_FILTER_KEY);
  if (!s || changed.namespace !== pod.namespace || !hasAllKeys(node.node.labels, s.constraints)) return;
  s.constraints.forEach((c, i) => {
    if (!c.selector || !matchesLabels(c.selector, changed.labels) || !included(c, pod, node.node)) return;
    const v = node.node.labels[c.topologyKey];
    const n = (s.counts[i].get(v) ?? 0) + delta;
    s.counts[i].set(v, n);
    updatePaths(s.paths[i], v, n);
  });
}

export const podTopologySpread: PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin = {
  name: "PodTopologySpread",
  events: [
    "AssignedPodAdd",
    "AssignedPodUpdate",
    "AssignedPodDelete",
    "NodeAdd",
    "NodeDelete",
    "NodeLabel",
    "NodeTaint",
  ],
  preFilter(state, pod, snapshot) {
    const constraints = pod.spreadConstraints.filter((c) => c.whenUnsatisfiable === "DoNotSchedule");
    if (constraints.length === 0) return status("Skip");
    const counts = constraints.map(() => new Map<string, number>());
    for (const info of snapshot.nodes()) {
      const node = info.node;
      if (!hasAllKeys(node.labels, constraints)) continue;
      constraints.forEach((c, i) => {
        if (!included(c, pod, node)) return;
        const v = node.labels[c.topologyKey];
        counts[i].set(v, (counts[i].get(v) ?? 0) + countMatching(info.pods, c, pod.namespace));
      });
    }
    const paths = counts.map((m) => {
      const p = newPaths();
      for (const [v, n] of m) updatePaths(p, v, n);
      return p;
    });
    state.write(PRE_FILTER_KEY, new PreFilterState(constraints, counts, paths));
    return null;
  },
  addPod(state, pod, added, node) {
    updateWithPod(state, pod, added, node, 1);
  },
  removePod(state, pod, removed, node) {
    updateWithPod(state, pod, removed, node, -1);
  },
  filter(state, pod, info) {
    const s = state.read<PreFilterState>(PRE_FILTER_KEY);
    if (!s) return status("Error", "PodTopologySpread: PreFilter state is missing");
    const labels = info.node.labels;
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i];
      if (!Object.hasOwn(labels, c.topologyKey)) {
        return status("UnschedulableAndUnresolvable", ERR_REASON_NODE_LABEL_NOT_MATCH);
      }
      const self = c.selector && matchesLabels(c.selector, pod.labels) ? 1 : 0;
      const skew = (s.counts[i].get(labels[c.topologyKey]) ?? 0) + self - s.minMatch(i);
      if (skew > c.maxSkew) return status("Unschedulable", ERR_REASON_CONSTRAINTS_NOT_MATCH);
    }
    return null;
  },
  preScore(state, pod, filtered, snapshot) {
    const constraints = pod.spreadConstraints.filter((c) => c.whenUnsatisfiable === "ScheduleAnyway");
    if (constraints.length === 0 || snapshot.nodes().length === 0) return status("Skip");
    const ignored = new Set<string>();
    const counts = constraints.map(() => new Map<string, number>());
    for (const info of filtered) {
      if (!hasAllKeys(info.node.labels, constraints)) {
        ignored.add(info.node.name);
        continue;
      }
      constraints.forEach((c, i) => {
        if (c.topologyKey !== HOSTNAME) {
          const v = info.node.labels[c.topologyKey];
          if (!counts[i].has(v)) counts[i].set(v, 0);
        }
      });
    }
    const weights = constraints.map((c, i) =>
      Math.log((c.topologyKey === HOSTNAME ? filtered.length - ignored.size : counts[i].size) + 2)
    );
    for (const info of snapshot.nodes()) {
      const node = info.node;
      if (!hasAllKeys(node.labels, constraints)) continue;
      constraints.forEach((c, i) => {
        if (!included(c, pod, node)) return;
        const v = node.labels[c.topologyKey];
        const cur = counts[i].get(v);
        if (cur === undefined) return;
        counts[i].set(v, cur + countMatching(info.pods, c, pod.namespace));
      });
    }
    state.write(PRE_SCORE_KEY, new PreScoreState(constraints, ignored, counts, weights));
    return null;
  },
  score(state, pod, info) {
    const s = state.read<PreScoreState>(PRE_SCORE_KEY)!;
    if (s.ignored.has(info.node.name)) return 0;
    let score = 0;
    s.constraints.forEach((c, i) => {
      const v = info.node.labels[c.topologyKey];
      if (v === undefined) return;
      const cnt = c.topologyKey === HOSTNAME
        ? countMatching(info.pods, c, pod.namespace)
        : (s.counts[i].get(v) ?? 0);
      score += cnt * s.weights[i] + (c.maxSkew - 1);
    });
    return Math.round(score);
  },
  normalizeScore(state, _pod, nodes, scores) {
    const s = state.read<PreScoreState>(PRE_SCORE_KEY);
    if (!s) return;
    let min = Number.MAX_SAFE_INTEGER;
    let max = 0;
    const invalid = nodes.map((n) => s.ignored.has(n.node.name));
    scores.forEach((v, i) => {
      if (invalid[i]) return;
      if (v < min) min = v;
      if (v > max) max = v;
    });
    for (let i = 0; i < scores.length; i++) {
      if (invalid[i]) scores[i] = 0;
      else if (max === 0) scores[i] = MAX_NODE_SCORE;
      else scores[i] = Math.trunc((MAX_NODE_SCORE * (max + min - scores[i])) / max);
    }
  },
};
