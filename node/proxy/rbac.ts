/**
 * The identities of the node's network add-ons, as RBAC objects `./skiff up` creates with the
 * admin credential (an administrator applies the same for a cluster of its own):
 *
 * - **service proxy, cluster DNS, NetworkPolicy** run inside the node agent, with the node's
 *   credential. The node's user is bound to upstream's ClusterRole `system:node-proxier` (one of
 *   the API server's default roles, control/apiserver/rbac/bootstrap_policy.ts, bound by default
 *   to `system:kube-proxy` as upstream) and to `system:skiff-node-network`: read-only access to
 *   what the DNS and NetworkPolicy need beyond it (services, endpointslices, pods, namespaces,
 *   networkpolicies). Nothing there reads Secrets: the node credential stays within the node
 *   authorizer's limits for them.
 * - **the Ingress controller** runs in the node agent's process too, but under its own identity:
 *   the ServiceAccount `skiff-system/ingress-controller`, bound to `skiff:ingress-controller`
 *   (ingresses, ingressclasses, services, endpointslices and secrets get/list/watch;
 *   ingresses/status update/patch; events), and to a Role letting it create tokens of itself
 *   only. `./skiff up` writes a token of that account to `<data-dir>/ingress.kubeconfig` and
 *   passes it to the node agent (`--ingress-kubeconfig`), which renews it at 80 % of its life
 *   with the token itself (cli/ingress_credential.ts).
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
/** The Role (and RoleBinding) in `skiff-system` that lets the account renew its own token. */
export const INGRESS_TOKEN_ROLE = "skiff:ingress-controller:token";
/** The broad role of earlier versions, removed on upgrade. */
const LEGACY_ROLE = "system:skiff-network";

const RBAC_GROUP = "rbac.authorization.k8s.io";
const rbac = (plural: string): ResourceRef => ({ group: RBAC_GROUP, version: "v1", plural, namespaced: false });
const rbacNs = (plural: string): ResourceRef => ({ group: RBAC_GROUP, version: "v1", plural, namespaced: true });
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
 * Every role and binding `./skiff up` creates, in creation order. `system:node-proxier` itself,
 * and its binding to the user `system:kube-proxy`, are the API server's default roles
 * (control/apiserver/rbac/bootstrap_policy.ts), as upstream. Skiff's proxy runs in the node agent,
 * so each node's user gets its own binding of that role (a node joined later has none until an
 * administrator adds it, and meanwhile only the node authorizer's rights). The Ingress controller's
 * account may renew its own token (`ingressTokenRenewal`), and nothing else in `skiff-system`.
 */
export function networkRbacObjects(nodeName: string): { roles: KubeObject[]; bindings: KubeObject[] } {
  const node = [{ apiGroup: RBAC_GROUP, kind: "User", name: `system:node:${nodeName}` }];
  return {
    roles: [nodeNetworkRole(), ingressControllerRole()],
    bindings: [
      clusterRoleBinding(`${NODE_PROXIER_ROLE}:${nodeName}`, NODE_PROXIER_ROLE, node),
      clusterRoleBinding(`${NODE_NETWORK_ROLE}:${nodeName}`, NODE_NETWORK_ROLE, node),
      clusterRoleBinding(INGRESS_ROLE, INGRESS_ROLE, [
        { kind: "ServiceAccount", name: INGRESS_ACCOUNT, namespace: INGRESS_NAMESPACE },
      ]),
    ],
  };
}

/**
 * The Ingress controller's account may renew its own token, and nothing else: a Role in
 * `skiff-system` granting `create` on `serviceaccounts/token` of `ingress-controller` only
 * (resourceNames), bound to that account. So every node agent, `./skiff node` ones included,
 * renews the token it was given before it expires (cli/ingress_credential.ts), and the account
 * can mint tokens for no other ServiceAccount.
 */
export function ingressTokenRenewal(): { role: KubeObject; binding: KubeObject } {
  const metadata = {
    name: INGRESS_TOKEN_ROLE,
    namespace: INGRESS_NAMESPACE,
    labels: { "kubernetes.io/bootstrapping": "rbac-defaults" },
  };
  return {
    role: {
      apiVersion: `${RBAC_GROUP}/v1`,
      kind: "Role",
      metadata,
      rules: [{ apiGroups: [""], resources: ["serviceaccounts/token"], resourceNames: [INGRESS_ACCOUNT], verbs: ["create"] }],
    },
    binding: {
      apiVersion: `${RBAC_GROUP}/v1`,
      kind: "RoleBinding",
      metadata,
      roleRef: { apiGroup: RBAC_GROUP, kind: "Role", name: INGRESS_TOKEN_ROLE },
      subjects: [{ kind: "ServiceAccount", name: INGRESS_ACCOUNT, namespace: INGRESS_NAMESPACE }],
    },
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
 * Creates or updates the roles and bindings, the namespace `skiff-system`, the Ingress
 * controller's ServiceAccount and the Role letting it renew its own token, and removes the broad `system:skiff-network` role (and the node's
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
  const renewal = ingressTokenRenewal();
  await createOrUpdate(client, rbacNs("roles"), renewal.role, INGRESS_NAMESPACE);
  await createOrUpdate(client, rbacNs("rolebindings"), renewal.binding, INGRESS_NAMESPACE);
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
