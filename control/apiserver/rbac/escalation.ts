/**
 * RBAC escalation prevention (upstream pkg/registry/rbac/{role,clusterrole,rolebinding,
 * clusterrolebinding}/policybased and pkg/registry/rbac/escalation_check.go), as an admission step:
 *
 * - creating or updating a Role / ClusterRole needs every permission it grants (in the role's
 *   namespace), or the `escalate` verb on it; an `aggregationRule` needs cluster-admin's powers;
 * - creating or updating a RoleBinding / ClusterRoleBinding needs every permission of the bound
 *   role, or the `bind` verb on it;
 * - members of `system:masters` may do anything; updates touching only owner references and
 *   finalizers (the garbage collector's) pass.
 *
 * Refusals are upstream's: `clusterroles.rbac.authorization.k8s.io "x" is forbidden: user "alice"
 * (groups=["g" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:
 * {APIGroups:[""], Resources:["secrets"], Verbs:["get"]}`.
 * @module
 */
import { ApiError, forbidden, notFound } from "../../api/status.ts";
import { deepEqual, type KubeObject } from "../../api/types.ts";
import type { AdmissionAttributes, AdmissionPlugin, UserInfo } from "../context.ts";
import { covers, escalationMessage, FULL_AUTHORITY } from "./covers.ts";
import { roleRefOf } from "./rules.ts";
import {
  type Attributes,
  attributes,
  type PolicyRule,
  RBAC_GROUP,
  type RoleRef,
  rulesOf,
  type RulesResult,
  SYSTEM_MASTERS,
} from "./types.ts";

/** What the check needs from the authorization layer. */
export interface EscalationDeps {
  /** The full authorizer chain's answer. */
  allowed(a: Attributes): Promise<boolean>;
  /** The RBAC rules `user` holds in `namespace`. */
  rulesFor(user: UserInfo, namespace: string): RulesResult;
  /** The rules a role reference grants, or why it cannot be resolved. */
  roleRefRules(ref: RoleRef, namespace: string): { rules: PolicyRule[]; error?: string };
  /** Waits until the RBAC caches hold every committed write. */
  catchUp(): Promise<void>;
}

/** `IsOnlyMutatingGCFields`: whether only owner references and finalizers changed. Pure. */
export function onlyGCFieldsChanged(obj: KubeObject, old: KubeObject | null): boolean {
  if (!old) return false;
  const strip = (o: KubeObject) => {
    const c = structuredClone(o);
    for (
      const f of [
        "ownerReferences",
        "finalizers",
        "managedFields",
        "resourceVersion",
        "selfLink",
        "generation",
      ]
    ) delete c.metadata[f];
    return c;
  };
  return deepEqual(strip(obj), strip(old));
}

const isPrivileged = (u: UserInfo) => u.groups.includes(SYSTEM_MASTERS);

/** The escalation check as an admission plugin (its `validate` phase, after schema validation). */
export function rbacEscalation(deps: EscalationDeps): AdmissionPlugin {
  /** Throws upstream's Forbidden unless `user` holds `wanted` in `namespace` (after one catch-up). */
  const confirmNoEscalation = async (a: AdmissionAttributes, wanted: PolicyRule[], what = "") => {
    let held = deps.rulesFor(a.user, a.namespace);
    let [ok, missing] = covers(held.rules, wanted);
    if (!ok) {
      await deps.catchUp();
      held = deps.rulesFor(a.user, a.namespace);
      [ok, missing] = covers(held.rules, wanted);
    }
    if (ok) return;
    const gr = { group: RBAC_GROUP, resource: a.def.plural };
    throw forbidden(gr, a.name, what || escalationMessage(a.user, missing, held.errors));
  };

  return {
    name: "RBACEscalation",
    async validate(a) {
      if (a.def.group !== RBAC_GROUP || (a.operation !== "CREATE" && a.operation !== "UPDATE")) return;
      if (!a.object || isPrivileged(a.user)) return;
      if (a.operation === "UPDATE" && onlyGCFieldsChanged(a.object, a.oldObject)) return;
      const plural = a.def.plural;
      if (plural === "roles" || plural === "clusterroles") {
        const escalate = attributes(a.user, {
          verb: "escalate",
          group: RBAC_GROUP,
          resource: plural,
          namespace: a.namespace,
          name: a.name,
        });
        if (await deps.allowed(escalate)) return;
        await confirmNoEscalation(a, rulesOf(a.object));
        const aggregation = a.object.aggregationRule;
        const changed = a.operation === "CREATE" ||
          !deepEqual(aggregation ?? null, a.oldObject?.aggregationRule ?? null);
        if (plural === "clusterroles" && aggregation && changed) {
          const article = a.operation === "CREATE" ? "the" : "an";
          await confirmNoEscalation(
            a,
            [...FULL_AUTHORITY],
            `must have cluster-admin privileges to use ${article} aggregationRule`,
          );
        }
        return;
      }
      if (plural === "rolebindings" || plural === "clusterrolebindings") {
        const ref = roleRefOf(a.object);
        const bind = attributes(a.user, {
          verb: "bind",
          group: ref.apiGroup,
          resource: ref.kind === "Role" ? "roles" : "clusterroles",
          namespace: a.namespace,
          name: ref.name,
        });
        if (await deps.allowed(bind)) return;
        let resolved = deps.roleRefRules(ref, a.namespace);
        if (resolved.error) {
          await deps.catchUp();
          resolved = deps.roleRefRules(ref, a.namespace);
        }
        if (resolved.error) {
          throw ref.kind === "Role"
            ? notFound({ group: RBAC_GROUP, resource: "roles" }, ref.name)
            : ref.kind === "ClusterRole"
            ? notFound({ group: RBAC_GROUP, resource: "clusterroles" }, ref.name)
            : new ApiError({ code: 400, reason: "BadRequest", message: resolved.error });
        }
        await confirmNoEscalation(a, resolved.rules);
      }
    },
  };
}
