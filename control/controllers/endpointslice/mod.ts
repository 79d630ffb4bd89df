/**
 * The EndpointSlice controller: the discovery.k8s.io/v1 slices of every Service with a selector.
 *
 * @example
 * ```ts
 * import create from "./control/controllers/endpointslice/mod.ts";
 * const controller = create(ctx);
 * ```
 * @module
 */
export { endpointSliceController, type EndpointSliceOptions } from "./endpointslice_controller.ts";
export {
  CONTROLLER_NAME,
  MANAGED_BY_LABEL,
  MAX_ENDPOINTS_PER_SLICE,
  planSlices,
  SERVICE_NAME_LABEL,
} from "./reconciler.ts";

import type { Controller, ControllerContext } from "../controller.ts";
import { endpointSliceController } from "./endpointslice_controller.ts";

/** The factory the controller manager calls. */
export default function create(ctx: ControllerContext): Controller {
  return endpointSliceController(ctx);
}
