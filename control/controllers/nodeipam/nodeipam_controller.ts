/**
 * The node IPAM controller (upstream `pkg/controller/nodeipam`, kube-controller-manager
 * `--allocate-node-cidrs` with the range allocator): every Node without `spec.podCIDR` gets a free
 * block of the cluster CIDR (`--cluster-cidr`, default 198.18.0.0/16; `--node-cidr-mask-size`,
 * default /22), written as `spec.podCIDR` and `spec.podCIDRs`. Blocks Nodes already hold — set by
 * this controller before a restart, by an admin, or by simulated nodes registering with their own
 * — are never handed out again; a deleted Node's block is free again once it is gone.
 *
 * Level-based: each reconcile reads every Node from the informer. One worker allocates, so two
 * Nodes never get the same block; a block is held reserved from the patch until the watch shows
 * the Node with it. The patch carries the Node's resourceVersion, so a podCIDR set by someone else
 * in the meantime is not overwritten. Events (component `cidrAllocator`, on the Node):
 * `CIDRNotAvailable` when the pool is exhausted, `CIDRAssignmentFailed` when the write fails.
 * @module
 */
import { R } from "../../api/client.ts";
import type { ReconcileResult } from "../../api/workqueue.ts";
import { ApiError, isApiError } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { type Controller, type ControllerContext, queueController, WorkQueue } from "../controller.ts";
import { cidrSetError } from "./cidr_set.ts";
import { type IpamPool, planNode, podCIDRsOf } from "./plan.ts";

/** The pod network every Skiff node's block comes from. */
export const DEFAULT_CLUSTER_CIDR = "198.18.0.0/16";
/** /22: 1,022 pod addresses per node (the 1,000-pod Wasm density target), 64 nodes per /16. */
export const DEFAULT_NODE_CIDR_MASK_SIZE = 22;

/** Options (upstream's kube-controller-manager flags of the same names). */
export interface NodeIpamOptions {
  /** `--allocate-node-cidrs` (default true: Skiff nodes wait for their block). */
  allocateNodeCIDRs?: boolean;
  /** `--cluster-cidr` (default {@linkcode DEFAULT_CLUSTER_CIDR}). */
  clusterCIDR?: string;
  /** `--node-cidr-mask-size` (default {@linkcode DEFAULT_NODE_CIDR_MASK_SIZE}). */
  nodeCIDRMaskSize?: number;
  /**
   * Ranges never handed out (upstream filters the service CIDR out this way): `./skiff up` passes
   * the subnets already on its machine's interfaces, so two clusters on one machine do not clash.
   */
  reservedCIDRs?: string[];
  /** Retry delay while the pool is exhausted, ms (default 30 s). */
  exhaustedRetryMs?: number;
}

/** The pool of the options, checked. Throws for a bad CIDR or mask size. */
export function ipamPool(opts: NodeIpamOptions = {}): IpamPool {
  const pool = {
    clusterCIDR: opts.clusterCIDR ?? DEFAULT_CLUSTER_CIDR,
    nodeCIDRMaskSize: opts.nodeCIDRMaskSize ?? DEFAULT_NODE_CIDR_MASK_SIZE,
    reserved: opts.reservedCIDRs ?? [],
  };
  const err = cidrSetError(pool.clusterCIDR, pool.nodeCIDRMaskSize);
  if (err) throw new Error(`node-ipam-controller: ${err}`);
  return pool;
}

/** The node IPAM controller. */
export function nodeIpamController(ctx: ControllerContext, opts: NodeIpamOptions = {}): Controller {
  const pool = ipamPool(opts);
  const nodes = ctx.informers.get(R.nodes);
  const recorder = ctx.recorder("cidrAllocator");
  const queue = new WorkQueue<string>();
  /** Node name → the block patched onto it, until the watch shows the Node with pod CIDRs. */
  const reserved = new Map<string, string>();
  const enqueue = (n: KubeObject) => queue.add(n.metadata.name!);
  nodes.addHandler({
    onAdd: enqueue,
    // Upstream reacts to updates only while the Node has no pod CIDRs; the reconcile is cheap
    // either way and also ends the reservation once the block shows up.
    onUpdate: (_, n) => enqueue(n),
    onDelete: enqueue,
  });
  const statusChange = (node: KubeObject, status: string) =>
    recorder.event(
      { ...node, apiVersion: "v1", kind: "Node" },
      "Normal",
      status,
      `Node ${node.metadata.name} status is now: ${status}`,
    );

  const reconcile = async (name: string): Promise<ReconcileResult | void> => {
    const node = nodes.get(undefined, name);
    const decision = planNode(node, nodes.list(), reserved, pool);
    if (decision.action === "none") {
      reserved.delete(name);
      return {};
    }
    if (decision.action === "exhausted") {
      statusChange(node!, "CIDRNotAvailable");
      console.error(
        `node-ipam-controller: no free /${pool.nodeCIDRMaskSize} left in ${pool.clusterCIDR} for node ${name}`,
      );
      return { requeueAfterMs: opts.exhaustedRetryMs ?? 30_000 };
    }
    reserved.set(name, decision.cidr);
    try {
      await ctx.client.patch(R.nodes, "", name, {
        metadata: { resourceVersion: node!.metadata.resourceVersion },
        spec: { podCIDR: decision.cidr, podCIDRs: [decision.cidr] },
      });
    } catch (e) {
      if (isApiError(e, 404)) {
        reserved.delete(name);
        return {};
      }
      if (isApiError(e, 409)) {
        // Changed since the informer saw it: done if it has pod CIDRs now, else try again.
        const fresh = await ctx.client.tryGet(R.nodes, "", name);
        if (!fresh || podCIDRsOf(fresh).length) return {}; // the watch ends the reservation
        throw e;
      }
      statusChange(node!, "CIDRAssignmentFailed");
      // Refused for good (not a lost answer): the block may go to someone else.
      if (e instanceof ApiError && e.code !== 504) reserved.delete(name);
      throw e;
    }
    return {};
  };

  return queueController("node-ipam-controller", queue, reconcile, 1);
}
