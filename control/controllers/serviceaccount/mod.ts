/**
 * The service account controller: a `default` ServiceAccount in every namespace.
 *
 * @example
 * ```ts
 * import create from "./control/controllers/serviceaccount/mod.ts";
 * const controller = create(ctx);
 * ```
 * @module
 */
export {
  DEFAULT_SERVICE_ACCOUNTS,
  missingServiceAccounts,
  serviceAccountController,
} from "./serviceaccount_controller.ts";

import type { Controller, ControllerContext } from "../controller.ts";
import { serviceAccountController } from "./serviceaccount_controller.ts";

/** The factory the controller manager calls. */
export default function create(ctx: ControllerContext): Controller {
  return serviceAccountController(ctx);
}
