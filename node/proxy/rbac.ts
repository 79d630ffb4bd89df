/**
 * The identities of the node's network add-ons, as RBAC objects `./skiff up` creates with the
 * admin credential (an administrator applies the same for a cluster of its own):
 *
 * - **service proxy, cluster DNS, NetworkPolicy** run inside the node agent, with the node's
 *   credential. The node's user is bound to upstream's ClusterRole `system:node-proxier`
 *   (kube-proxy's rules, verbatim) and to `system:skiff-node-network`: read-only access to what the
 *   DNS and NetworkPolicy need beyond it (services, endpointslices, pods, namespaces,
 *   networkpolicies). Nothing there reads Secrets: the node credential stays within the node
 *   authorizer's limits for them.
 * - **the Ingress controller** runs in the node agent's process too, but under its own identity:
 *   the ServiceAccount `skiff-system/ingress-controller`, bound to `skiff:ingress-controller`
 *   (ingresses, ingressclasses, services, endpointslices and secrets get/list/watch;
 *   ingresses/status update/patch; events). `./skiff up` writes a token of that account to
 *   `<data-dir>/ingress.kubeconfig` (renewed at 80 % of its life) and passes it to the node agent
 *   (`--ingress-kubeconfig`).
 *
 * ```sh
 * # for a node joined later (./skiff node join):
 * kubectl create clusterrolebinding system:node-proxier:<node> --clusterrole=system:node-proxier --user=system:node:<node>
 * kubectl create clusterrolebinding system:skiff-node-network:<node> --clusterrole=system:skiff-node-network --user=system:node:<node>
 * kubectl -n skiff-system create token ingress-controller --duration 24h   # for --ingress-kubeconfig
 * ```
 * @module
 */
import { type Client, R, type ResourceRef } from "../../control/api/client.ts";
import { isApiError } from "../../control/api/status.ts";
import type { KubeObject } from "../../control/api/types.ts";

/** Upstream's kube-proxy role. */
export const NODE_PROXIER_ROLE = "system:node-proxier";
/** What the cluster DNS and NetworkPolicy read beyond `system:node-proxier`. */
export const NODE_NETWORK_ROLE = "system:skiff-node-network";
/** The Ingress controller's role, account and namespace. */
export const INGRESS_ROLE = "skiff:ingress-controller";
export const INGRESS_NAMESPACE = "skiff-system";
export const INGRESS_ACCOUNT = "ingress-controller";
/** The broad role of earlier versions, removed on upgrade. */
const LEGACY_ROLE = "system:skiff-network";

const RBAC_GROUP = "rbac.authorization.k8s.io";
const rbac = (plural: string): ResourceRef => ({ group: RBAC_GROUP, version: "v1", plural, namespaced: false });
const READ = ["get", "list", "watch"];
const EVENTS = [
  { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch", "update"] },
];

function clusterRole(name: string, rules: Record<string, string[]>[]): KubeObject {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: "ClusterRole",
    metadata: { name, labels: { "kubernetes.io/bootstrapping": "rbac-defaults" } },
    rules,
  };
}

function clusterRoleBinding(name: string, role: string, subjects: Record<string, string>[]): KubeObject {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: "ClusterRoleBinding",
    metadata: { name, labels: { "kubernetes.io/bootstrapping": "rbac-defaults" } },
    roleRef: { apiGroup: RBAC_GROUP, kind: "ClusterRole", name: role },
    subjects,
  };
}

/** Upstream's `system:node-proxier` (plugin/pkg/auth/authorizer/rbac/bootstrappolicy). */
export function nodeProxierRole(): KubeObject {
  return clusterRole(NODE_PROXIER_ROLE, [
    { apiGroups: [""], resources: ["services", "endpoints"], verbs: ["list", "watch"] },
    { apiGroups: [""], resources: ["nodes"], verbs: READ },
    ...EVENTS,
    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
  ]);
}

/** The cluster DNS's and NetworkPolicy's reads (CoreDNS's `system:coredns` plus NetworkPolicies). */
export function nodeNetworkRole(): KubeObject {
  return clusterRole(NODE_NETWORK_ROLE, [
    { apiGroups: [""], resources: ["services", "pods", "namespaces"], verbs: READ },
    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: READ },
    { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: READ },
  ]);
}

/** The Ingress controller's role (what ingress-nginx's chart grants, limited to what we use). */
export function ingressControllerRole(): KubeObject {
  return clusterRole(INGRESS_ROLE, [
    { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "ingressclasses"], verbs: READ },
    { apiGroups: ["networking.k8s.io"], resources: ["ingresses/status"], verbs: ["update", "patch"] },
    { apiGroups: [""], resources: ["services", "secrets"], verbs: READ },
    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: READ },
    ...EVENTS,
  ]);
}

/**
 * Every role and binding, in creation order. Upstream binds `system:node-proxier` to the user
 * `system:kube-proxy`; Skiff's proxy runs in the node agent, so each node's user gets its own
 * bindings (a node joined later has none until an administrator adds them, and meanwhile only
 * the node authorizer's rights).
 */
export function networkRbacObjects(nodeName: string): { roles: KubeObject[]; bindings: KubeObject[] } {
  const node = [{ apiGroup: RBAC_GROUP, kind: "User", name: `system:node:${nodeName}` }];
  return {
    roles: [nodeProxierRole(), nodeNetworkRole(), ingressControllerRole()],
    bindings: [
      clusterRoleBinding(NODE_PROXIER_ROLE, NODE_PROXIER_ROLE, [
        { apiGroup: RBAC_GROUP, kind: "User", name: "system:kube-proxy" },
      ]),
      clusterRoleBinding(`${NODE_PROXIER_ROLE}:${nodeName}`, NODE_PROXIER_ROLE, node),
      clusterRoleBinding(`${NODE_NETWORK_ROLE}:${nodeName}`, NODE_NETWORK_ROLE, node),
      clusterRoleBinding(INGRESS_ROLE, INGRESS_ROLE, [
        { kind: "ServiceAccount", name: INGRESS_ACCOUNT, namespace: INGRESS_NAMESPACE },
      ]),
    ],
  };
}

async function createOrUpdate(client: Client, ref: ResourceRef, obj: KubeObject, ns = ""): Promise<void> {
  try {
    await client.create(ref, obj);
  } catch (e) {
    if (!isApiError(e, 409)) throw e;
    const current = await client.get(ref, ns, obj.metadata.name!);
    await client.update(ref, { ...current, ...obj, metadata: { ...current.metadata, ...obj.metadata } });
  }
}

async function deleteIfThere(client: Client, ref: ResourceRef, name: string): Promise<void> {
  try {
    await client.delete(ref, "", name);
  } catch (e) {
    if (!isApiError(e, 404)) throw e;
  }
}

/**
 * Creates or updates the roles and bindings, the namespace `skiff-system` and the Ingress
 * controller's ServiceAccount, and removes the broad `system:skiff-network` role (and the node's
 * binding to it) of earlier versions. Idempotent; needs an admin client.
 */
export async function ensureNetworkRbac(client: Client, nodeName: string): Promise<void> {
  const { roles, bindings } = networkRbacObjects(nodeName);
  for (const r of roles) await createOrUpdate(client, rbac("clusterroles"), r);
  for (const b of bindings) await createOrUpdate(client, rbac("clusterrolebindings"), b);
  await deleteIfThere(client, rbac("clusterrolebindings"), `${LEGACY_ROLE}:${nodeName}`);
  await deleteIfThere(client, rbac("clusterroles"), LEGACY_ROLE);
  try {
    await client.create(R.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: INGRESS_NAMESPACE } });
  } catch (e) {
    if (!isApiError(e, 409)) throw e;
  }
  try {
    await client.create(R.serviceaccounts, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: INGRESS_ACCOUNT, namespace: INGRESS_NAMESPACE },
    });
  } catch (e) {
    if (!isApiError(e, 409)) throw e;
  }
}

/** A token of the Ingress controller's ServiceAccount (TokenRequest), and when it expires. */
export async function ingressControllerToken(
  client: Client,
  expirationSeconds = 24 * 3600,
): Promise<{ token: string; expirationTimestamp: string }> {
  const res = await client.request(
    "POST",
    `/api/v1/namespaces/${INGRESS_NAMESPACE}/serviceaccounts/${INGRESS_ACCOUNT}/token`,
    { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds } },
  );
  const body = await res.json();
  if (!res.ok || !body?.status?.token) {
    throw new Error(`TokenRequest for ${INGRESS_NAMESPACE}/${INGRESS_ACCOUNT} failed: ${res.status} ${body?.message ?? ""}`);
  }
  return body.status;
}
