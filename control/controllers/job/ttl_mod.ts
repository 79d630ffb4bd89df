/**
 * The TTL-after-finished controller's entry for the controller manager (default export:
 * `(ctx) => Controller`), as `ttl-after-finished-controller`.
 * @module
 */
import type { Controller, ControllerContext } from "../controller.ts";
import { ttlAfterFinishedController } from "./ttl.ts";

export { ttlAfterFinishedController };

/** The factory the controller manager calls. */
export default function create(ctx: ControllerContext): Controller {
  return ttlAfterFinishedController(ctx);
}
