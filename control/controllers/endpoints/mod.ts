/**
 * The Endpoints controller: one v1 Endpoints per Service with a selector.
 *
 * @example
 * ```ts
 * import create from "./control/controllers/endpoints/mod.ts";
 * const controller = create(ctx);
 * ```
 * @module
 */
export { desiredEndpoints, endpointsController, HEADLESS_LABEL } from "./endpoints_controller.ts";
export { buildSubsets, MAX_ENDPOINTS_CAPACITY } from "./subsets.ts";
export { LAST_CHANGE_TRIGGER_TIME, TriggerTimeTracker } from "./trigger_time.ts";

import type { Controller, ControllerContext } from "../controller.ts";
import { endpointsController } from "./endpoints_controller.ts";

/** The factory the controller manager calls. */
export default function create(ctx: ControllerContext): Controller {
  return endpointsController(ctx);
}
