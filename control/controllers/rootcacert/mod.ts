/**
 * The root CA certificate publisher: the ConfigMap `kube-root-ca.crt` in every namespace.
 *
 * @example
 * ```ts
 * import create from "./control/controllers/rootcacert/mod.ts";
 * const controller = create(ctx, { rootCAPem: pem });
 * ```
 * @module
 */
export {
  desiredRootCA,
  ROOT_CA_CONFIGMAP,
  type RootCACertOptions,
  rootCACertPublisher,
} from "./publisher.ts";

import type { Controller, ControllerContext } from "../controller.ts";
import { type RootCACertOptions, rootCACertPublisher } from "./publisher.ts";

/** The factory the controller manager calls. */
export default function create(ctx: ControllerContext, opts?: RootCACertOptions): Controller {
  return rootCACertPublisher(ctx, opts);
}
