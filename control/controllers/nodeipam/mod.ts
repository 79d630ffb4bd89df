/**
 * The node IPAM controller: a pod CIDR for every Node, from the cluster CIDR. The controller
 * manager's option `nodeIpam` ({@linkcode NodeIpamOptions}) tunes it; `allocateNodeCIDRs: false`
 * turns it off.
 *
 * @example
 * ```ts
 * startControllerManager({ client, signal, options: { nodeIpam: { nodeCIDRMaskSize: 24 } } as ControllerManagerOptions });
 * ```
 * @module
 */
export { cidrSetError, nextFreeBlock, overlaps } from "./cidr_set.ts";
export { type IpamDecision, type IpamPool, planNode, podCIDRsOf } from "./plan.ts";
export {
  DEFAULT_CLUSTER_CIDR,
  DEFAULT_NODE_CIDR_MASK_SIZE,
  ipamPool,
  nodeIpamController,
  type NodeIpamOptions,
} from "./nodeipam_controller.ts";

import type { Controller, ControllerContext } from "../controller.ts";
import { nodeIpamController, type NodeIpamOptions } from "./nodeipam_controller.ts";

/** The factory the controller manager calls; reads `options.nodeIpam`. */
export default function create(ctx: ControllerContext): Controller {
  const opts = (ctx.options as { nodeIpam?: NodeIpamOptions }).nodeIpam ?? {};
  if (opts.allocateNodeCIDRs === false) return { name: "node-ipam-controller", run: () => Promise.resolve() };
  return nodeIpamController(ctx, opts);
}
