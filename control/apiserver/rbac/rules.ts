/**
 * RBAC rule and subject matching, as upstream's `rbac.RuleAllows` and `appliesToUser`
 * (plugin/pkg/auth/authorizer/rbac/rbac.go, pkg/apis/rbac/v1/evaluation_helpers.go). Pure.
 *
 * @example
 * ```ts
 * const rule = { verbs: ["get"], apiGroups: [""], resources: ["pods/log"] };
 * ruleAllows(attributes(alice, { verb: "get", resource: "pods", subresource: "log", name: "web" }), rule); // true
 * ```
 * @module
 */
import type { UserInfo } from "../context.ts";
import type { Attributes, PolicyRule, Subject } from "./types.ts";
import { RBAC_GROUP, SERVICE_ACCOUNT_PREFIX } from "./types.ts";

/** `VerbMatches`: `*` or the verb itself. */
export function verbMatches(rule: PolicyRule, verb: string): boolean {
  for (const v of rule.verbs) if (v === "*" || v === verb) return true;
  return false;
}

/** `APIGroupMatches`: `*` or the group itself. */
export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  for (const g of rule.apiGroups ?? []) if (g === "*" || g === group) return true;
  return false;
}

/**
 * `ResourceMatches`: `*`, the combined `resource/subresource`, or `*\/subresource` for a request of
 * any resource's subresource.
 */
export function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  for (const r of rule.resources ?? []) {
    if (r === "*" || r === combined) return true;
    if (!subresource) continue;
    if (r.length === subresource.length + 2 && r.startsWith("*/") && r.endsWith(subresource)) return true;
  }
  return false;
}

/** `ResourceNameMatches`: an empty list matches every name. */
export function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(name);
}

/** `NonResourceURLMatches`: `*`, the path itself, or a prefix ending in `*`. */
export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === "*" || u === path) return true;
    if (u.endsWith("*") && path.startsWith(u.replace(/\*+$/, ""))) return true;
  }
  return false;
}

/** `RuleAllows`: whether one rule grants the request. */
export function ruleAllows(a: Attributes, rule: PolicyRule): boolean {
  if (!a.resourceRequest) return verbMatches(rule, a.verb) && nonResourceURLMatches(rule, a.path);
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return verbMatches(rule, a.verb) &&
    apiGroupMatches(rule, a.group) &&
    resourceMatches(rule, combined, a.subresource) &&
    resourceNameMatches(rule, a.name);
}

/** `RulesAllow`: whether any rule grants the request. */
export function rulesAllow(a: Attributes, rules: readonly PolicyRule[]): boolean {
  for (const r of rules) if (ruleAllows(a, r)) return true;
  return false;
}

/** The user name of a ServiceAccount. */
export function serviceAccountUser(namespace: string, name: string): string {
  return `${SERVICE_ACCOUNT_PREFIX}${namespace}:${name}`;
}

/**
 * `appliesToUser`: whether a binding subject names this user. A ServiceAccount subject without a
 * namespace means the binding's own namespace (never, for a ClusterRoleBinding).
 */
export function subjectApplies(user: UserInfo, s: Subject, bindingNamespace: string): boolean {
  switch (s.kind) {
    case "User":
      return user.username === s.name;
    case "Group":
      return user.groups.includes(s.name);
    case "ServiceAccount": {
      const ns = s.namespace || bindingNamespace;
      return ns !== "" && user.username === serviceAccountUser(ns, s.name);
    }
    default:
      return false;
  }
}

/**
 * The index key a subject is filed under, so a decision looks up only the bindings that can
 * apply: `u:<user name>` (ServiceAccounts become their user name) or `g:<group>`. Null when the
 * subject can never match.
 */
export function subjectKey(s: Subject, bindingNamespace: string): string | null {
  switch (s.kind) {
    case "User":
      return `u:${s.name}`;
    case "Group":
      return `g:${s.name}`;
    case "ServiceAccount": {
      const ns = s.namespace || bindingNamespace;
      return ns ? `u:${serviceAccountUser(ns, s.name)}` : null;
    }
    default:
      return null;
  }
}

/** The index keys of a user: its name and each of its groups. */
export function userKeys(user: UserInfo): string[] {
  return [`u:${user.username}`, ...user.groups.map((g) => `g:${g}`)];
}

/** Reads a binding's subjects, ignoring malformed entries. */
export function subjectsOf(obj: unknown): Subject[] {
  const subjects = (obj as { subjects?: unknown } | null | undefined)?.subjects;
  const list = Array.isArray(subjects) ? subjects : [];
  return list.filter((s): s is Subject =>
    !!s && typeof s === "object" && typeof s.name === "string" && typeof s.kind === "string"
  );
}

/** Reads a binding's roleRef (apiGroup defaulted). */
export function roleRefOf(obj: unknown): { apiGroup: string; kind: string; name: string } {
  const r = ((obj as { roleRef?: unknown } | null | undefined)?.roleRef ?? {}) as Record<string, unknown>;
  return {
    apiGroup: typeof r.apiGroup === "string" && r.apiGroup ? r.apiGroup : RBAC_GROUP,
    kind: typeof r.kind === "string" ? r.kind : "",
    name: typeof r.name === "string" ? r.name : "",
  };
}
