/**
 * Shared storage vocabulary (issue 8, docs/storage.md): the storage.k8s.io resources, the
 * annotations and finalizers the binder, the provisioners, the scheduler and the kubelet agree
 * on (upstream's names), and the built-in `local-path` driver's names. Pure data and helpers.
 * @module
 */
import type { Client, ResourceRef } from "./client.ts";
import { isApiError } from "./status.ts";
import type { KubeObject } from "./types.ts";

/** storage.k8s.io/v1 resources. */
export const SR = {
  storageclasses: { group: "storage.k8s.io", version: "v1", plural: "storageclasses", namespaced: false },
  csidrivers: { group: "storage.k8s.io", version: "v1", plural: "csidrivers", namespaced: false },
  volumeattachments: {
    group: "storage.k8s.io",
    version: "v1",
    plural: "volumeattachments",
    namespaced: false,
  },
} as const satisfies Record<string, ResourceRef>;

/** The StorageClass annotation that makes a class the default (`"true"`). */
export const IS_DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class";
export const BETA_IS_DEFAULT_CLASS = "storageclass.beta.kubernetes.io/is-default-class";
/** Set by the binder on claims whose class is provisioned by `<provisioner>`. */
export const ANN_STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner";
export const ANN_BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner";
/** Set by the scheduler on a WaitForFirstConsumer claim: the node its first pod goes to. */
export const ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node";
/** On a PV: the provisioner that created it (and is to delete it). */
export const ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by";
export const ANN_BIND_COMPLETED = "pv.kubernetes.io/bind-completed";
export const ANN_BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller";
export const PVC_PROTECTION = "kubernetes.io/pvc-protection";
export const PV_PROTECTION = "kubernetes.io/pv-protection";

/** The built-in node-local driver (a CSI driver name, and the provisioner of the `local-path` class). */
export const LOCAL_PATH_DRIVER = "local-path.skiff.dev";
export const LOCAL_PATH_CLASS = "local-path";
/** The node label PVs of node-local volumes are pinned to. */
export const HOSTNAME_LABEL = "kubernetes.io/hostname";

/** Whether a StorageClass is marked default. */
export function isDefaultClass(sc: KubeObject): boolean {
  const a = sc.metadata?.annotations ?? {};
  return a[IS_DEFAULT_CLASS] === "true" || a[BETA_IS_DEFAULT_CLASS] === "true";
}

/** The default StorageClass among `classes`: the newest marked one (upstream `GetDefaultClass`), if any. */
export function defaultClass(classes: readonly KubeObject[]): KubeObject | undefined {
  return classes.filter(isDefaultClass).sort((a, b) =>
    String(b.metadata?.creationTimestamp ?? "").localeCompare(String(a.metadata?.creationTimestamp ?? "")) ||
    String(a.metadata?.name).localeCompare(String(b.metadata?.name))
  )[0];
}

/** The class a claim or volume asks for ("" = none), with the beta annotation first as upstream. */
export function storageClassOf(obj: KubeObject): string {
  return obj.metadata?.annotations?.["volume.beta.kubernetes.io/storage-class"] ??
    obj.spec?.storageClassName ?? "";
}

/** A PV's `spec.claimRef` to a claim (the binder's and a provisioner's, as upstream sets it). */
export function claimReference(claim: KubeObject): Record<string, unknown> {
  return {
    kind: "PersistentVolumeClaim",
    apiVersion: "v1",
    namespace: claim.metadata.namespace,
    name: claim.metadata.name,
    uid: claim.metadata.uid,
    resourceVersion: claim.metadata.resourceVersion,
  };
}

/** The built-in `local-path` StorageClass (default, WaitForFirstConsumer, Delete, expandable). */
export function localPathStorageClass(): KubeObject {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: LOCAL_PATH_CLASS, annotations: { [IS_DEFAULT_CLASS]: "true" } },
    provisioner: LOCAL_PATH_DRIVER,
    reclaimPolicy: "Delete",
    volumeBindingMode: "WaitForFirstConsumer",
    allowVolumeExpansion: true,
  };
}

/** The CSIDriver object registering the built-in driver. */
export function localPathCSIDriver(): KubeObject {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "CSIDriver",
    metadata: { name: LOCAL_PATH_DRIVER },
    spec: { attachRequired: false, podInfoOnMount: false, volumeLifecycleModes: ["Persistent"] },
  };
}

/** Creates the `local-path` StorageClass and its CSIDriver unless they exist (`./skiff up`, tests). */
export async function ensureLocalPathStorage(client: Client): Promise<void> {
  for (
    const [r, obj] of [[SR.csidrivers, localPathCSIDriver()], [
      SR.storageclasses,
      localPathStorageClass(),
    ]] as const
  ) {
    try {
      await client.create(r, obj);
    } catch (e) {
      if (!isApiError(e, 409)) throw e;
    }
  }
}
