/**
 * What the node IPAM controller does for one Node, pure (upstream's range allocator,
 * `AllocateOrOccupyCIDR`): nothing for a Node that already has pod CIDRs (they count as taken
 * for everyone else, whoever set them), else the lowest free block of the cluster CIDR, avoiding
 * every other Node's pod CIDRs and the blocks already promised to Nodes whose update has not come
 * back through the watch yet.
 *
 * @example
 * ```ts
 * planNode(node, nodes, reserved, { clusterCIDR: "198.18.0.0/16", nodeCIDRMaskSize: 22 });
 * // { action: "assign", cidr: "198.18.4.0/22" }
 * ```
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { nextFreeBlock, overlaps } from "./cidr_set.ts";

/** The pool and block size (`--cluster-cidr`, `--node-cidr-mask-size`). */
export interface IpamPool {
  clusterCIDR: string;
  nodeCIDRMaskSize: number;
  /**
   * Ranges never handed out, as upstream filters the service CIDR out of the pool: e.g. subnets
   * already on the nodes' machine (another cluster's bridge).
   */
  reserved?: readonly string[];
}

/** The decision for one Node. */
export type IpamDecision =
  /** The Node has pod CIDRs, or is gone: nothing to do (and its reservation, if any, is over). */
  | { action: "none" }
  /** Patch `spec.podCIDR`/`podCIDRs` to this block (and hold it reserved until the watch shows it). */
  | { action: "assign"; cidr: string }
  /** Every block is taken: upstream's `CIDRNotAvailable`. */
  | { action: "exhausted" };

/** A Node's pod CIDRs (`spec.podCIDRs`, or the older single `spec.podCIDR`). */
export function podCIDRsOf(node: KubeObject): string[] {
  const list = node.spec?.podCIDRs;
  if (Array.isArray(list) && list.length) return list.filter((c): c is string => typeof c === "string");
  return typeof node.spec?.podCIDR === "string" && node.spec.podCIDR ? [node.spec.podCIDR] : [];
}

/**
 * Decides for `node` (undefined when it is gone) given every Node the informer holds and the
 * blocks reserved by node name.
 */
export function planNode(
  node: KubeObject | undefined,
  nodes: readonly KubeObject[],
  reserved: ReadonlyMap<string, string>,
  pool: IpamPool,
): IpamDecision {
  if (!node || node.metadata.deletionTimestamp || podCIDRsOf(node).length) return { action: "none" };
  const name = node.metadata.name!;
  const others = nodes.filter((n) => n.metadata.name !== name).flatMap(podCIDRsOf);
  const mine = reserved.get(name);
  // A block promised earlier is kept (the patch may have been lost), unless someone took it meanwhile.
  if (mine && !others.some((c) => overlaps(c, mine))) return { action: "assign", cidr: mine };
  const promised = [...reserved].filter(([n]) => n !== name).map(([, c]) => c);
  const cidr = nextFreeBlock(pool.clusterCIDR, pool.nodeCIDRMaskSize, [
    ...others,
    ...promised,
    ...pool.reserved ?? [],
  ]);
  return cidr ? { action: "assign", cidr } : { action: "exhausted" };
}
