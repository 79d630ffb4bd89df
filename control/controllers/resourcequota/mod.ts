/**
 * Resource quotas: what objects charge (shared with the ResourceQuota admission step), quantity
 * list arithmetic, and the controller that keeps `status.hard` and `status.used` current.
 *
 * @example
 * ```ts
 * import create from "./control/controllers/resourcequota/mod.ts";
 * const controller = create(ctx, { resyncPeriodMs: 60_000 });
 * ```
 * @module
 */
export {
  calculateUsage,
  resourceQuotaController,
  type ResourceQuotaControllerOptions,
} from "./resourcequota_controller.ts";
export * from "./resource_list.ts";
export * from "./usage.ts";

import type { Controller, ControllerContext } from "../controller.ts";
import { resourceQuotaController, type ResourceQuotaControllerOptions } from "./resourcequota_controller.ts";

/** The factory the controller manager calls. */
export default function create(ctx: ControllerContext, opts?: ResourceQuotaControllerOptions): Controller {
  return resourceQuotaController(ctx, opts);
}
