/**
 * rbac.authorization.k8s.io/v1: `roles`, `clusterroles`, `rolebindings`, `clusterrolebindings`,
 * with upstream's defaulting (`SetDefaults_*`), validation (pkg/apis/rbac/validation) and kubectl
 * tables. Authorization itself lives in control/apiserver/rbac.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import type { ResourceDef } from "../../api/resource.ts";
import { fieldError, type StatusCause } from "../../api/status.ts";
import { deepEqual, type KubeObject } from "../../api/types.ts";
import { validateLabelSelector, validateObjectMeta } from "./metadata.ts";
import { isDNS1123Subdomain, type NameValidator } from "./names.ts";
import { age, ageColumn, column, defaultTable, nameColumn } from "./table.ts";

export const RBAC_GROUP = "rbac.authorization.k8s.io";

const arr = (v: unknown): any[] => (Array.isArray(v) ? v : []);

/** `path.IsValidPathSegmentName` / `Prefix`: RBAC names may be anything but `.`, `..`, `/` and `%`. */
export const rbacName: NameValidator = (name, prefix) => {
  if (!prefix && (name === "." || name === "..")) return [`may not be '${name}'`];
  const errs: string[] = [];
  if (name.includes("/")) errs.push("may not contain '/'");
  if (name.includes("%")) errs.push("may not contain '%'");
  return errs;
};

/** `ValidatePolicyRule`. */
export function validatePolicyRule(rule: any, namespaced: boolean, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  if (!rule || typeof rule !== "object") return [fieldError.invalid(path, rule, "must be an object")];
  if (arr(rule.verbs).length === 0) {
    errs.push(fieldError.required(`${path}.verbs`, "verbs must contain at least one value"));
  }
  if (arr(rule.nonResourceURLs).length > 0) {
    if (namespaced) {
      errs.push(
        fieldError.invalid(
          `${path}.nonResourceURLs`,
          rule.nonResourceURLs,
          "namespaced rules cannot apply to non-resource URLs",
        ),
      );
    }
    if (arr(rule.apiGroups).length || arr(rule.resources).length || arr(rule.resourceNames).length) {
      errs.push(
        fieldError.invalid(
          `${path}.nonResourceURLs`,
          rule.nonResourceURLs,
          "rules cannot apply to both regular resources and non-resource URLs",
        ),
      );
    }
    return errs;
  }
  if (arr(rule.apiGroups).length === 0) {
    errs.push(fieldError.required(`${path}.apiGroups`, "resource rules must supply at least one api group"));
  }
  if (arr(rule.resources).length === 0) {
    errs.push(fieldError.required(`${path}.resources`, "resource rules must supply at least one resource"));
  }
  return errs;
}

/** `ValidateRole`. */
export function validateRole(obj: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: true, nameFn: rbacName });
  arr(obj.rules).forEach((r, i) => errs.push(...validatePolicyRule(r, true, `rules[${i}]`)));
  return errs;
}

/** `ValidateClusterRole`, with the aggregation rule's selectors. */
export function validateClusterRole(obj: KubeObject): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced: false, nameFn: rbacName });
  arr(obj.rules).forEach((r, i) => errs.push(...validatePolicyRule(r, false, `rules[${i}]`)));
  const agg = obj.aggregationRule;
  if (agg) {
    const selectors = arr(agg.clusterRoleSelectors);
    if (selectors.length === 0) {
      errs.push(
        fieldError.required(
          "aggregationRule.clusterRoleSelectors",
          "at least one clusterRoleSelector required if aggregationRule is non-nil",
        ),
      );
    }
    selectors.forEach((s, i) =>
      errs.push(...validateLabelSelector(s, `aggregationRule.clusterRoleSelectors[${i}]`))
    );
  }
  return errs;
}

/** `ValidateRoleBindingSubject`. */
export function validateSubject(s: any, namespaced: boolean, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  if (!s?.name) errs.push(fieldError.required(`${path}.name`));
  switch (s?.kind) {
    case "ServiceAccount":
      if (s.name) {
        for (const msg of isDNS1123Subdomain(s.name)) {
          errs.push(fieldError.invalid(`${path}.name`, s.name, msg));
        }
      }
      if (s.apiGroup) errs.push(fieldError.notSupported(`${path}.apiGroup`, s.apiGroup, [""]));
      if (!namespaced && !s.namespace) errs.push(fieldError.required(`${path}.namespace`));
      break;
    case "User":
    case "Group":
      if (s.apiGroup !== RBAC_GROUP) {
        errs.push(fieldError.notSupported(`${path}.apiGroup`, s.apiGroup ?? "", [RBAC_GROUP]));
      }
      break;
    default:
      errs.push(fieldError.notSupported(`${path}.kind`, s?.kind ?? "", ["ServiceAccount", "User", "Group"]));
  }
  return errs;
}

function validateBinding(obj: KubeObject, old: KubeObject | undefined, namespaced: boolean): StatusCause[] {
  const errs = validateObjectMeta(obj, { namespaced, nameFn: rbacName });
  const ref = obj.roleRef ?? {};
  if (ref.apiGroup !== RBAC_GROUP) {
    errs.push(fieldError.notSupported("roleRef.apiGroup", ref.apiGroup ?? "", [RBAC_GROUP]));
  }
  const kinds = namespaced ? ["Role", "ClusterRole"] : ["ClusterRole"];
  if (!kinds.includes(ref.kind)) errs.push(fieldError.notSupported("roleRef.kind", ref.kind ?? "", kinds));
  if (!ref.name) errs.push(fieldError.required("roleRef.name"));
  else {for (const msg of rbacName(ref.name, false)) {
      errs.push(fieldError.invalid("roleRef.name", ref.name, msg));
    }}
  arr(obj.subjects).forEach((s, i) => errs.push(...validateSubject(s, namespaced, `subjects[${i}]`)));
  if (old && !deepEqual(obj.roleRef ?? null, old.roleRef ?? null)) {
    errs.push(fieldError.invalid("roleRef", obj.roleRef, "cannot change roleRef"));
  }
  return errs;
}

/** `SetDefaults_RoleBinding` / `ClusterRoleBinding` / `Subject`. */
export function defaultBinding(obj: KubeObject): void {
  if (obj.roleRef && typeof obj.roleRef === "object" && !obj.roleRef.apiGroup) {
    obj.roleRef.apiGroup = RBAC_GROUP;
  }
  for (const s of arr(obj.subjects)) {
    if (s && typeof s === "object" && !s.apiGroup && (s.kind === "User" || s.kind === "Group")) {
      s.apiGroup = RBAC_GROUP;
    }
  }
}

/** `rbac.SubjectsStrings`: users, groups and `namespace/name` service accounts. */
export function subjectsStrings(subjects: unknown): [string, string, string] {
  const users: string[] = [];
  const groups: string[] = [];
  const sas: string[] = [];
  for (const s of arr(subjects)) {
    if (s?.kind === "ServiceAccount") sas.push(`${s.namespace ?? ""}/${s.name ?? ""}`);
    else if (s?.kind === "User") users.push(s.name ?? "");
    else if (s?.kind === "Group") groups.push(s.name ?? "");
  }
  return [users.join(", "), groups.join(", "), sas.join(", ")];
}

function bindingTable(roleDescription: string) {
  return {
    columns: [
      nameColumn,
      column("Role", roleDescription),
      ageColumn,
      column("Users", "Users in the roleBinding", { wide: true }),
      column("Groups", "Groups in the roleBinding", { wide: true }),
      column("ServiceAccounts", "ServiceAccounts in the roleBinding", { wide: true }),
    ],
    cells: (obj: KubeObject, now: number) => [
      obj.metadata?.name ?? "",
      `${obj.roleRef?.kind ?? ""}/${obj.roleRef?.name ?? ""}`,
      age(obj, now),
      ...subjectsStrings(obj.subjects),
    ],
  };
}

const base = { group: RBAC_GROUP, version: "v1" } as const;

/** Roles. */
export const roles: ResourceDef = {
  ...base,
  kind: "Role",
  listKind: "RoleList",
  plural: "roles",
  singular: "role",
  namespaced: true,
  schema: "V1Role",
  validate: (obj) => validateRole(obj),
  table: defaultTable,
};

/** ClusterRoles. */
export const clusterRoles: ResourceDef = {
  ...base,
  kind: "ClusterRole",
  listKind: "ClusterRoleList",
  plural: "clusterroles",
  singular: "clusterrole",
  namespaced: false,
  schema: "V1ClusterRole",
  validate: (obj) => validateClusterRole(obj),
  table: defaultTable,
};

/** RoleBindings. */
export const roleBindings: ResourceDef = {
  ...base,
  kind: "RoleBinding",
  listKind: "RoleBindingList",
  plural: "rolebindings",
  singular: "rolebinding",
  namespaced: true,
  schema: "V1RoleBinding",
  defaults: defaultBinding,
  validate: (obj, old) => validateBinding(obj, old, true),
  table: bindingTable(
    "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.",
  ),
};

/** ClusterRoleBindings. */
export const clusterRoleBindings: ResourceDef = {
  ...base,
  kind: "ClusterRoleBinding",
  listKind: "ClusterRoleBindingList",
  plural: "clusterrolebindings",
  singular: "clusterrolebinding",
  namespaced: false,
  schema: "V1ClusterRoleBinding",
  defaults: defaultBinding,
  validate: (obj, old) => validateBinding(obj, old, false),
  table: bindingTable(
    "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.",
  ),
};

/** The four RBAC kinds. */
export const rbacResources: ResourceDef[] = [clusterRoleBindings, clusterRoles, roleBindings, roles];
