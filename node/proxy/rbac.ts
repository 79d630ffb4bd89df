/**
 * What the node's network add-ons may read and write, as a ClusterRole (`system:skiff-network`:
 * upstream's `system:node-proxier` for the proxy, CoreDNS's role for the DNS, an Ingress
 * controller's and a NetworkPolicy agent's), and the binding that grants it to one node's
 * identity. The node authorizer alone does not let a node list Services' endpoints, every pod,
 * NetworkPolicies, Ingresses or TLS Secrets; `./skiff up` binds this role to its node, and an
 * administrator does the same for nodes joined later:
 *
 * ```sh
 * kubectl create clusterrolebinding system:skiff-network:<node> \
 *   --clusterrole=system:skiff-network --user=system:node:<node>
 * ```
 * @module
 */
import { type Client, type ResourceRef } from "../../control/api/client.ts";
import { isApiError } from "../../control/api/status.ts";
import type { KubeObject } from "../../control/api/types.ts";

export const NETWORK_ROLE = "system:skiff-network";

const rbac = (plural: string): ResourceRef => ({
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural,
  namespaced: false,
});
const READ = ["get", "list", "watch"];

/** The ClusterRole. */
export function networkClusterRole(): KubeObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: NETWORK_ROLE, labels: { "kubernetes.io/bootstrapping": "rbac-defaults" } },
    rules: [
      { apiGroups: [""], resources: ["services", "endpoints", "pods", "namespaces", "nodes"], verbs: READ },
      { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: READ },
      { apiGroups: ["node.k8s.io"], resources: ["runtimeclasses"], verbs: READ },
      {
        apiGroups: ["networking.k8s.io"],
        resources: ["networkpolicies", "ingresses", "ingressclasses"],
        verbs: READ,
      },
      { apiGroups: ["networking.k8s.io"], resources: ["ingressclasses"], verbs: ["create"] },
      { apiGroups: ["networking.k8s.io"], resources: ["ingresses/status"], verbs: ["update", "patch"] },
      // TLS certificates of Ingresses (the controller lists kubernetes.io/tls Secrets only).
      { apiGroups: [""], resources: ["secrets"], verbs: READ },
      { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch", "update"] },
    ],
  };
}

/** The binding of the role to `system:node:<nodeName>`. */
export function networkRoleBinding(nodeName: string): KubeObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: `${NETWORK_ROLE}:${nodeName}` },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: NETWORK_ROLE },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: `system:node:${nodeName}` }],
  };
}

/** Creates or updates the role, and creates the node's binding (idempotent; needs an admin client). */
export async function ensureNetworkRbac(client: Client, nodeName: string): Promise<void> {
  const role = networkClusterRole();
  try {
    await client.create(rbac("clusterroles"), role);
  } catch (e) {
    if (!isApiError(e, 409)) throw e;
    const current = await client.get(rbac("clusterroles"), "", NETWORK_ROLE);
    await client.update(rbac("clusterroles"), { ...role, metadata: { ...role.metadata, resourceVersion: current.metadata.resourceVersion } });
  }
  try {
    await client.create(rbac("clusterrolebindings"), networkRoleBinding(nodeName));
  } catch (e) {
    if (!isApiError(e, 409)) throw e;
  }
}
