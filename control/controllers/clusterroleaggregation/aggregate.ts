/**
 * What an aggregated ClusterRole's rules should be (upstream
 * pkg/controller/clusterroleaggregation `syncClusterRole`): for each of its
 * `aggregationRule.clusterRoleSelectors` in order, the rules of every other ClusterRole the selector
 * matches, the roles sorted by name, each rule once. Pure.
 *
 * @example
 * ```ts
 * aggregatedRules(edit, allClusterRoles); // the rules of every role labelled aggregate-to-edit
 * ```
 * @module
 */
import { fromLabelSelectorObject, type LabelSelectorObject, matchesLabels } from "../../api/selector.ts";
import { deepEqual, type KubeObject } from "../../api/types.ts";

/** A rule with empty lists dropped, so `[]` and an absent list compare equal (`Semantic.DeepEqual`). */
function normalized(rule: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!rule || typeof rule !== "object") return out;
  for (const [k, v] of Object.entries(rule)) {
    if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return out;
}

/** The aggregated rules, or null when `role` has no aggregationRule. Throws on a malformed selector. */
export function aggregatedRules(role: KubeObject, all: readonly KubeObject[]): unknown[] | null {
  const selectors: LabelSelectorObject[] | undefined = role.aggregationRule?.clusterRoleSelectors;
  if (!role.aggregationRule) return null;
  const sorted = [...all].sort((
    a,
    b,
  ) => (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0));
  const rules: unknown[] = [];
  const seen: Record<string, unknown>[] = [];
  for (const sel of selectors ?? []) {
    const selector = fromLabelSelectorObject(sel);
    if (!selector) continue;
    for (const other of sorted) {
      if (other.metadata.name === role.metadata.name) continue;
      if (!matchesLabels(selector, other.metadata.labels)) continue;
      for (const rule of Array.isArray(other.rules) ? other.rules : []) {
        const n = normalized(rule);
        if (seen.some((s) => deepEqual(s, n))) continue;
        seen.push(n);
        rules.push(rule);
      }
    }
  }
  return rules;
}

/** Whether the role's rules already equal `rules` (absent and empty being equal). Pure. */
export function rulesEqual(role: KubeObject, rules: readonly unknown[]): boolean {
  const have = Array.isArray(role.rules) ? role.rules : [];
  return have.length === rules.length &&
    have.every((r: unknown, i: number) => deepEqual(normalized(r), normalized(rules[i])));
}
