/**
 * `persistentVolumeClaim` volumes on the node (the kubelet's CSI volume plugin, reduced): the
 * claim must be Bound; its PersistentVolume is published by its driver at
 * `<pod dir>/volumes/kubernetes.io~csi/<volume>/mount` before the containers start, and
 * unpublished when the pod's volumes are torn down. Publishing is idempotent (every sync calls
 * it; once published, a sync reuses the link without API reads) and keeps no state in memory, so
 * an agent restarted half-way finds where it was.
 *
 * Sources: `csi` of the built-in `local-path.skiff.dev` driver, and the static `hostPath` and
 * `local` sources (directories that exist on the node). The runtimes get the directory the
 * target resolves to: crun bind-mounts it (read-only when asked), the Wasm host preopens it.
 * @module
 */
import type { Pod, Volume } from "kubernetes-types/core/v1.d.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { LOCAL_PATH_DRIVER } from "../../control/api/storage.ts";
import { HostDirectoryPublisher, type StoragePlugin } from "./local_path.ts";
import { MountError } from "./projection.ts";

/** How the kubelet reads claims and volumes (GETs the node authorizer allows). */
export interface ClaimSource {
  claim(namespace: string, name: string): Promise<KubeObject | null>;
  volume(name: string): Promise<KubeObject | null>;
}

/** A claim that is not usable yet (unbound): worth a quick retry. */
export class VolumeNotReady extends MountError {
  override name = "VolumeNotReady";
}

const MOUNT_CAPABILITY = {
  accessType: "mount",
  fsType: "",
  mountFlags: [] as string[],
  accessMode: "single-node-writer",
};

export class PersistentVolumes {
  readonly #driver: StoragePlugin;
  readonly #source: ClaimSource;
  readonly #host = new HostDirectoryPublisher();

  constructor(driver: StoragePlugin, source: ClaimSource) {
    this.#driver = driver;
    this.#source = source;
  }

  /** Publishes the claim's volume at `target`; returns the directory the runtimes use. Throws MountError. */
  async publish(pod: Pod, v: Volume, target: string): Promise<string> {
    // Published already (an earlier sync, or an agent before a restart): a pod's volumes do not
    // change, so the link stands without asking the API again.
    const existing = await Deno.realPath(target).catch(() => null);
    if (existing && (await Deno.stat(existing).catch(() => null))?.isDirectory) return existing;
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
    try {
      if (pv.spec?.csi) {
        const csi = pv.spec.csi;
        if (csi.driver !== LOCAL_PATH_DRIVER) {
          throw new MountError(`driver name ${csi.driver} not found in the list of registered CSI drivers`);
        }
        await this.#driver.nodePublishVolume(
          csi.volumeHandle,
          undefined,
          target,
          MOUNT_CAPABILITY,
          readOnly,
          Object.entries(csi.volumeAttributes ?? {}),
        );
      } else if (pv.spec?.hostPath?.path || pv.spec?.local?.path) {
        await this.#host.publish(pv.spec.hostPath?.path ?? pv.spec.local.path, target);
      } else {
        const kind = Object.keys(pv.spec ?? {}).find((k) =>
          ![
            "capacity",
            "accessModes",
            "claimRef",
            "persistentVolumeReclaimPolicy",
            "storageClassName",
            "volumeMode",
            "nodeAffinity",
            "mountOptions",
          ].includes(k)
        );
        throw new MountError(`${kind ?? "unknown"} persistent volumes are not supported by this node`);
      }
    } catch (e) {
      if (e instanceof MountError) throw e;
      throw new MountError(`MountVolume.SetUp failed: ${(e as Error).message}`);
    }
    return await Deno.realPath(target);
  }

  /** Unpublishes every claim volume published under `podDir` (idempotent). */
  async unpublishAll(podDir: string): Promise<void> {
    const dir = `${podDir}/volumes/kubernetes.io~csi`;
    let names: string[] = [];
    try {
      for await (const e of Deno.readDir(dir)) names.push(e.name);
    } catch {
      names = [];
    }
    for (const n of names) await this.#driver.nodeUnpublishVolume("", `${dir}/${n}/mount`);
  }
}
