/**
 * Whether one set of rules covers another, as upstream's escalation check
 * (pkg/registry/rbac/validation/policy_compact.go, policy_comparator.go, rule.go): rules are broken
 * down into one verb × group × resource × name each, and every piece must be held by some owner
 * rule. The missing pieces are compacted and printed in upstream's `CompactString` form. Pure.
 *
 * @example
 * ```ts
 * const [ok, missing] = covers([{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }],
 *   [{ verbs: ["get", "list"], apiGroups: [""], resources: ["pods"] }]);
 * // ok = false, missing = [{ verbs: ["list"], apiGroups: [""], resources: ["pods"] }]
 * ```
 * @module
 */
import type { UserInfo } from "../context.ts";
import type { PolicyRule } from "./types.ts";

/** `BreakdownRule`: one rule per group × resource × verb (× name), and per URL × verb. */
export function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs) {
        if (rule.resourceNames?.length) {
          for (const name of rule.resourceNames) {
            out.push({ apiGroups: [group], resources: [resource], verbs: [verb], resourceNames: [name] });
          }
        } else {
          out.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
        }
      }
    }
  }
  for (const url of rule.nonResourceURLs ?? []) {
    for (const verb of rule.verbs) out.push({ nonResourceURLs: [url], verbs: [verb] });
  }
  return out;
}

const hasAll = (set: readonly string[] = [], want: readonly string[] = []) =>
  want.every((w) => set.includes(w));

function resourceCoversAll(owner: readonly string[] = [], wanted: readonly string[] = []): boolean {
  if (owner.includes("*") || hasAll(owner, wanted)) return true;
  for (const path of wanted) {
    if (owner.includes(path)) continue;
    const slash = path.indexOf("/");
    if (slash < 0) return false;
    if (!owner.includes(`*/${path.slice(slash + 1)}`)) return false;
  }
  return true;
}

function nonResourceURLCovers(owner: string, sub: string): boolean {
  return owner === sub || (owner.endsWith("*") && sub.startsWith(owner.replace(/\*+$/, "")));
}

/** `ruleCovers`: whether `owner` grants everything the broken-down `sub` rule does. */
export function ruleCovers(owner: PolicyRule, sub: PolicyRule): boolean {
  const verbs = owner.verbs.includes("*") || hasAll(owner.verbs, sub.verbs);
  const groups = (owner.apiGroups ?? []).includes("*") || hasAll(owner.apiGroups, sub.apiGroups);
  const resources = resourceCoversAll(owner.resources, sub.resources);
  const urls = (sub.nonResourceURLs ?? []).every((u) =>
    (owner.nonResourceURLs ?? []).some((o) => nonResourceURLCovers(o, u))
  );
  const ownerNames = owner.resourceNames ?? [];
  const subNames = sub.resourceNames ?? [];
  const names = subNames.length === 0
    ? ownerNames.length === 0
    : ownerNames.length === 0 || hasAll(ownerNames, subNames);
  return verbs && groups && resources && names && urls;
}

/** `Covers`: whether `owner` holds every permission of `wanted`, and the broken-down rules it lacks. */
export function covers(owner: readonly PolicyRule[], wanted: readonly PolicyRule[]): [boolean, PolicyRule[]] {
  const missing: PolicyRule[] = [];
  for (const rule of wanted) {
    for (const sub of breakdownRule(rule)) {
      if (!owner.some((o) => ruleCovers(o, sub))) missing.push(sub);
    }
  }
  return [missing.length === 0, missing];
}

/**
 * `CompactRules`: merges rules with one group, one resource and at most one name that differ only
 * in their verbs.
 */
export function compactRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  const simple = new Map<string, PolicyRule>();
  for (const r of rules) {
    const isSimple = (r.resourceNames?.length ?? 0) <= 1 && !r.nonResourceURLs?.length &&
      r.apiGroups?.length === 1 && r.resources?.length === 1;
    if (!isSimple) {
      out.push(r);
      continue;
    }
    const key = JSON.stringify([r.apiGroups![0], r.resources![0], r.resourceNames?.[0] ?? null]);
    const existing = simple.get(key);
    if (existing) {
      for (const v of r.verbs) if (!existing.verbs.includes(v)) existing.verbs.push(v);
    } else {
      simple.set(key, { ...structuredClone(r), verbs: [...r.verbs] });
    }
  }
  return [...out, ...simple.values()];
}

/** Go's `%q` of a string slice: `["a" "b"]`. */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(" ")}]`;
}

/** `CompactString`: `{APIGroups:[""], Resources:["pods"], Verbs:["get"]}`. */
export function compactString(r: PolicyRule): string {
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${goQuoteList(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${goQuoteList(r.resources)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${goQuoteList(r.nonResourceURLs)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${goQuoteList(r.resourceNames)}`);
  if (r.verbs.length) parts.push(`Verbs:${goQuoteList(r.verbs)}`);
  return `{${parts.join(", ")}}`;
}

/**
 * `ConfirmNoEscalation`'s message: `user "alice" (groups=["team-a" "system:authenticated"]) is
 * attempting to grant RBAC permissions not currently held:` followed by the sorted, compacted
 * missing rules, one per line.
 */
export function escalationMessage(
  user: UserInfo,
  missing: readonly PolicyRule[],
  errors: readonly string[] = [],
): string {
  const lines = [...new Set(compactRules(missing).map(compactString))].sort();
  let msg = `user ${JSON.stringify(user.username)} (groups=${
    goQuoteList(user.groups)
  }) is attempting to grant RBAC permissions not currently held:\n${lines.join("\n")}`;
  if (errors.length) msg += `; resolution errors: [${errors.join(" ")}]`;
  return msg;
}

/** `*` on every resource and every non-resource URL: what an aggregationRule needs. */
export const FULL_AUTHORITY: readonly PolicyRule[] = [
  { verbs: ["*"], apiGroups: ["*"], resources: ["*"] },
  { verbs: ["*"], nonResourceURLs: ["*"] },
];
