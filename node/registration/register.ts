/**
 * Registering the node (`kubelet.registerWithAPIServer` and `tryRegisterWithAPIServer`): create
 * the Node, or adopt the existing one of the same name, then make sure it holds a pod CIDR claimed
 * uniquely (see pod_cidr.ts for the protocol).
 * @module
 */
import { type Client, R } from "../../control/api/client.ts";
import { isApiError } from "../../control/api/status.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { type NodeFacts, nodeLabels, nodeObject, nodeStatus } from "./node_object.ts";
import { cidrOfClaim, CLAIM_PREFIX, claimName, freeBlocks, POD_CIDR_POOL } from "./pod_cidr.ts";

export const NODE_LEASE_NAMESPACE = "kube-node-lease";

export interface RegisterOptions {
  /** The pool pod CIDRs come from (default 198.18.0.0/16). */
  pool?: string;
  /** Mask of this node's block (default 22). */
  mask?: number;
  /**
   * Blocks not to choose although the cluster does not use them: subnets already on this
   * machine's interfaces (another cluster's bridge), which would clash in its routing table.
   */
  avoid?: string[];
}

/** Creates or adopts the Node; resolves to it, with `spec.podCIDR` set. */
export async function registerNode(
  client: Client,
  facts: NodeFacts,
  opts: RegisterOptions = {},
): Promise<KubeObject> {
  let node: KubeObject;
  try {
    node = await client.create(R.nodes, nodeObject(facts));
  } catch (e) {
    if (!isApiError(e, 409)) throw e;
    node = await client.get(R.nodes, "", facts.name);
    // Adopt: our labels, a fresh status (the old one may say NotReady).
    node = await client.patch(R.nodes, "", facts.name, {
      metadata: { labels: nodeLabels(facts.name, facts.machine.architecture) },
    });
    node = await client.patch(
      R.nodes,
      "",
      facts.name,
      { status: nodeStatus(facts, node.status) },
      "merge",
      "status",
    );
  }
  if (node.spec?.podCIDR) {
    await ensureClaim(client, node, node.spec.podCIDR);
    return node;
  }
  const podCIDR = await claimPodCidr(
    client,
    node,
    opts.pool ?? POD_CIDR_POOL,
    opts.mask ?? 22,
    opts.avoid ?? [],
  );
  return await client.patch(R.nodes, "", facts.name, { spec: { podCIDR, podCIDRs: [podCIDR] } });
}

function claimObject(node: KubeObject, cidr: string): KubeObject {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name: claimName(cidr),
      namespace: NODE_LEASE_NAMESPACE,
      labels: { "skiff.dev/pod-cidr-claim": "true" },
      annotations: { "skiff.dev/pod-cidr": cidr },
      ownerReferences: [{
        apiVersion: "v1",
        kind: "Node",
        name: node.metadata.name!,
        uid: node.metadata.uid!,
      }],
    },
    spec: { holderIdentity: node.metadata.name },
  };
}

/** Makes sure the node's existing podCIDR is claimed by it. */
async function ensureClaim(client: Client, node: KubeObject, cidr: string): Promise<void> {
  try {
    await client.create(R.leases, claimObject(node, cidr));
    return;
  } catch (e) {
    if (!isApiError(e, 409)) throw e;
  }
  const claim = await client.get(R.leases, NODE_LEASE_NAMESPACE, claimName(cidr));
  const holder = claim.spec?.holderIdentity;
  if (holder === node.metadata.name) return;
  if (holder && (await client.tryGet(R.nodes, "", holder))) {
    throw new Error(`pod CIDR ${cidr} of node ${node.metadata.name} is claimed by node ${holder}`);
  }
  await client.delete(R.leases, NODE_LEASE_NAMESPACE, claim.metadata.name!, {
    preconditions: { uid: claim.metadata.uid },
  });
  await client.create(R.leases, claimObject(node, cidr));
}

/** Picks the lowest free block and claims it; retries on lost races. */
async function claimPodCidr(
  client: Client,
  node: KubeObject,
  pool: string,
  mask: number,
  avoid: string[],
): Promise<string> {
  for (let round = 0; round < 5; round++) {
    const nodes = (await client.list(R.nodes)).items;
    const names = new Set(nodes.map((n) => n.metadata.name));
    const taken = [
      ...avoid,
      ...nodes.flatMap((n) => n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : [])),
    ];
    const claims = (await client.list(R.leases, NODE_LEASE_NAMESPACE)).items.filter((l) =>
      l.metadata.name!.startsWith(CLAIM_PREFIX)
    );
    for (const claim of claims) {
      const cidr = cidrOfClaim(claim.metadata.name!);
      if (!cidr) continue;
      const holder = claim.spec?.holderIdentity;
      if (holder === node.metadata.name) return cidr; // claimed by us before a crash
      if (holder && names.has(holder)) taken.push(cidr);
      else {
        // The holder is gone: the claim is stale.
        await client.delete(R.leases, NODE_LEASE_NAMESPACE, claim.metadata.name!, {
          preconditions: { uid: claim.metadata.uid },
        })
          .catch(() => {});
      }
    }
    for (const cidr of freeBlocks(pool, mask, taken)) {
      try {
        await client.create(R.leases, claimObject(node, cidr));
        return cidr;
      } catch (e) {
        if (!isApiError(e, 409)) throw e;
      }
    }
  }
  throw new Error(`no free /${mask} pod CIDR left in ${pool}`);
}
