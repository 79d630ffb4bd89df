/**
 * A PodDisruptionBudget's status, as upstream's disruption controller computes it
 * (`getExpectedPodCount`, `countHealthyPods`, `updatePdbStatus`). Pure.
 *
 * - `minAvailable` as a number: `desiredHealthy` is it, `expectedPods` the matching pods;
 * - `maxUnavailable`, or `minAvailable` as a percentage: `expectedPods` is the sum of the scales
 *   of the pods' controllers (a Deployment's for its ReplicaSets' pods), rounded up;
 * - `currentHealthy`: matching pods that are Ready and not being deleted, and not in
 *   `disruptedPods` (evicted, not yet deleted);
 * - `disruptionsAllowed = currentHealthy − desiredHealthy`, 0 when no pods are expected.
 * @module
 */
import { fromLabelSelectorObject, matchesLabels } from "../../api/selector.ts";
import type { KubeObject } from "../../api/types.ts";
import { isPodReady, timestamp } from "../workload/pod_util.ts";

/** How long an eviction's entry in `disruptedPods` counts (upstream's `DeletionTimeout`). */
export const DELETION_TIMEOUT_MS = 2 * 60 * 1000;

interface PdbCondition {
  type?: string;
  status?: string;
  lastTransitionTime?: string;
}

/**
 * The DisruptionAllowed condition, as `UpdateDisruptionAllowedCondition` sets it (the controller
 * for each status, the eviction when it takes the last allowed disruption).
 */
export function disruptionAllowedCondition(
  allowed: number,
  previous: PdbCondition[] | undefined,
  observedGeneration: number | undefined,
  now: number,
) {
  const status = allowed > 0 ? "True" : "False";
  const old = (previous ?? []).find((c) => c.type === "DisruptionAllowed");
  return {
    type: "DisruptionAllowed",
    status,
    reason: allowed > 0 ? "SufficientPods" : "InsufficientPods",
    message: "",
    observedGeneration,
    lastTransitionTime: old?.status === status && old.lastTransitionTime
      ? old.lastTransitionTime
      : timestamp(now),
  };
}

/** The pods a budget's selector matches (a missing selector matches none, an empty one all). */
export function budgetPods(pdb: KubeObject, pods: KubeObject[]): KubeObject[] {
  const selector = fromLabelSelectorObject(pdb.spec?.selector);
  return selector ? pods.filter((p) => matchesLabels(selector, p.metadata.labels)) : [];
}

/** Whether the budget selects the pod. */
export function selectsPod(pdb: KubeObject, pod: KubeObject): boolean {
  return budgetPods(pdb, [pod]).length > 0;
}

/** `GetScaledValueFromIntOrPercent(v, total, roundUp=true)`. */
export function scaled(v: number | string, total: number): number {
  if (typeof v === "number") return v;
  const pct = parseInt(v.replace(/%$/, ""), 10);
  return Math.ceil((pct * total) / 100);
}

export interface BudgetInputs {
  /** The pods the budget's selector matches, in its namespace. */
  pods: KubeObject[];
  /** The scale of a pod's controller (by the pod), or undefined when it has none or it is unknown. */
  scaleOf: (pod: KubeObject) => { key: string; replicas: number } | undefined;
  now: number;
}

/** The status the controller writes for `pdb`. */
export function budgetStatus(pdb: KubeObject, inputs: BudgetInputs): Record<string, unknown> {
  const spec = pdb.spec ?? {};
  const { pods, now } = inputs;
  let expected = 0;
  let desired = 0;
  const expectedScale = () => {
    const seen = new Map<string, number>();
    for (const p of pods) {
      const s = inputs.scaleOf(p);
      if (s) seen.set(s.key, s.replicas);
    }
    return [...seen.values()].reduce((a, b) => a + b, 0);
  };
  if (spec.maxUnavailable != null) {
    expected = expectedScale();
    desired = Math.max(0, expected - scaled(spec.maxUnavailable, expected));
  } else if (spec.minAvailable != null) {
    if (typeof spec.minAvailable === "number") {
      desired = spec.minAvailable;
      expected = pods.length;
    } else {
      expected = expectedScale();
      desired = scaled(spec.minAvailable, expected);
    }
  }
  // Evictions the API server recorded: kept while their pod is still there and not too old.
  const disrupted: Record<string, string> = {};
  for (const [name, at] of Object.entries((pdb.status?.disruptedPods ?? {}) as Record<string, string>)) {
    const pod = pods.find((p) => p.metadata.name === name);
    const fresh = Date.parse(at) + DELETION_TIMEOUT_MS > now;
    if (pod && !pod.metadata.deletionTimestamp && fresh) disrupted[name] = at;
  }
  const healthy =
    pods.filter((p) => !p.metadata.deletionTimestamp && !(p.metadata.name! in disrupted) && isPodReady(p))
      .length;
  let allowed = healthy - desired;
  if (expected <= 0 || allowed <= 0) allowed = 0;
  const condition = disruptionAllowedCondition(allowed, pdb.status?.conditions, pdb.metadata.generation, now);
  return {
    observedGeneration: pdb.metadata.generation,
    ...(Object.keys(disrupted).length ? { disruptedPods: disrupted } : {}),
    disruptionsAllowed: allowed,
    currentHealthy: healthy,
    desiredHealthy: desired,
    expectedPods: expected,
    conditions: [condition],
  };
}
