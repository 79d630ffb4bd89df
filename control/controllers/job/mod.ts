/**
 * The Job controller, and the TTL-after-finished controller that deletes finished Jobs.
 *
 * @example
 * ```ts
 * import { jobController, ttlAfterFinishedController } from "./control/controllers/job/mod.ts";
 * const controllers = [jobController(ctx), ttlAfterFinishedController(ctx)];
 * await ctx.informers.start();
 * await Promise.all(controllers.map((c) => c.run(signal)));
 * ```
 * @module
 */
export { JobController, jobController, type JobControllerOptions } from "./reconcile.ts";
export { TtlAfterFinishedController, ttlAfterFinishedController, type TtlControllerOptions } from "./ttl.ts";

import type { Controller, ControllerContext } from "../controller.ts";
import { jobController } from "./reconcile.ts";

/** The factory the controller manager calls (the TTL controller is `ttlAfterFinishedController`). */
export default function create(ctx: ControllerContext): Controller {
  return jobController(ctx);
}
