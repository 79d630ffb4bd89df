/**
 * The StatefulSet controller.
 *
 * @example
 * ```ts
 * import { statefulSetController } from "./control/controllers/statefulset/mod.ts";
 * const controller = statefulSetController(ctx);
 * await ctx.informers.start();
 * await controller.run(signal);
 * ```
 * @module
 */
export { StatefulSetController, statefulSetController } from "./reconcile.ts";

import type { Controller, ControllerContext } from "../controller.ts";
import { statefulSetController } from "./reconcile.ts";

/** The factory the controller manager calls. */
export default function create(ctx: ControllerContext): Controller {
  return statefulSetController(ctx);
}
