/**
 * The identities of the node's network add-ons, as RBAC objects `./skiff up` creates with the
 * admin credential (an administrator applies the same for a cluster of its own):
 *
 * - **service proxy, cluster DNS, NetworkPolicy** run inside every node agent, with the node's
 *   credential. The group of node credentials, `system:nodes`, is bound by `skiff:node-network`
 *   to `system:skiff-node-network`: read-only access to what the three read (services,
 *   endpointslices, pods, namespaces, networkpolicies). Every node runs these add-ons, so every
 *   node needs exactly these reads — upstream's kube-proxy DaemonSet shares one ServiceAccount the
 *   same way, and kubeadm binds node-wide rights to `system:nodes` (`kubeadm:get-nodes`) — and a
 *   node joined with `./skiff node join` has them from its first request. Upstream's kube-proxy
 *   role `system:node-proxier` (one of the API server's default roles,
 *   control/apiserver/rbac/bootstrap_policy.ts, bound to `system:kube-proxy` as upstream) is not
 *   bound to the nodes: it also lists and watches every Node, which no add-on here reads (a node
 *   reads its own Node through the node authorizer). Nothing there reads Secrets or Nodes: the
 *   node credential stays within the node authorizer's limits for them.
 * - **the Ingress controller** runs in the node agent's process too, but under its own identity:
 *   the ServiceAccount `skiff-system/ingress-controller`, bound to `skiff:ingress-controller`
 *   (ingresses, ingressclasses, services, endpointslices and secrets get/list/watch;
 *   ingresses/status update/patch; events), and to a Role letting the account and the nodes
 *   create tokens of that account only (`ingressTokenRenewal`). `./skiff up` writes a token of
 *   it to `<data-dir>/ingress.kubeconfig` for its own node; `./skiff node join` has the joining
 *   node request one with its fresh node credential; either is passed to the node agent
 *   (`--ingress-kubeconfig`), which renews it at 80 % of its life (cli/ingress_credential.ts).
 *
 * Upstream's Ingress controller pods get their token from their node's kubelet, which the node
 * authorizer lets mint tokens of the ServiceAccounts its pods use; here the controller runs in the
 * node agent itself, so the nodes may mint tokens of its one account, and of no other.
 * @module
 */
import { type Client, R, type ResourceRef } from "../../control/api/client.ts";
import { isApiError } from "../../control/api/status.ts";
import type { KubeObject } from "../../control/api/types.ts";

/** Upstream's kube-proxy role. */
export const NODE_PROXIER_ROLE = "system:node-proxier";
/** What the service proxy, the cluster DNS and NetworkPolicy read (bound to every node). */
export const NODE_NETWORK_ROLE = "system:skiff-node-network";
/** The Ingress controller's role, account and namespace. */
export const INGRESS_ROLE = "skiff:ingress-controller";
export const INGRESS_NAMESPACE = "skiff-system";
export const INGRESS_ACCOUNT = "ingress-controller";
/** The Role (and RoleBinding) in `skiff-system` that lets the account renew its own token. */
export const INGRESS_TOKEN_ROLE = "skiff:ingress-controller:token";
/** The group of every node credential (`system:node:<name>`). */
export const NODES_GROUP = "system:nodes";
/** The binding of the node role to {@link NODES_GROUP} (named as kubeadm's `kubeadm:node-proxier`). */
export const NODE_NETWORK_BINDING = "skiff:node-network";
/** The broad role of earlier versions, removed on upgrade. */
const LEGACY_ROLE = "system:skiff-network";
/** The per-node bindings of earlier versions (`<role>:<node>`), replaced by the group's. */
const PER_NODE_ROLES = [LEGACY_ROLE, NODE_PROXIER_ROLE, NODE_NETWORK_ROLE];

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
 * Every role and binding `./skiff up` creates, in creation order. `system:node-proxier`, and its
 * binding to the user `system:kube-proxy`, are the API server's default roles
 * (control/apiserver/rbac/bootstrap_policy.ts), as upstream. Skiff's proxy, DNS and NetworkPolicy
 * run in every node agent, so the group `system:nodes` gets a binding of what they read: a node
 * joined later serves Services, DNS and NetworkPolicy with no binding of its own.
 * The Ingress controller's account gets its role; tokens of it are minted as
 * `ingressTokenRenewal` says, and the account may do nothing else in `skiff-system`.
 */
export function networkRbacObjects(): { roles: KubeObject[]; bindings: KubeObject[] } {
  const nodes = [{ apiGroup: RBAC_GROUP, kind: "Group", name: NODES_GROUP }];
  return {
    roles: [nodeNetworkRole(), ingressControllerRole()],
    bindings: [
      clusterRoleBinding(NODE_NETWORK_BINDING, NODE_NETWORK_ROLE, nodes),
      clusterRoleBinding(INGRESS_ROLE, INGRESS_ROLE, [
        { kind: "ServiceAccount", name: INGRESS_ACCOUNT, namespace: INGRESS_NAMESPACE },
      ]),
    ],
  };
}

/**
 * Who may mint tokens of the Ingress controller's account, and nothing else: a Role in
 * `skiff-system` granting `create` on `serviceaccounts/token` of `ingress-controller` only
 * (resourceNames), bound to that account (so a node agent renews the token it was given before it
 * expires, cli/ingress_credential.ts) and to `system:nodes` (so `./skiff node join` gets a joining
 * node its first token, and a node whose token lapsed while it was down gets a new one). Neither
 * can mint tokens of any other ServiceAccount.
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
      subjects: [
        { kind: "ServiceAccount", name: INGRESS_ACCOUNT, namespace: INGRESS_NAMESPACE },
        { apiGroup: RBAC_GROUP, kind: "Group", name: NODES_GROUP },
      ],
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
 * controller's ServiceAccount and the Role letting it and the nodes mint its tokens; removes what
 * earlier versions made instead: the broad `system:skiff-network` role, and the per-node bindings
 * (`<role>:<node>`) of the nodes named in `earlierNodes` (the group's bindings replace them).
 * Idempotent; needs an admin client.
 */
export async function ensureNetworkRbac(client: Client, earlierNodes: string[] = []): Promise<void> {
  const { roles, bindings } = networkRbacObjects();
  for (const r of roles) await createOrUpdate(client, rbac("clusterroles"), r);
  for (const b of bindings) await createOrUpdate(client, rbac("clusterrolebindings"), b);
  for (const node of earlierNodes) {
    for (const role of PER_NODE_ROLES) await deleteIfThere(client, rbac("clusterrolebindings"), `${role}:${node}`);
  }
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
