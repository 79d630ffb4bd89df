/**
 * The vocabulary of authorization: RBAC's PolicyRule, Subject and RoleRef (rbac.authorization.k8s.io/v1),
 * and the normalized request {@link Attributes} every authorizer decides on (upstream's
 * `authorizer.Attributes`).
 * @module
 */
import type { UserInfo } from "../context.ts";

/** The RBAC API group. */
export const RBAC_GROUP = "rbac.authorization.k8s.io";
/** The group whose members may do anything (upstream's `user.SystemPrivilegedGroup`). */
export const SYSTEM_MASTERS = "system:masters";
/** The group of node credentials; their user name is `system:node:<name>`. */
export const SYSTEM_NODES = "system:nodes";
export const NODE_USER_PREFIX = "system:node:";
/** The namespace of node heartbeat Leases. */
export const NODE_LEASE_NAMESPACE = "kube-node-lease";
/** A ServiceAccount's user name: `system:serviceaccount:<namespace>:<name>`. */
export const SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:";

/** Annotation telling the bootstrap reconciler it may update a default role or binding. */
export const AUTOUPDATE_ANNOTATION = "rbac.authorization.kubernetes.io/autoupdate";
/** Label of every default role and binding. */
export const BOOTSTRAP_LABEL = "kubernetes.io/bootstrapping";

/** `rbacv1.PolicyRule`. Absent lists are empty. */
export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** `rbacv1.Subject`. */
export interface Subject {
  kind: string;
  apiGroup?: string;
  name: string;
  namespace?: string;
}

/** `rbacv1.RoleRef`. */
export interface RoleRef {
  apiGroup: string;
  kind: string;
  name: string;
}

/**
 * One authorization question (upstream's `authorizer.AttributesRecord`): who, which verb, and either
 * a resource (group, resource, subresource, namespace, name) or a non-resource path.
 */
export interface Attributes {
  user: UserInfo;
  verb: string;
  resourceRequest: boolean;
  /** The URL path (non-resource requests). */
  path: string;
  group: string;
  version: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** The request's field selector, raw (`spec.nodeName=node-1`); empty when none. */
  fieldSelector: string;
  /** The request's label selector, raw. */
  labelSelector: string;
}

/** The outcome of one authorizer: allow, deny, or no opinion (the next authorizer decides). */
export type Decision = "allow" | "deny" | "noOpinion";

/** A decision with the reason upstream appends to denial messages. */
export interface DecisionResult {
  decision: Decision;
  reason: string;
}

/** What a rules resolver knows about a user in a namespace (SelfSubjectRulesReview). */
export interface RulesResult {
  rules: PolicyRule[];
  /** Whether the list may miss permissions (another authorizer cannot enumerate them). */
  incomplete: boolean;
  errors: string[];
}

/** Attributes with defaults, for tests and internal checks (`escalate`, `bind`). */
export function attributes(user: UserInfo, a: Partial<Omit<Attributes, "user">>): Attributes {
  return {
    user,
    verb: a.verb ?? "",
    resourceRequest: a.resourceRequest ?? true,
    path: a.path ?? "",
    group: a.group ?? "",
    version: a.version ?? "*",
    namespace: a.namespace ?? "",
    resource: a.resource ?? "",
    subresource: a.subresource ?? "",
    name: a.name ?? "",
    fieldSelector: a.fieldSelector ?? "",
    labelSelector: a.labelSelector ?? "",
  };
}

/** Reads a JSON value as a list of strings (absent or malformed → empty). */
export function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
}

/** Reads an object's `rules` as PolicyRules, ignoring malformed entries. */
export function rulesOf(obj: unknown): PolicyRule[] {
  const rules = (obj as { rules?: unknown } | null | undefined)?.rules;
  const list = Array.isArray(rules) ? rules : [];
  const out: PolicyRule[] = [];
  for (const r of list) {
    if (!r || typeof r !== "object") continue;
    const rule: PolicyRule = { verbs: strings(r.verbs) };
    for (const k of ["apiGroups", "resources", "resourceNames", "nonResourceURLs"] as const) {
      if (Array.isArray(r[k])) rule[k] = strings(r[k]);
    }
    out.push(rule);
  }
  return out;
}
