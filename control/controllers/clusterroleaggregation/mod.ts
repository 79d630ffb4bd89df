/**
 * The ClusterRole aggregation controller.
 *
 * @example
 * ```ts
 * import create from "./control/controllers/clusterroleaggregation/mod.ts";
 * const controller = create(ctx);
 * ```
 * @module
 */
export { aggregatedRules, rulesEqual } from "./aggregate.ts";
export { CLUSTER_ROLES, clusterRoleAggregationController } from "./clusterrole_aggregation.ts";

import type { Controller, ControllerContext } from "../controller.ts";
import { clusterRoleAggregationController } from "./clusterrole_aggregation.ts";

/** The factory the controller manager calls. */
export default function create(ctx: ControllerContext): Controller {
  return clusterRoleAggregationController(ctx);
}
