/**
 * Node lifecycle: the node lifecycle controller (heartbeats, Unknown conditions, taints) and the
 * taint eviction controller (NoExecute evictions), as upstream's two controllers.
 *
 * @example
 * ```ts
 * import create, { taintEviction } from "./control/controllers/nodelifecycle/mod.ts";
 * const controllers = [create(ctx), taintEviction(ctx)];
 * ```
 * @module
 */
export {
  NODE_LEASE_NAMESPACE,
  nodeLifecycleController,
  type NodeLifecycleOptions,
} from "./node_lifecycle.ts";
export { decideEviction, taintEvictionController } from "./taint_eviction.ts";
export * from "./taints.ts";

import type { Controller, ControllerContext } from "../controller.ts";
import { nodeLifecycleController } from "./node_lifecycle.ts";
import { taintEvictionController } from "./taint_eviction.ts";

/** The factory the controller manager calls for the node lifecycle controller. */
export default function create(ctx: ControllerContext): Controller {
  return nodeLifecycleController(ctx);
}

/** The factory the controller manager calls for the taint eviction controller. */
export function taintEviction(ctx: ControllerContext): Controller {
  return taintEvictionController(ctx);
}
