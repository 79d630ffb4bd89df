/**
 * Creates the default roles and bindings at start, and reconciles existing ones as upstream's
 * `rbac/bootstrap-roles` post-start hook does: a default object whose
 * `rbac.authorization.kubernetes.io/autoupdate` annotation is not `"false"` gets back the rules,
 * subjects, labels, annotations and aggregation selectors it is missing (extra permissions an admin
 * added are kept). Runs through the API as a privileged client, so defaults, validation and the
 * watch-fed caches apply as for any write.
 * @module
 */
import { type Client, type ResourceRef } from "../../api/client.ts";
import { isApiError } from "../../api/status.ts";
import { deepEqual, type KubeObject } from "../../api/types.ts";
import { bootstrapClusterRoleBindings, bootstrapClusterRoles } from "./bootstrap_policy.ts";
import { covers } from "./covers.ts";
import { subjectsOf } from "./rules.ts";
import { AUTOUPDATE_ANNOTATION, RBAC_GROUP, rulesOf } from "./types.ts";

/** Where the RBAC kinds live in the API. */
export const RBAC_REFS = {
  roles: { group: RBAC_GROUP, version: "v1", plural: "roles", namespaced: true },
  rolebindings: { group: RBAC_GROUP, version: "v1", plural: "rolebindings", namespaced: true },
  clusterroles: { group: RBAC_GROUP, version: "v1", plural: "clusterroles", namespaced: false },
  clusterrolebindings: { group: RBAC_GROUP, version: "v1", plural: "clusterrolebindings", namespaced: false },
} as const satisfies Record<string, ResourceRef>;

function mergeMeta(existing: KubeObject, desired: KubeObject): KubeObject {
  const out = structuredClone(existing);
  out.metadata.labels = { ...(desired.metadata.labels ?? {}), ...(existing.metadata.labels ?? {}) };
  out.metadata.annotations = {
    ...(desired.metadata.annotations ?? {}),
    ...(existing.metadata.annotations ?? {}),
  };
  return out;
}

/** The updated default role, or null when `existing` needs nothing (or must not be touched). Pure. */
export function reconcileClusterRole(existing: KubeObject, desired: KubeObject): KubeObject | null {
  if (existing.metadata.annotations?.[AUTOUPDATE_ANNOTATION] === "false") return null;
  const out = mergeMeta(existing, desired);
  const aggregated = !!desired.aggregationRule;
  if (aggregated) {
    // The aggregation controller owns the rules; make sure the selectors are there.
    const have = out.aggregationRule?.clusterRoleSelectors ?? [];
    const want = desired.aggregationRule.clusterRoleSelectors as unknown[];
    const missing = want.filter((w) => !have.some((h: unknown) => deepEqual(h, w)));
    if (missing.length || !out.aggregationRule) {
      out.aggregationRule = { clusterRoleSelectors: [...have, ...missing] };
    }
  } else {
    const [, missing] = covers(rulesOf(existing), rulesOf(desired));
    if (missing.length) out.rules = [...(existing.rules ?? []), ...missing];
  }
  return deepEqual(out, existing) ? null : out;
}

/** The updated default binding (missing subjects added), or null. Pure. */
export function reconcileBinding(existing: KubeObject, desired: KubeObject): KubeObject | null {
  if (existing.metadata.annotations?.[AUTOUPDATE_ANNOTATION] === "false") return null;
  const out = mergeMeta(existing, desired);
  const have = subjectsOf(existing);
  const missing = subjectsOf(desired).filter((d) =>
    !have.some((h) => h.kind === d.kind && h.name === d.name && (h.namespace ?? "") === (d.namespace ?? ""))
  );
  if (missing.length) out.subjects = [...(existing.subjects ?? []), ...missing];
  return deepEqual(out, existing) ? null : out;
}

async function ensure(
  client: Client,
  ref: ResourceRef,
  desired: KubeObject,
  reconcile: (existing: KubeObject, desired: KubeObject) => KubeObject | null,
): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const existing = await client.tryGet(ref, "", desired.metadata.name!);
    try {
      if (!existing) {
        await client.create(ref, structuredClone(desired));
        return;
      }
      const next = reconcile(existing, desired);
      if (next) await client.update(ref, next);
      return;
    } catch (e) {
      if (isApiError(e, 409)) continue; // created or changed meanwhile: look again
      throw e;
    }
  }
}

/** Creates or reconciles every default ClusterRole and ClusterRoleBinding. Idempotent. */
export async function bootstrapPolicy(client: Client): Promise<void> {
  for (const role of bootstrapClusterRoles()) {
    await ensure(client, RBAC_REFS.clusterroles, role, reconcileClusterRole);
  }
  for (const b of bootstrapClusterRoleBindings()) {
    await ensure(client, RBAC_REFS.clusterrolebindings, b, reconcileBinding);
  }
}
