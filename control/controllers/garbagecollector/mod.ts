/**
 * The garbage collector: Background, Foreground and Orphan deletion through ownerReferences.
 *
 * @example
 * ```ts
 * import create from "./control/controllers/garbagecollector/mod.ts";
 * const controller = create(ctx);
 * await ctx.informers.start();
 * await controller.run(signal);
 * ```
 * @module
 */
export { garbageCollector, type GarbageCollectorOptions, IGNORED_RESOURCES } from "./garbage_collector.ts";
export { decideDependent, decideOwner, FOREGROUND, ORPHAN, type OwnerState } from "./decide.ts";
export { type ApiResource, discoverResources, ResourceMapper } from "./discovery.ts";

import type { Controller, ControllerContext } from "../controller.ts";
import { garbageCollector } from "./garbage_collector.ts";

/** The factory the controller manager calls. */
export default function create(ctx: ControllerContext): Controller {
  return garbageCollector(ctx);
}
