/**
 * The namespace controller: empties Terminating namespaces and finalizes them.
 *
 * @example
 * ```ts
 * import create from "./control/controllers/namespace/mod.ts";
 * const controller = create(ctx);
 * ```
 * @module
 */
export {
  FINALIZER_KUBERNETES,
  namespaceController,
  type NamespaceControllerOptions,
} from "./namespace_controller.ts";
export { failureConditions, updateConditions } from "./conditions.ts";

import type { Controller, ControllerContext } from "../controller.ts";
import { namespaceController } from "./namespace_controller.ts";

/** The factory the controller manager calls. */
export default function create(ctx: ControllerContext): Controller {
  return namespaceController(ctx);
}
