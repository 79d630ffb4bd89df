/**
 * The pod garbage collector: force-deletes orphaned, unscheduled-terminating and excess terminated pods.
 *
 * @example
 * ```ts
 * import create from "./control/controllers/podgc/mod.ts";
 * const controller = create(ctx);
 * ```
 * @module
 */
export { planPodGC, podGCController, type PodGCOptions } from "./podgc_controller.ts";

import type { Controller, ControllerContext } from "../controller.ts";
import { podGCController } from "./podgc_controller.ts";

/** The factory the controller manager calls. */
export default function create(ctx: ControllerContext): Controller {
  return podGCController(ctx);
}
