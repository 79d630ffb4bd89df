/**
 * The controllers and the controller manager that runs them.
 *
 * @example
 * ```ts
 * import { startControllerManager } from "./control/controllers/mod.ts";
 * const manager = startControllerManager({ client, signal });
 * ```
 * @module
 */
export {
  type ControllerEntry,
  type ControllerFactory,
  type ControllerManager,
  type ControllerManagerOptions,
  CONTROLLERS,
  enabledControllers,
  startControllerManager,
  type StartControllerManagerOptions,
} from "./manager.ts";
export {
  type Controller,
  type ControllerContext,
  type ControllerOptions,
  queueController,
} from "./controller.ts";
