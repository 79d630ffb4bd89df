/**
 * The disruption controller: PodDisruptionBudget status.
 *
 * @example
 * ```ts
 * import create from "./control/controllers/disruption/mod.ts";
 * const controller = create(ctx);
 * ```
 * @module
 */
export { budgetPods, budgetStatus, scaled, selectsPod } from "./budget.ts";
export { disruptionController, PDBS } from "./disruption_controller.ts";

import type { Controller, ControllerContext } from "../controller.ts";
import { disruptionController } from "./disruption_controller.ts";

/** The factory the controller manager calls. */
export default function create(ctx: ControllerContext): Controller {
  return disruptionController(ctx);
}
