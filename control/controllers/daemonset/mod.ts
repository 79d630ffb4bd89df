/**
 * The DaemonSet controller.
 *
 * @example
 * ```ts
 * import { daemonSetController } from "./control/controllers/daemonset/mod.ts";
 * const controller = daemonSetController(ctx);
 * await ctx.informers.start();
 * await controller.run(signal);
 * ```
 * @module
 */
export { DaemonSetController, daemonSetController } from "./reconcile.ts";

import type { Controller, ControllerContext } from "../controller.ts";
import { daemonSetController } from "./reconcile.ts";

/** The factory the controller manager calls. */
export default function create(ctx: ControllerContext): Controller {
  return daemonSetController(ctx);
}
