/**
 * The CronJob controller and its cron parser.
 *
 * @example
 * ```ts
 * import { cronJobController } from "./control/controllers/cronjob/mod.ts";
 * const controller = cronJobController(ctx);
 * await ctx.informers.start();
 * await controller.run(signal);
 * ```
 * @module
 */
export { CronJobController, cronJobController, type CronJobControllerOptions } from "./reconcile.ts";
export { parseSchedule, type Schedule } from "../../api/cron/cron.ts";

import type { Controller, ControllerContext } from "../controller.ts";
import { cronJobController } from "./reconcile.ts";

/** The factory the controller manager calls. */
export default function create(ctx: ControllerContext): Controller {
  return cronJobController(ctx);
}
