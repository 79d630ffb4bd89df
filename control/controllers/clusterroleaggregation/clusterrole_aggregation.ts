/**
 * The ClusterRole aggregation controller (upstream pkg/controller/clusterroleaggregation): keeps the
 * rules of every ClusterRole with an `aggregationRule` equal to the union of the rules of the
 * ClusterRoles its selectors match. Any ClusterRole change requeues every aggregated role (a new
 * role labelled `rbac.authorization.k8s.io/aggregate-to-edit: "true"` reaches edit, then admin).
 * @module
 */
import type { ResourceRef } from "../../api/client.ts";
import { isApiError } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { type Controller, type ControllerContext, queueController, WorkQueue } from "../controller.ts";
import { aggregatedRules, rulesEqual } from "./aggregate.ts";

/** rbac.authorization.k8s.io/v1 clusterroles. */
export const CLUSTER_ROLES: ResourceRef = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural: "clusterroles",
  namespaced: false,
};

/** The clusterrole-aggregation controller. */
export function clusterRoleAggregationController(ctx: ControllerContext): Controller {
  const roles = ctx.informers.get(CLUSTER_ROLES);
  const queue = new WorkQueue<string>();
  const enqueueAggregated = () => {
    for (const r of roles.list()) if (r.aggregationRule) queue.add(r.metadata.name!);
  };
  roles.addHandler({ onAdd: enqueueAggregated, onUpdate: enqueueAggregated, onDelete: enqueueAggregated });

  const reconcile = async (name: string) => {
    const role = roles.get(undefined, name);
    if (!role) return;
    const rules = aggregatedRules(role, roles.list());
    if (rules === null || rulesEqual(role, rules)) return;
    try {
      await ctx.client.update<KubeObject>(CLUSTER_ROLES, { ...role, rules });
    } catch (e) {
      // Changed meanwhile: the informer brings the new version, which requeues this role.
      if (isApiError(e, 409) || isApiError(e, 404)) return;
      throw e;
    }
  };

  return queueController("clusterrole-aggregation-controller", queue, reconcile, ctx.options.workers ?? 1);
}
