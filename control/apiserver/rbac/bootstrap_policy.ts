/**
 * The default ClusterRoles and ClusterRoleBindings every cluster has (upstream
 * plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go; the user-facing roles are verbatim):
 * cluster-admin, the aggregated admin / edit / view with their `system:aggregate-to-*` parts,
 * discovery, basic-user and public-info-viewer, and least-privilege roles for Skiff's own
 * components. Each carries the label `kubernetes.io/bootstrapping: rbac-defaults` and the annotation
 * `rbac.authorization.kubernetes.io/autoupdate: "true"`. Pure data.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { NODE_RULES } from "./node_authorizer.ts";
import {
  AUTOUPDATE_ANNOTATION,
  BOOTSTRAP_LABEL,
  type PolicyRule,
  RBAC_GROUP,
  type Subject,
} from "./types.ts";

const READ = ["get", "list", "watch"];
const WRITE = ["create", "delete", "deletecollection", "patch", "update"];
const READ_WRITE = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

const r = (verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): PolicyRule =>
  resourceNames ? { apiGroups, resources, resourceNames, verbs } : { apiGroups, resources, verbs };
const urls = (verbs: string[], nonResourceURLs: string[]): PolicyRule => ({ nonResourceURLs, verbs });

export const AGGREGATE_TO_ADMIN = "rbac.authorization.k8s.io/aggregate-to-admin";
export const AGGREGATE_TO_EDIT = "rbac.authorization.k8s.io/aggregate-to-edit";
export const AGGREGATE_TO_VIEW = "rbac.authorization.k8s.io/aggregate-to-view";

function clusterRole(
  name: string,
  rules: PolicyRule[],
  opts: { labels?: Record<string, string>; aggregateFrom?: string } = {},
): KubeObject {
  const role: KubeObject = {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: "ClusterRole",
    metadata: {
      name,
      labels: { [BOOTSTRAP_LABEL]: "rbac-defaults", ...(opts.labels ?? {}) },
      annotations: { [AUTOUPDATE_ANNOTATION]: "true" },
    },
    rules,
  };
  if (opts.aggregateFrom) {
    role.aggregationRule = { clusterRoleSelectors: [{ matchLabels: { [opts.aggregateFrom]: "true" } }] };
  }
  return role;
}

/** What every aggregated role starts from; the aggregation controller keeps them current. */
const AGGREGATE_TO_ADMIN_RULES: PolicyRule[] = [
  r(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
  r(READ_WRITE, [RBAC_GROUP], ["rolebindings", "roles"]),
];

const AGGREGATE_TO_EDIT_RULES: PolicyRule[] = [
  r(READ, [""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"]),
  r(["impersonate"], [""], ["serviceaccounts"]),
  r(WRITE, [""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]),
  r(["create"], [""], ["pods/eviction"]),
  r(WRITE, [""], [
    "configmaps",
    "events",
    "persistentvolumeclaims",
    "replicationcontrollers",
    "replicationcontrollers/scale",
    "secrets",
    "serviceaccounts",
    "services",
    "services/proxy",
  ]),
  r(["create"], [""], ["serviceaccounts/token"]),
  r(WRITE, ["apps"], [
    "daemonsets",
    "deployments",
    "deployments/rollback",
    "deployments/scale",
    "replicasets",
    "replicasets/scale",
    "statefulsets",
    "statefulsets/scale",
  ]),
  r(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
  r(WRITE, ["batch"], ["cronjobs", "jobs"]),
  r(WRITE, ["extensions"], [
    "daemonsets",
    "deployments",
    "deployments/rollback",
    "deployments/scale",
    "ingresses",
    "networkpolicies",
    "replicasets",
    "replicasets/scale",
    "replicationcontrollers/scale",
  ]),
  r(WRITE, ["policy"], ["poddisruptionbudgets"]),
  r(WRITE, ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
  r(READ_WRITE, ["coordination.k8s.io"], ["leases"]),
];

const AGGREGATE_TO_VIEW_RULES: PolicyRule[] = [
  r(READ, [""], [
    "configmaps",
    "endpoints",
    "persistentvolumeclaims",
    "persistentvolumeclaims/status",
    "pods",
    "replicationcontrollers",
    "replicationcontrollers/scale",
    "serviceaccounts",
    "services",
    "services/status",
  ]),
  r(READ, [""], [
    "bindings",
    "events",
    "limitranges",
    "namespaces/status",
    "pods/log",
    "pods/status",
    "replicationcontrollers/status",
    "resourcequotas",
    "resourcequotas/status",
  ]),
  r(READ, [""], ["namespaces"]),
  r(READ, ["discovery.k8s.io"], ["endpointslices"]),
  r(READ, ["apps"], [
    "controllerrevisions",
    "daemonsets",
    "daemonsets/status",
    "deployments",
    "deployments/scale",
    "deployments/status",
    "replicasets",
    "replicasets/scale",
    "replicasets/status",
    "statefulsets",
    "statefulsets/scale",
    "statefulsets/status",
  ]),
  r(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
  r(READ, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
  r(READ, ["extensions"], [
    "daemonsets",
    "daemonsets/status",
    "deployments",
    "deployments/scale",
    "deployments/status",
    "ingresses",
    "ingresses/status",
    "networkpolicies",
    "replicasets",
    "replicasets/scale",
    "replicasets/status",
    "replicationcontrollers/scale",
  ]),
  r(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
  r(READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
];

const EVENTS: PolicyRule = r(["create", "patch", "update"], ["", "events.k8s.io"], ["events"]);

/** `system:node-proxier` (kube-proxy), upstream's rules verbatim. */
export const NODE_PROXIER_RULES: PolicyRule[] = [
  r(["list", "watch"], [""], ["services", "endpoints"]),
  r(READ, [""], ["nodes"]),
  EVENTS,
  r(["list", "watch"], ["discovery.k8s.io"], ["endpointslices"]),
];

/**
 * `system:kube-scheduler`: upstream's role, restricted to what Skiff's scheduler does
 * (control/scheduler): watch pods, nodes, namespaces, priority and runtime classes; bind, update
 * pod status (nomination), delete preemption victims; its leader Lease; events; and, beyond
 * upstream, read the scheduler Plugins (`plugins.skiff.dev`) its WasmPlugins plugin calls.
 */
const SCHEDULER_RULES: PolicyRule[] = [
  EVENTS,
  r(["create"], ["coordination.k8s.io"], ["leases"]),
  r(["get", "update"], ["coordination.k8s.io"], ["leases"], ["kube-scheduler"]),
  r(READ, [""], ["nodes"]),
  r(["delete", "get", "list", "watch"], [""], ["pods"]),
  r(["create"], [""], ["bindings", "pods/binding"]),
  r(["patch", "update"], [""], ["pods/status"]),
  r(READ, [""], ["namespaces"]),
  r(READ, ["scheduling.k8s.io"], ["priorityclasses"]),
  r(READ, ["node.k8s.io"], ["runtimeclasses"]),
  r(READ, [""], ["persistentvolumeclaims", "persistentvolumes"]),
  // VolumeBinding: the selected-node annotation on WaitForFirstConsumer claims.
  r(["patch", "update"], [""], ["persistentvolumeclaims"]),
  r(READ, ["storage.k8s.io"], ["storageclasses", "csinodes", "csidrivers"]),
  r(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
  r(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
  // Skiff: the WasmPlugins scheduler plugin reads the scheduler Plugins (docs/plugins.md).
  r(READ, ["skiff.dev"], ["plugins"]),
];

/**
 * `system:kube-controller-manager`: every controller of control/controllers runs under this one
 * identity (upstream gives each its own ServiceAccount), so the role lists what they use together:
 *
 * - garbage collector and namespace controller: read, patch and delete objects of every kind
 *   (owner references, cascading and namespace deletion) — upstream grants the same to both;
 * - updates: pod and workload status, ReplicaSets (deployment), ControllerRevisions (daemonset,
 *   statefulset), Endpoints and EndpointSlices, namespace status and finalize, node status, the
 *   `kube-root-ca.crt` ConfigMaps (root CA publisher);
 * - creates: pods, ReplicaSets, ControllerRevisions, Jobs, PVCs (statefulset claims),
 *   ServiceAccounts, ConfigMaps (root CA publisher), Endpoints, EndpointSlices, events, and its
 *   leader Lease;
 * - the clusterrole-aggregation controller: update (and escalate) ClusterRoles;
 * - the disruption controller: update PodDisruptionBudget status.
 */
const CONTROLLER_MANAGER_RULES: PolicyRule[] = [
  EVENTS,
  r(["create"], ["coordination.k8s.io"], ["leases"]),
  r(["get", "update"], ["coordination.k8s.io"], ["leases"], ["kube-controller-manager"]),
  r(["delete", "deletecollection", "get", "list", "patch", "watch"], ["*"], ["*"]),
  r(["update"], [""], [
    "configmaps",
    "namespaces/finalize",
    "namespaces/status",
    "nodes/status",
    "pods",
    "pods/status",
    "endpoints",
  ]),
  r(["update"], ["apps"], [
    "controllerrevisions",
    "daemonsets/status",
    "deployments/status",
    "replicasets",
    "replicasets/status",
    "statefulsets/status",
  ]),
  r(["update"], ["batch"], ["cronjobs/status", "jobs/status"]),
  // The disruption controller.
  r(["update"], ["policy"], ["poddisruptionbudgets/status"]),
  // The PersistentVolume binder and the protection controllers.
  r(["update"], [""], [
    "persistentvolumeclaims",
    "persistentvolumeclaims/status",
    "persistentvolumes",
    "persistentvolumes/status",
  ]),
  r(["update"], ["discovery.k8s.io"], ["endpointslices"]),
  r(["create"], [""], ["configmaps", "endpoints", "persistentvolumeclaims", "pods", "serviceaccounts"]),
  r(["create"], ["apps"], ["controllerrevisions", "replicasets"]),
  r(["create"], ["batch"], ["jobs"]),
  r(["create"], ["discovery.k8s.io"], ["endpointslices"]),
  r(["escalate", "update"], [RBAC_GROUP], ["clusterroles"]),
  r(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
  r(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
];

/** Every default ClusterRole, admin / edit / view with their aggregated rules already filled in. */
export function bootstrapClusterRoles(): KubeObject[] {
  // In the order the aggregation controller produces: the selected roles sorted by name.
  const view = [...AGGREGATE_TO_VIEW_RULES];
  const edit = [...AGGREGATE_TO_EDIT_RULES, ...view];
  const admin = [...edit, ...AGGREGATE_TO_ADMIN_RULES];
  return [
    clusterRole("cluster-admin", [r(["*"], ["*"], ["*"]), urls(["*"], ["*"])]),
    clusterRole("admin", structuredClone(admin), { aggregateFrom: AGGREGATE_TO_ADMIN }),
    clusterRole("edit", structuredClone(edit), {
      aggregateFrom: AGGREGATE_TO_EDIT,
      labels: { [AGGREGATE_TO_ADMIN]: "true" },
    }),
    clusterRole("view", structuredClone(view), {
      aggregateFrom: AGGREGATE_TO_VIEW,
      labels: { [AGGREGATE_TO_EDIT]: "true" },
    }),
    clusterRole("system:aggregate-to-admin", AGGREGATE_TO_ADMIN_RULES, {
      labels: { [AGGREGATE_TO_ADMIN]: "true" },
    }),
    clusterRole("system:aggregate-to-edit", AGGREGATE_TO_EDIT_RULES, {
      labels: { [AGGREGATE_TO_EDIT]: "true" },
    }),
    clusterRole("system:aggregate-to-view", AGGREGATE_TO_VIEW_RULES, {
      labels: { [AGGREGATE_TO_VIEW]: "true" },
    }),
    clusterRole("system:discovery", [
      urls(["get"], [
        "/api",
        "/api/*",
        "/apis",
        "/apis/*",
        "/healthz",
        "/livez",
        "/openapi",
        "/openapi/*",
        "/readyz",
        "/version",
        "/version/",
      ]),
    ]),
    clusterRole("system:basic-user", [
      r(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
      r(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]),
    ]),
    clusterRole("system:public-info-viewer", [
      urls(["get"], ["/healthz", "/livez", "/readyz", "/version", "/version/"]),
    ]),
    clusterRole("system:monitoring", [
      urls(["get"], [
        "/healthz",
        "/healthz/*",
        "/livez",
        "/livez/*",
        "/metrics",
        "/metrics/slis",
        "/readyz",
        "/readyz/*",
      ]),
    ]),
    clusterRole("system:auth-delegator", [
      r(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
      r(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
    ]),
    clusterRole("system:kube-scheduler", SCHEDULER_RULES),
    clusterRole("system:kube-controller-manager", CONTROLLER_MANAGER_RULES),
    clusterRole("system:node", structuredClone(NODE_RULES as PolicyRule[])),
    // kube-proxy's role, upstream's rules verbatim. Skiff's service proxy, cluster DNS and
    // NetworkPolicy run in the node agent under the node's credential: `./skiff up` also binds this
    // role to each node's user (node/proxy/rbac.ts).
    clusterRole("system:node-proxier", NODE_PROXIER_RULES),
    // The node-side `local-path` provisioner (node/volumes/csi_provisioner.ts), as
    // rancher's local-path-provisioner's role: claims to provision, volumes to create and delete.
    clusterRole("system:skiff:local-path-provisioner", [
      EVENTS,
      r(["get", "list", "watch", "patch", "update"], [""], ["persistentvolumeclaims"]),
      r(["patch", "update"], [""], ["persistentvolumeclaims/status"]),
      r(["get", "list", "watch", "create", "delete", "patch", "update"], [""], ["persistentvolumes"]),
      r(READ, ["storage.k8s.io"], ["storageclasses"]),
    ]),
    // Upstream's role lets kubelets create the CertificateSigningRequests that get and renew their
    // client certificates; Skiff's node credentials come from the TokenRequest `nodes/<name>/token`
    // instead (its handler lets a node ask only for its own name).
    clusterRole("system:node-bootstrapper", [r(["create"], [""], ["nodes/token"])]),
  ];
}

const group = (name: string): Subject => ({ apiGroup: RBAC_GROUP, kind: "Group", name });
const user = (name: string): Subject => ({ apiGroup: RBAC_GROUP, kind: "User", name });

function binding(name: string, role: string, subjects: Subject[]): KubeObject {
  const b: KubeObject = {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: "ClusterRoleBinding",
    metadata: {
      name,
      labels: { [BOOTSTRAP_LABEL]: "rbac-defaults" },
      annotations: { [AUTOUPDATE_ANNOTATION]: "true" },
    },
    roleRef: { apiGroup: RBAC_GROUP, kind: "ClusterRole", name: role },
  };
  if (subjects.length) b.subjects = subjects;
  return b;
}

/**
 * Every default ClusterRoleBinding. `system:node` binds no one, as upstream since 1.8: nodes get
 * its rules from the node authorizer, limited to their own objects.
 */
export function bootstrapClusterRoleBindings(): KubeObject[] {
  return [
    binding("cluster-admin", "cluster-admin", [group("system:masters")]),
    binding("system:basic-user", "system:basic-user", [group("system:authenticated")]),
    binding("system:discovery", "system:discovery", [group("system:authenticated")]),
    binding("system:public-info-viewer", "system:public-info-viewer", [
      group("system:authenticated"),
      group("system:unauthenticated"),
    ]),
    binding("system:monitoring", "system:monitoring", [group("system:monitoring")]),
    binding("system:kube-scheduler", "system:kube-scheduler", [user("system:kube-scheduler")]),
    binding("system:kube-controller-manager", "system:kube-controller-manager", [
      user("system:kube-controller-manager"),
    ]),
    binding("system:node", "system:node", []),
    binding("system:node-proxier", "system:node-proxier", [user("system:kube-proxy")]),
    binding("system:skiff:local-path-provisioner", "system:skiff:local-path-provisioner", [group("system:nodes")]),
    // kubeadm's `kubeadm:kubelet-bootstrap` (bootstrap tokens join) and
    // `kubeadm:node-autoapprove-certificate-rotation` (nodes renew their own credential).
    binding("system:node-bootstrapper", "system:node-bootstrapper", [
      group("system:bootstrappers"),
      group("system:nodes"),
    ]),
  ];
}
