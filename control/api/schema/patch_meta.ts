/**
 * Strategic-merge-patch and list/map-type metadata of the built-in types, keyed `TypeName.field`
 * with the type names of the schema table (`V1PodSpec`, not `PodSpec`).
 *
 * Copied by hand from the Go struct tags (`patchStrategy:"merge" patchMergeKey:"name"`) and the
 * `+listType`/`+listMapKey`/`+mapType`/`+structType` markers of `k8s.io/api` v0.32.0 (the types
 * kubectl 1.32 computes patches from), plus `k8s.io/apimachinery` `meta/v1` (ObjectMeta) and
 * `k8s.io/apiextensions-apiserver` `apiextensions/v1`. Every `patchStrategy` tag of the types this
 * server serves is here; fields not listed have no strategy (maps merge, lists are replaced).
 *
 * Checked and deliberately absent (upstream has no patch strategy, `+listType=atomic`):
 * `Container.resizePolicy`, `Container.args`/`command`/`envFrom`, `PodSpec.readinessGates`,
 * `PodSpec.tolerations`, `ServiceSpec.externalIPs`/`ipFamilies`/`clusterIPs`, `NodeSpec.taints`,
 * `NodeStatus.images`/`volumesAttached`, `PodStatus.containerStatuses`,
 * `LabelSelector.matchExpressions`, `IngressSpec.rules`/`tls`, `NetworkPolicySpec.ingress`/`egress`,
 * `PolicyRule.verbs` (RBAC), `RoleBinding.subjects`, `ClusterRoleBinding.subjects`,
 * `CustomResourceDefinitionSpec.versions`, `PodFailurePolicy.rules`, `EndpointSlice.endpoints`.
 * `CSINodeSpec.drivers` (merge by name) exists upstream but CSINode is not served.
 *
 * @module
 */

/** The metadata of one field, as upstream publishes it in OpenAPI (`x-kubernetes-*`). */
export interface PatchMeta {
  /** `x-kubernetes-patch-strategy`: `merge`, `retainKeys`, `merge,retainKeys` or `replace`. */
  strategy?: "merge" | "retainKeys" | "merge,retainKeys" | "replace";
  /** `x-kubernetes-patch-merge-key`: the key list items are matched by (maps only). */
  mergeKey?: string;
  /** `x-kubernetes-list-type` when not the default `atomic`. */
  listType?: "set" | "map";
  /** `x-kubernetes-list-map-keys` for `listType: map`. */
  listMapKeys?: string[];
  /** `x-kubernetes-map-type` when declared on the field. */
  mapType?: "atomic" | "granular";
  /** `x-kubernetes-map-type` declared on a struct-typed field (`+structType`). */
  structType?: "atomic" | "granular";
}

const mergeBy = (mergeKey: string, ...listMapKeys: string[]): PatchMeta => ({
  strategy: "merge",
  mergeKey,
  listType: "map",
  listMapKeys: listMapKeys.length ? listMapKeys : [mergeKey],
});
const conditions: PatchMeta = mergeBy("type");

/** Field metadata, keyed `TypeName.field`. */
export const PATCH_META: Readonly<Record<string, PatchMeta>> = {
  // meta/v1 ObjectMeta
  "V1ObjectMeta.finalizers": { strategy: "merge", listType: "set" },
  "V1ObjectMeta.ownerReferences": mergeBy("uid"),

  // core/v1 PodSpec
  "V1PodSpec.volumes": { ...mergeBy("name"), strategy: "merge,retainKeys" },
  "V1PodSpec.initContainers": mergeBy("name"),
  "V1PodSpec.containers": mergeBy("name"),
  "V1PodSpec.ephemeralContainers": mergeBy("name"),
  "V1PodSpec.imagePullSecrets": mergeBy("name"),
  "V1PodSpec.hostAliases": mergeBy("ip"),
  "V1PodSpec.topologySpreadConstraints": mergeBy("topologyKey", "topologyKey", "whenUnsatisfiable"),
  "V1PodSpec.schedulingGates": mergeBy("name"),
  "V1PodSpec.resourceClaims": { ...mergeBy("name"), strategy: "merge,retainKeys" },
  "V1PodSpec.nodeSelector": { mapType: "atomic" },

  // core/v1 Container and EphemeralContainer (EphemeralContainerCommon upstream)
  "V1Container.ports": mergeBy("containerPort", "containerPort", "protocol"),
  "V1Container.env": mergeBy("name"),
  "V1Container.volumeMounts": mergeBy("mountPath"),
  "V1Container.volumeDevices": mergeBy("devicePath"),
  "V1EphemeralContainer.ports": mergeBy("containerPort", "containerPort", "protocol"),
  "V1EphemeralContainer.env": mergeBy("name"),
  "V1EphemeralContainer.volumeMounts": mergeBy("mountPath"),
  "V1EphemeralContainer.volumeDevices": mergeBy("devicePath"),
  "V1ResourceRequirements.claims": { listType: "map", listMapKeys: ["name"] },

  // core/v1 PodStatus and ContainerStatus
  "V1PodStatus.conditions": conditions,
  "V1PodStatus.hostIPs": { strategy: "merge", mergeKey: "ip" },
  "V1PodStatus.podIPs": mergeBy("ip"),
  "V1PodStatus.resourceClaimStatuses": { ...mergeBy("name"), strategy: "merge,retainKeys" },
  "V1ContainerStatus.volumeMounts": mergeBy("mountPath"),
  "V1ContainerStatus.allocatedResourcesStatus": mergeBy("name"),
  "V1ResourceStatus.resources": { listType: "map", listMapKeys: ["resourceID"] },

  // core/v1 other kinds
  "V1ServiceSpec.ports": mergeBy("port", "port", "protocol"),
  "V1ServiceSpec.selector": { mapType: "atomic" },
  "V1ServiceStatus.conditions": conditions,
  "V1ServiceAccount.secrets": mergeBy("name"),
  "V1NodeSpec.podCIDRs": { strategy: "merge", listType: "set" },
  "V1NodeStatus.conditions": conditions,
  "V1NodeStatus.addresses": mergeBy("type"),
  "V1NamespaceStatus.conditions": conditions,
  "V1ComponentStatus.conditions": conditions,
  "V1ReplicationControllerSpec.selector": { mapType: "atomic" },
  "V1ReplicationControllerStatus.conditions": conditions,
  "V1PersistentVolumeClaimStatus.conditions": conditions,
  "V1PersistentVolumeClaimStatus.allocatedResourceStatuses": { mapType: "granular" },
  "V1PersistentVolumeSpec.claimRef": { structType: "granular" },

  // apps/v1
  "V1DeploymentSpec.strategy": { strategy: "retainKeys" },
  "V1DeploymentStatus.conditions": conditions,
  "V1ReplicaSetStatus.conditions": conditions,
  "V1DaemonSetStatus.conditions": conditions,
  "V1StatefulSetStatus.conditions": conditions,

  // batch/v1 (JobStatus.conditions is merge by type but `+listType=atomic`)
  "V1JobStatus.conditions": { strategy: "merge", mergeKey: "type" },
  "V1UncountedTerminatedPods.succeeded": { listType: "set" },
  "V1UncountedTerminatedPods.failed": { listType: "set" },
  "V1PodFailurePolicyOnExitCodesRequirement.values": { listType: "set" },

  // policy/v1
  "V1PodDisruptionBudgetSpec.selector": { strategy: "replace" },
  "V1PodDisruptionBudgetStatus.conditions": conditions,

  // discovery/v1, node/v1, storage/v1, apiextensions/v1
  "V1Endpoint.addresses": { listType: "set" },
  "V1Scheduling.nodeSelector": { mapType: "atomic" },
  "V1CSIDriverSpec.volumeLifecycleModes": { listType: "set" },
  "V1CustomResourceDefinitionStatus.conditions": { listType: "map", listMapKeys: ["type"] },
};

/**
 * Types declared `+structType=atomic` upstream (`x-kubernetes-map-type: atomic` in OpenAPI): they
 * are replaced as a whole by server-side apply. Strategic merge patch still merges them.
 */
export const ATOMIC_STRUCTS: ReadonlySet<string> = new Set([
  "V1CrossVersionObjectReference",
  "V1SecretReference",
  "V1ObjectFieldSelector",
  "V1ResourceFieldSelector",
  "V1ConfigMapKeySelector",
  "V1SecretKeySelector",
  "V1NodeSelector",
  "V1NodeSelectorTerm",
  "V1TopologySelectorTerm",
  "V1EndpointAddress",
  "CoreV1EndpointPort",
  "DiscoveryV1EndpointPort",
  "V1ObjectReference",
  "V1LocalObjectReference",
  "V1TypedLocalObjectReference",
  "V1ScopeSelector",
  "V1OwnerReference",
  "V1LabelSelector",
  "V1ServiceBackendPort",
  "RbacV1Subject",
  "V1RoleRef",
]);
