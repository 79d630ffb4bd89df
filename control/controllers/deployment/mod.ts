/**
 * The Deployment controller.
 *
 * @example
 * ```ts
 * import { deploymentController } from "./control/controllers/deployment/mod.ts";
 * const controller = deploymentController(ctx);
 * await ctx.informers.start();
 * await controller.run(signal);
 * ```
 * @module
 */
export { DeploymentController, deploymentController } from "./reconcile.ts";

import type { Controller, ControllerContext } from "../controller.ts";
import { deploymentController } from "./reconcile.ts";

/** The factory the controller manager calls. */
export default function create(ctx: ControllerContext): Controller {
  return deploymentController(ctx);
}
