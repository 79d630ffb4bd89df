/**
 * Matching rules shared by plugins, as upstream's `component-helpers/scheduling/corev1`:
 * tolerations against taints, node selector terms against nodes, affinity terms against pods,
 * and the default score normalization.
 * @module
 */
import { matchesLabels } from "../../api/selector.ts";
import {
  type AffinityTerm,
  MAX_NODE_SCORE,
  type NodeSelectorRequirement,
  type NodeSelectorTerm,
  type NodeView,
  type PodView,
  type Snapshot,
  type Taint,
  type Toleration,
} from "../types.ts";

/** Upstream `Toleration.ToleratesTaint`. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator) {
    case "":
    case "Equal":
      return t.value === taint.value;
    case "Exists":
      return true;
    default:
      return false;
  }
}

/** Whether any toleration tolerates the taint. */
export function tolerationsTolerate(ts: readonly Toleration[], taint: Taint): boolean {
  for (const t of ts) if (toleratesTaint(t, taint)) return true;
  return false;
}

/**
 * The first NoSchedule/NoExecute taint no toleration tolerates (upstream
 * `FindMatchingUntoleratedTaint` with `DoNotScheduleTaintsFilterFunc`), or undefined.
 */
export function untoleratedTaint(
  taints: readonly Taint[],
  tolerations: readonly Toleration[],
): Taint | undefined {
  for (const taint of taints) {
    if (taint.effect === "PreferNoSchedule") continue;
    if (!tolerationsTolerate(tolerations, taint)) return taint;
  }
  return undefined;
}

function intValue(s: string): number | undefined {
  return /^-?\d+$/.test(s) ? Number(s) : undefined;
}

/** One node selector requirement against a value source (labels or fields). */
function requirementMatches(r: NodeSelectorRequirement, values: Record<string, string>): boolean {
  const has = Object.hasOwn(values, r.key);
  const v = has ? values[r.key] : "";
  switch (r.operator) {
    case "In":
      return has && r.values.includes(v);
    case "NotIn":
      return !has || !r.values.includes(v);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    case "Gt":
    case "Lt": {
      if (!has || r.values.length !== 1) return false;
      const a = intValue(v);
      const b = intValue(r.values[0]);
      if (a === undefined || b === undefined) return false;
      return r.operator === "Gt" ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** Whether the node matches one term (all its requirements); an empty term matches nothing. */
export function termMatches(term: NodeSelectorTerm, node: NodeView): boolean {
  if (term.matchExpressions.length === 0 && term.matchFields.length === 0) return false;
  for (const r of term.matchExpressions) if (!requirementMatches(r, node.labels)) return false;
  if (term.matchFields.length) {
    const fields = { "metadata.name": node.name };
    for (const r of term.matchFields) {
      if (r.key !== "metadata.name" || !requirementMatches(r, fields)) return false;
    }
  }
  return true;
}

/** Whether the node matches any of the (ORed) terms. */
export function anyTermMatches(terms: readonly NodeSelectorTerm[], node: NodeView): boolean {
  for (const t of terms) if (termMatches(t, node)) return true;
  return false;
}

/** The pod's nodeSelector and required node affinity both hold on the node (upstream `GetRequiredNodeAffinity(pod).Match`). */
export function requiredNodeAffinityMatches(pod: PodView, node: NodeView): boolean {
  if (pod.nodeSelector) {
    for (const [k, v] of Object.entries(pod.nodeSelector)) if (node.labels[k] !== v) return false;
  }
  if (pod.requiredNodeAffinity && !anyTermMatches(pod.requiredNodeAffinity, node)) return false;
  return true;
}

/** Whether `pod` is selected by an affinity term (namespace and label selector; upstream `AffinityTerm.Matches`). */
export function affinityTermMatches(term: AffinityTerm, pod: PodView, snapshot: Snapshot): boolean {
  let nsOk = term.namespaces.includes(pod.namespace);
  if (!nsOk && term.namespaceSelector) {
    const nsLabels = snapshot.namespaceLabels(pod.namespace);
    nsOk = term.namespaceSelector.length === 0 ||
      (nsLabels !== undefined && matchesLabels(term.namespaceSelector, nsLabels));
  }
  return nsOk && term.selector !== null && matchesLabels(term.selector, pod.labels);
}

/** Upstream `helper.DefaultNormalizeScore`: scales to [0, max]; `reverse` flips it. */
export function defaultNormalizeScore(scores: number[], reverse: boolean, max = MAX_NODE_SCORE): void {
  let top = 0;
  for (const s of scores) if (s > top) top = s;
  if (top === 0) {
    if (reverse) scores.fill(max);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    const s = Math.trunc((max * scores[i]) / top);
    scores[i] = reverse ? max - s : s;
  }
}
