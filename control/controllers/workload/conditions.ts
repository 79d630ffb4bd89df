/**
 * Status conditions of workload objects (Deployment, ReplicaSet, Job, StatefulSet), with
 * upstream's update rules: setting a condition with the same status and reason changes nothing;
 * the same status keeps its `lastTransitionTime`.
 * @module
 */

/** A workload status condition. Times are RFC 3339 strings. */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
  lastProbeTime?: string;
}

/** The condition of `type`, if any. */
export function getCondition<C extends Condition>(conditions: C[] | undefined, type: string): C | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * Upstream `SetDeploymentCondition` (and the ReplicaSet twin): returns the new list. The original
 * list is not modified.
 */
export function setCondition<C extends Condition>(conditions: C[] | undefined, cond: C): C[] {
  const list = conditions ?? [];
  const current = getCondition(list, cond.type);
  if (current && current.status === cond.status && current.reason === cond.reason) return list;
  const next = { ...cond };
  if (current && current.status === cond.status) next.lastTransitionTime = current.lastTransitionTime;
  return [...list.filter((c) => c.type !== cond.type), next];
}

/** The conditions without `type`. */
export function removeCondition<C extends Condition>(conditions: C[] | undefined, type: string): C[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}
