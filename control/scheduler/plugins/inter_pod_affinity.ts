/**
 * InterPodAffinity (upstream `interpodaffinity`): required pod affinity and anti-affinity as a
 * Filter (the incoming pod's terms against pods already placed, and placed pods' required
 * anti-affinity against the incoming pod), preferred terms as a Score. Terms work for any
 * topology key (`kubernetes.io/hostname`, `topology.kubernetes.io/zone`, ...); a term's
 * `namespaceSelector` is matched against namespace labels.
 * @module
 */
import {
  type AffinityTerm,
  type CycleState,
  type FilterPlugin,
  MAX_NODE_SCORE,
  type NodeInfoView,
  type NodeView,
  type PodView,
  type PreFilterPlugin,
  type PreScorePlugin,
  type ScorePlugin,
  type Snapshot,
  type StateData,
  status,
} from "../types.ts";
import { affinityTermMatches } from "./helpers.ts";

/** Upstream `ErrReasonExistingAntiAffinityRulesNotMatch`. */
export const ERR_REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";
/** Upstream `ErrReasonAffinityRulesNotMatch`. */
export const ERR_REASON_AFFINITY = "node(s) didn't match pod affinity rules";
/** Upstream `ErrReasonAntiAffinityRulesNotMatch`. */
export const ERR_REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";

/** Upstream `HardPodAffinityWeight` default. */
const HARD_POD_AFFINITY_WEIGHT = 1;
const PRE_FILTER_KEY = "PreFilterInterPodAffinity";
const PRE_SCORE_KEY = "PreScoreInterPodAffinity";

/** Counts of matching pods per topology pair (`key\0value`). */
type Counts = Map<string, number>;

const pair = (key: string, value: string) => `${key}\u0000${value}`;

function bump(m: Counts, node: NodeView, key: string, delta: number): void {
  const v = node.labels[key];
  if (v === undefined) return;
  const k = pair(key, v);
  const n = (m.get(k) ?? 0) + delta;
  if (n === 0) m.delete(k);
  else m.set(k, n);
}

function matchesAll(terms: readonly AffinityTerm[], pod: PodView, snapshot: Snapshot): boolean {
  if (terms.length === 0) return false;
  for (const t of terms) if (!affinityTermMatches(t, pod, snapshot)) return false;
  return true;
}

class PreFilterState implements StateData {
  constructor(
    readonly snapshot: Snapshot,
    readonly existingAntiAffinity: Counts,
    readonly affinity: Counts,
    readonly antiAffinity: Counts,
  ) {}

  clone(): PreFilterState {
    return new PreFilterState(
      this.snapshot,
      new Map(this.existingAntiAffinity),
      new Map(this.affinity),
      new Map(this.antiAffinity),
    );
  }
}

/** Applies one placed pod to the counts (upstream `updateWithPod`). */
function account(s: PreFilterState, pod: PodView, other: PodView, node: NodeView, delta: number): void {
  for (const t of other.requiredAntiAffinity) {
    if (affinityTermMatches(t, pod, s.snapshot)) bump(s.existingAntiAffinity, node, t.topologyKey, delta);
  }
  if (matchesAll(pod.requiredAffinity, other, s.snapshot)) {
    for (const t of pod.requiredAffinity) bump(s.affinity, node, t.topologyKey, delta);
  }
  for (const t of pod.requiredAntiAffinity) {
    if (affinityTermMatches(t, other, s.snapshot)) bump(s.antiAffinity, node, t.topologyKey, delta);
  }
}

function satisfiesAffinity(s: PreFilterState, pod: PodView, node: NodeView): boolean {
  let podsExist = true;
  for (const t of pod.requiredAffinity) {
    const v = node.labels[t.topologyKey];
    if (v === undefined) return false;
    if ((s.affinity.get(pair(t.topologyKey, v)) ?? 0) <= 0) podsExist = false;
  }
  // The first pod of a group with affinity to itself may go anywhere with the topology labels.
  return podsExist || (s.affinity.size === 0 && matchesAll(pod.requiredAffinity, pod, s.snapshot));
}

function satisfiesAntiAffinity(s: PreFilterState, pod: PodView, node: NodeView): boolean {
  if (s.antiAffinity.size === 0) return true;
  for (const t of pod.requiredAntiAffinity) {
    const v = node.labels[t.topologyKey];
    if (v !== undefined && (s.antiAffinity.get(pair(t.topologyKey, v)) ?? 0) > 0) return false;
  }
  return true;
}

function satisfiesExistingAntiAffinity(s: PreFilterState, node: NodeView): boolean {
  if (s.existingAntiAffinity.size === 0) return true;
  for (const [k, v] of Object.entries(node.labels)) {
    if ((s.existingAntiAffinity.get(pair(k, v)) ?? 0) > 0) return false;
  }
  return true;
}

class PreScoreState implements StateData {
  constructor(readonly topologyScore: Map<string, Map<string, number>>) {}
  clone(): PreScoreState {
    return this;
  }
}

function addScore(m: Map<string, Map<string, number>>, node: NodeView, key: string, delta: number): void {
  const v = node.labels[key];
  if (v === undefined || delta === 0) return;
  let byValue = m.get(key);
  if (!byValue) m.set(key, byValue = new Map());
  byValue.set(v, (byValue.get(v) ?? 0) + delta);
}

/** Upstream `processExistingPod`: what one placed pod contributes to the topology scores. */
function scoreExisting(
  m: Map<string, Map<string, number>>,
  pod: PodView,
  existing: PodView,
  node: NodeView,
  snapshot: Snapshot,
) {
  for (const t of pod.preferredAffinity) {
    if (affinityTermMatches(t, existing, snapshot)) addScore(m, node, t.topologyKey, t.weight);
  }
  for (const t of pod.preferredAntiAffinity) {
    if (affinityTermMatches(t, existing, snapshot)) addScore(m, node, t.topologyKey, -t.weight);
  }
  for (const t of existing.requiredAffinity) {
    if (affinityTermMatches(t, pod, snapshot)) addScore(m, node, t.topologyKey, HARD_POD_AFFINITY_WEIGHT);
  }
  for (const t of existing.preferredAffinity) {
    if (affinityTermMatches(t, pod, snapshot)) addScore(m, node, t.topologyKey, t.weight);
  }
  for (const t of existing.preferredAntiAffinity) {
    if (affinityTermMatches(t, pod, snapshot)) addScore(m, node, t.topologyKey, -t.weight);
  }
}

function update(state: CycleState, pod: PodView, other: PodView, node: NodeInfoView, delta: number): void {
  const s = state.read<PreFilterState>(PRE_FILTER_KEY);
  if (s) account(s, pod, other, node.node, delta);
}

export const interPodAffinity: PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin = {
  name: "InterPodAffinity",
  events: [
    "AssignedPodAdd",
    "AssignedPodUpdate",
    "AssignedPodDelete",
    "NodeAdd",
    "NodeLabel",
    "NamespaceChange",
  ],
  preFilter(state, pod, snapshot) {
    const s = new PreFilterState(snapshot, new Map(), new Map(), new Map());
    for (const info of snapshot.nodesWithRequiredAntiAffinityPods()) {
      for (const other of info.pods) {
        for (const t of other.requiredAntiAffinity) {
          if (affinityTermMatches(t, pod, snapshot)) {
            bump(s.existingAntiAffinity, info.node, t.topologyKey, 1);
          }
        }
      }
    }
    if (pod.requiredAffinity.length || pod.requiredAntiAffinity.length) {
      for (const info of snapshot.nodes()) {
        for (const other of info.pods) {
          if (matchesAll(pod.requiredAffinity, other, snapshot)) {
            for (const t of pod.requiredAffinity) bump(s.affinity, info.node, t.topologyKey, 1);
          }
          for (const t of pod.requiredAntiAffinity) {
            if (affinityTermMatches(t, other, snapshot)) bump(s.antiAffinity, info.node, t.topologyKey, 1);
          }
        }
      }
    } else if (s.existingAntiAffinity.size === 0) {
      return status("Skip");
    }
    state.write(PRE_FILTER_KEY, s);
    return null;
  },
  addPod(state, pod, added, node) {
    update(state, pod, added, node, 1);
  },
  removePod(state, pod, removed, node) {
    update(state, pod, removed, node, -1);
  },
  filter(state, pod, info) {
    const s = state.read<PreFilterState>(PRE_FILTER_KEY);
    if (!s) return status("Error", "InterPodAffinity: PreFilter state is missing");
    if (!satisfiesAffinity(s, pod, info.node)) {
      return status("UnschedulableAndUnresolvable", ERR_REASON_AFFINITY);
    }
    if (!satisfiesAntiAffinity(s, pod, info.node)) return status("Unschedulable", ERR_REASON_ANTI_AFFINITY);
    if (!satisfiesExistingAntiAffinity(s, info.node)) {
      return status("Unschedulable", ERR_REASON_EXISTING_ANTI_AFFINITY);
    }
    return null;
  },
  preScore(state, pod, _nodes, snapshot) {
    const own = pod.preferredAffinity.length > 0 || pod.preferredAntiAffinity.length > 0;
    const nodes = own ? snapshot.nodes() : snapshot.nodesWithAffinityPods();
    if (nodes.length === 0) return status("Skip");
    const m = new Map<string, Map<string, number>>();
    for (const info of nodes) {
      if (Object.keys(info.node.labels).length === 0) continue;
      for (const existing of info.pods) {
        if (
          own || existing.requiredAffinity.length || existing.preferredAffinity.length ||
          existing.preferredAntiAffinity.length
        ) {
          scoreExisting(m, pod, existing, info.node, snapshot);
        }
      }
    }
    if (m.size === 0) return status("Skip");
    state.write(PRE_SCORE_KEY, new PreScoreState(m));
    return null;
  },
  score(state, _pod, info) {
    const s = state.read<PreScoreState>(PRE_SCORE_KEY)!;
    let score = 0;
    for (const [key, byValue] of s.topologyScore) {
      const v = info.node.labels[key];
      if (v !== undefined) score += byValue.get(v) ?? 0;
    }
    return score;
  },
  normalizeScore(state, _pod, _nodes, scores) {
    if (!state.read<PreScoreState>(PRE_SCORE_KEY)) return;
    let min = Number.MAX_SAFE_INTEGER;
    let max = Number.MIN_SAFE_INTEGER;
    for (const s of scores) {
      if (s > max) max = s;
      if (s < min) min = s;
    }
    const diff = max - min;
    for (let i = 0; i < scores.length; i++) {
      scores[i] = diff > 0 ? Math.trunc(MAX_NODE_SCORE * ((scores[i] - min) / diff)) : 0;
    }
  },
};
