/**
 * The ReplicaSet controller.
 *
 * @example
 * ```ts
 * import { replicaSetController } from "./control/controllers/replicaset/mod.ts";
 * const controller = replicaSetController(ctx);
 * await ctx.informers.start();
 * await controller.run(signal);
 * ```
 * @module
 */
export { ReplicaSetController, replicaSetController, type ReplicaSetControllerOptions } from "./reconcile.ts";
export { BURST_REPLICAS, planReplicas, replicaSetStatus } from "./plan.ts";

import type { Controller, ControllerContext } from "../controller.ts";
import { replicaSetController } from "./reconcile.ts";

/** The factory the controller manager calls. */
export default function create(ctx: ControllerContext): Controller {
  return replicaSetController(ctx);
}
