/**
 * Registering the node (`kubelet.registerWithAPIServer` and `tryRegisterWithAPIServer`): create
 * the Node, or adopt the existing one of the same name (our labels, a fresh status). The Node is
 * created without a pod CIDR, as the kubelet does: the control plane's node IPAM controller
 * assigns one (see pod_cidr.ts for the wait). Only a pod CIDR the node is configured with
 * (`./skiff node --pod-cidr`, the kubelet's flag) is written by the node itself.
 *
 * Everything here is what the node authorizer lets a node do: create its own Node, get and patch
 * it (spec and status).
 * @module
 */
import { type Client, R } from "../../control/api/client.ts";
import { isApiError } from "../../control/api/status.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { type NodeFacts, nodeLabels, nodeObject, nodeStatus } from "./node_object.ts";

export const NODE_LEASE_NAMESPACE = "kube-node-lease";

export interface RegisterOptions {
  /** A pod CIDR this node is configured with; without it the control plane assigns one. */
  podCIDR?: string;
}

/** Creates or adopts the Node; resolves to it (its `spec.podCIDR` may still be empty). */
export async function registerNode(
  client: Client,
  facts: NodeFacts,
  opts: RegisterOptions = {},
): Promise<KubeObject> {
  const fresh = nodeObject(facts);
  if (opts.podCIDR) fresh.spec = { podCIDR: opts.podCIDR, podCIDRs: [opts.podCIDR] };
  let node: KubeObject;
  try {
    return await client.create(R.nodes, fresh);
  } catch (e) {
    if (!isApiError(e, 409)) throw e;
  }
  node = await client.get(R.nodes, "", facts.name);
  const held: string | undefined = node.spec?.podCIDR;
  if (opts.podCIDR && held && held !== opts.podCIDR) {
    throw new Error(
      `node ${facts.name} already has pod CIDR ${held}; it cannot change to the configured ${opts.podCIDR}`,
    );
  }
  // Adopt: our labels (and the configured pod CIDR), then a fresh status (the old one may say NotReady).
  node = await client.patch(R.nodes, "", facts.name, {
    metadata: { labels: nodeLabels(facts.name, facts.machine.architecture) },
    ...(opts.podCIDR && !held ? { spec: { podCIDR: opts.podCIDR, podCIDRs: [opts.podCIDR] } } : {}),
  });
  return await client.patch(
    R.nodes,
    "",
    facts.name,
    { status: nodeStatus(facts, node.status) },
    "merge",
    "status",
  );
}
