/**
 * `persistentVolumeClaim` volumes on the node (the kubelet's CSI volume plugin, reduced): the
 * claim must be Bound; its PersistentVolume is staged and published by its driver (a storage
 * Plugin registered on this node under `spec.csi.driver`) at
 * `<pod dir>/volumes/kubernetes.io~csi/<volume>/mount` before the containers start, and
 * unpublished (then unstaged) when the pod's volumes are torn down ({@linkcode NodePublisher}).
 * The target is a real bind mount (read-only when the claim is mounted `readOnly`); container
 * pods get it bind-mounted by crun, Wasm pods get it preopened.
 *
 * Static `hostPath` and `local` PVs (directories that exist on the node) are published by the
 * built-in `local-path` Plugin the same way (volume context `type: hostPath`).
 * @module
 */
import type { Pod, Volume } from "kubernetes-types/core/v1.d.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { mountCapability } from "../../plugins/storage/binding.ts";
import type { NodePublisher } from "./node_publisher.ts";
import { MountError } from "./projection.ts";
import type { StorageDrivers } from "./storage_drivers.ts";

/** The Plugin that publishes node-local volume kinds (emptyDir, hostPath, static PVs). */
export const BUILTIN_STORAGE_PLUGIN = "local-path";

/** How the kubelet reads claims and volumes (GETs the node authorizer allows). */
export interface ClaimSource {
  claim(namespace: string, name: string): Promise<KubeObject | null>;
  volume(name: string): Promise<KubeObject | null>;
}

/** A claim (or its driver) that is not usable yet: worth a quick retry. */
export class VolumeNotReady extends MountError {
  override name = "VolumeNotReady";
}

const PV_FIELDS = [
  "capacity",
  "accessModes",
  "claimRef",
  "persistentVolumeReclaimPolicy",
  "storageClassName",
  "volumeMode",
  "nodeAffinity",
  "mountOptions",
];

export class PersistentVolumes {
  readonly #drivers: StorageDrivers;
  readonly #publisher: NodePublisher;
  readonly #source: ClaimSource;

  constructor(drivers: StorageDrivers, publisher: NodePublisher, source: ClaimSource) {
    this.#drivers = drivers;
    this.#publisher = publisher;
    this.#source = source;
  }

  /** Publishes the claim's volume at `target`; returns the directory the runtimes use. Throws MountError. */
  async publish(pod: Pod, podDir: string, v: Volume, target: string): Promise<string> {
    // Published already (an earlier sync, or an agent before a restart): a pod's volumes do not
    // change, so the mount stands without asking the API again.
    if (await this.#publisher.published(podDir, "kubernetes.io~csi", v.name)) return target;
    const ns = pod.metadata?.namespace ?? "default";
    const claimName = v.persistentVolumeClaim!.claimName;
    const claim = await this.#source.claim(ns, claimName);
    if (!claim) throw new VolumeNotReady(`persistentvolumeclaim "${claimName}" not found`);
    if (claim.metadata.deletionTimestamp) {
      throw new MountError(`persistentvolumeclaim "${claimName}" is being deleted`);
    }
    const pvName = claim.spec?.volumeName;
    if (!pvName || claim.status?.phase !== "Bound") {
      throw new VolumeNotReady(`error processing PVC ${ns}/${claimName}: PVC is not bound`);
    }
    const pv = await this.#source.volume(pvName);
    if (!pv) throw new VolumeNotReady(`persistentvolume "${pvName}" not found`);
    const readOnly = v.persistentVolumeClaim?.readOnly === true;
    let driverName: string;
    let volumeId: string;
    let ctx: [string, string][];
    if (pv.spec?.csi) {
      driverName = pv.spec.csi.driver;
      volumeId = pv.spec.csi.volumeHandle;
      ctx = Object.entries(pv.spec.csi.volumeAttributes ?? {});
    } else if (pv.spec?.hostPath?.path || pv.spec?.local?.path) {
      driverName = "";
      const path = pv.spec.hostPath?.path ?? pv.spec.local.path;
      volumeId = `hostPath:${path}`;
      ctx = [["type", "hostPath"], ["path", path]];
    } else {
      const kind = Object.keys(pv.spec ?? {}).find((k) => !PV_FIELDS.includes(k));
      throw new MountError(`${kind ?? "unknown"} persistent volumes are not supported by this node`);
    }
    const driver = driverName
      ? await this.#drivers.get(driverName)
      : await this.#drivers.ofPlugin(BUILTIN_STORAGE_PLUGIN);
    if (!driver) {
      throw new VolumeNotReady(
        `driver name ${
          driverName || `of the ${BUILTIN_STORAGE_PLUGIN} Plugin`
        } not found in the list of registered CSI drivers`,
      );
    }
    try {
      await this.#publisher.publish(podDir, driver, {
        pluginDir: "kubernetes.io~csi",
        name: v.name,
        volumeId,
        target,
        capability: mountCapability(claim.spec?.accessModes?.[0]),
        readOnly,
        volumeContext: ctx,
        unstaged: !driverName,
      });
    } catch (e) {
      throw new MountError((e as Error).message);
    }
    return target;
  }
}
