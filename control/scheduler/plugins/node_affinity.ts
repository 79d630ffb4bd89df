/**
 * NodeAffinity (upstream `nodeaffinity`): the Filter requires `spec.nodeSelector` and the
 * required node affinity terms to match the node; PreFilter narrows the nodes when every term
 * names nodes by `metadata.name`; the Score adds the weights of the preferred terms the node
 * matches, normalized to [0, 100].
 * @module
 */
import {
  type FilterPlugin,
  type PreFilterPlugin,
  type PreScorePlugin,
  type ScorePlugin,
  status,
} from "../types.ts";
import { defaultNormalizeScore, requiredNodeAffinityMatches, termMatches } from "./helpers.ts";

/** Upstream `ErrReasonPod`. */
export const ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector";
/** Upstream `errReasonConflict`. */
export const ERR_REASON_CONFLICT = "pod affinity terms conflict";

export const nodeAffinity: PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin = {
  name: "NodeAffinity",
  events: ["NodeAdd", "NodeLabel"],
  preFilter(_state, pod) {
    const terms = pod.requiredNodeAffinity;
    if (!terms && !pod.nodeSelector) return status("Skip");
    if (!terms) return null;
    let names = null as Set<string> | null;
    for (const t of terms) {
      let termNames = null as Set<string> | null;
      for (const r of t.matchFields) {
        if (r.key === "metadata.name" && r.operator === "In") {
          const s = new Set(r.values);
          termNames = termNames === null ? s : new Set([...termNames].filter((n) => s.has(n)));
        }
      }
      // A term without a node-name requirement admits every node: the terms are ORed.
      if (termNames === null) return null;
      names = names === null ? termNames : new Set([...names, ...termNames]);
    }
    if (names !== null && names.size === 0) {
      return status("UnschedulableAndUnresolvable", ERR_REASON_CONFLICT);
    }
    return names ? { nodeNames: names } : null;
  },
  filter(_state, pod, node) {
    return requiredNodeAffinityMatches(pod, node.node)
      ? null
      : status("UnschedulableAndUnresolvable", ERR_REASON_POD);
  },
  preScore(_state, pod) {
    return pod.preferredNodeAffinity.length === 0 ? status("Skip") : null;
  },
  score(_state, pod, node) {
    let sum = 0;
    for (const p of pod.preferredNodeAffinity) {
      if (p.weight !== 0 && termMatches(p.term, node.node)) sum += p.weight;
    }
    return sum;
  },
  normalizeScore(_state, _pod, _nodes, scores) {
    defaultNormalizeScore(scores, false);
  },
};
