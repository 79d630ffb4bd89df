/**
 * The node-side provisioner of the `local-path` driver (as rancher's local-path-provisioner and
 * the CSI external-provisioner in its per-node deployment): the control plane never touches a
 * node's files, so each node agent provisions the claims meant for it.
 *
 * - **Provision.** A claim annotated `volume.kubernetes.io/storage-provisioner:
 *   local-path.skiff.dev` and `volume.kubernetes.io/selected-node: <this node>` (set by the
 *   scheduler for a WaitForFirstConsumer class), still unbound: the driver creates the volume,
 *   then a PV `pvc-<claim uid>` is created, pre-bound to the claim (`claimRef`), pinned to this
 *   node (`nodeAffinity` on `kubernetes.io/hostname`); the binder completes the binding. Events
 *   `Provisioning`, `ProvisioningSucceeded` and, on failure, `ProvisioningFailed` with the
 *   driver's message (retried with back-off).
 * - **Delete.** A Released PV it provisioned on this node with reclaim policy Delete: the
 *   driver deletes the volume, then the PV object is deleted.
 * - **Expand.** A bound claim asking for more than its PV holds, of a class with
 *   `allowVolumeExpansion`: the PV's capacity and the claim's `status.capacity` grow (a
 *   directory has no size of its own to change).
 * @module
 */
import { type Client, R } from "../../control/api/client.ts";
import type { EventRecorder } from "../../control/api/events.ts";
import { Informer } from "../../control/api/informer.ts";
import { isApiError } from "../../control/api/status.ts";
import {
  ANN_PROVISIONED_BY,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  HOSTNAME_LABEL,
  LOCAL_PATH_DRIVER,
  SR,
  storageClassOf,
} from "../../control/api/storage.ts";
import { clone, type KubeObject } from "../../control/api/types.ts";
import { runWorkers, WorkQueue } from "../../control/api/workqueue.ts";
import { quantityValue } from "../env/quantity.ts";
import type { StoragePlugin } from "./local_path.ts";

export interface ProvisionerOptions {
  client: Client;
  nodeName: string;
  driver: StoragePlugin;
  recorder: EventRecorder;
  /** Back-off of failed provisioning (ms; default 1 s doubling to 30 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

const ACCESS: Record<string, string> = {
  ReadWriteOnce: "single-node-writer",
  ReadOnlyMany: "multi-node-reader-only",
  ReadWriteMany: "multi-node-multi-writer",
  ReadWriteOncePod: "single-node-single-writer",
};

/** The PV the provisioner creates for `claim` from the driver's volume. Pure. */
export function provisionedVolume(
  claim: KubeObject,
  sc: KubeObject,
  node: string,
  volume: { volumeId: string; volumeContext: [string, string][] },
): KubeObject {
  const s = sc as Record<string, unknown>;
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: `pvc-${claim.metadata.uid}`, annotations: { [ANN_PROVISIONED_BY]: LOCAL_PATH_DRIVER } },
    spec: {
      capacity: { storage: claim.spec?.resources?.requests?.storage },
      accessModes: claim.spec?.accessModes,
      persistentVolumeReclaimPolicy: (s.reclaimPolicy as string) ?? "Delete",
      storageClassName: sc.metadata.name,
      volumeMode: claim.spec?.volumeMode ?? "Filesystem",
      ...(s.mountOptions ? { mountOptions: s.mountOptions } : {}),
      claimRef: {
        kind: "PersistentVolumeClaim",
        apiVersion: "v1",
        namespace: claim.metadata.namespace,
        name: claim.metadata.name,
        uid: claim.metadata.uid,
        resourceVersion: claim.metadata.resourceVersion,
      },
      csi: {
        driver: LOCAL_PATH_DRIVER,
        volumeHandle: volume.volumeId,
        volumeAttributes: Object.fromEntries(volume.volumeContext),
      },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [{
            matchExpressions: [{ key: HOSTNAME_LABEL, operator: "In", values: [node] }],
          }],
        },
      },
    },
  };
}

/** Whether `pv` is pinned to `node` by the hostname label. Pure. */
export function pinnedTo(pv: KubeObject, node: string): boolean {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
  return terms.some((t: { matchExpressions?: { key: string; values?: string[] }[] }) =>
    (t.matchExpressions ?? []).some((e) => e.key === HOSTNAME_LABEL && (e.values ?? []).includes(node))
  );
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The provisioner of one node. `await using` stops it. */
export class LocalPathProvisioner implements AsyncDisposable {
  readonly claims: Informer;
  readonly volumes: Informer;
  readonly classes: Informer;
  readonly #opts: ProvisionerOptions;
  readonly #queue: WorkQueue<string>;
  #done: Promise<void> | null = null;

  constructor(opts: ProvisionerOptions) {
    this.#opts = opts;
    this.#queue = new WorkQueue({
      baseDelayMs: opts.baseDelayMs ?? 1000,
      maxDelayMs: opts.maxDelayMs ?? 30_000,
    });
    this.claims = new Informer(opts.client, R.persistentvolumeclaims);
    this.volumes = new Informer(opts.client, R.persistentvolumes);
    this.classes = new Informer(opts.client, SR.storageclasses);
    const onClaim = (c: KubeObject) => this.#queue.add(`claim/${c.metadata.namespace}/${c.metadata.name}`);
    const onVolume = (v: KubeObject) => this.#queue.add(`volume/${v.metadata.name}`);
    this.claims.addHandler({ onAdd: onClaim, onUpdate: (_o, c) => onClaim(c) });
    this.volumes.addHandler({ onAdd: onVolume, onUpdate: (_o, v) => onVolume(v) });
  }

  /**
   * Starts the informers and workers. It does not wait for the informers: a node whose
   * credential may not list claims (RBAC without the provisioner's role) still starts; the
   * informers keep retrying and the provisioner acts once they have synced.
   */
  start(): Promise<void> {
    for (const i of [this.claims, this.volumes, this.classes]) i.start();
    this.#done = runWorkers(this.#queue, 2, (key) => this.#reconcile(key), (key, e) => {
      console.error(`local-path provisioner: ${key}: ${message(e)}`);
    });
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.#queue.shutdown();
    await Promise.all([this.claims, this.volumes, this.classes].map((i) => i.stop()));
    await this.#done;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #event(obj: KubeObject, kind: string, type: "Normal" | "Warning", reason: string, msg: string) {
    this.#opts.recorder.event({ ...obj, kind, apiVersion: "v1" }, type, reason, msg);
  }

  async #reconcile(key: string): Promise<{ requeueAfterMs?: number }> {
    const [what, ...rest] = key.split("/");
    try {
      if (what === "claim") await this.#syncClaim(rest[0], rest[1]);
      else await this.#syncVolume(rest[0]);
    } catch (e) {
      // A conflict: the informer is behind; look again shortly (quietly).
      if (isApiError(e, 409)) return { requeueAfterMs: 200 };
      throw e;
    }
    return {};
  }

  async #syncClaim(ns: string, name: string): Promise<void> {
    const claim = this.claims.get(ns, name);
    if (!claim || claim.metadata.deletionTimestamp) return;
    const ann = claim.metadata.annotations ?? {};
    if (ann[ANN_STORAGE_PROVISIONER] !== LOCAL_PATH_DRIVER) return;
    if (claim.spec?.volumeName) return await this.#maybeExpand(claim);
    if (ann[ANN_SELECTED_NODE] !== this.#opts.nodeName) return;
    const pvName = `pvc-${claim.metadata.uid}`;
    if (this.volumes.get(undefined, pvName)) return; // provisioned; the binder binds it
    const clsName = storageClassOf(claim);
    const sc = this.classes.get(undefined, clsName);
    if (!sc) {
      this.#event(
        claim,
        "PersistentVolumeClaim",
        "Warning",
        "ProvisioningFailed",
        `storageclass.storage.k8s.io "${clsName}" not found`,
      );
      throw new Error(`storage class ${clsName} not found`);
    }
    this.#event(
      claim,
      "PersistentVolumeClaim",
      "Normal",
      "Provisioning",
      `External provisioner is provisioning volume for claim "${ns}/${name}"`,
    );
    const bytes = BigInt(Math.ceil(quantityValue(claim.spec?.resources?.requests?.storage) ?? 0));
    const caps = ((claim.spec?.accessModes ?? []) as string[]).map((m) => ({
      accessType: "mount",
      fsType: "",
      mountFlags: [] as string[],
      accessMode: ACCESS[m] ?? "single-node-writer",
    }));
    const params = Object.entries(
      ((sc as Record<string, unknown>).parameters ?? {}) as Record<string, string>,
    );
    let volume;
    try {
      volume = await this.#opts.driver.createVolume(pvName, bytes, caps, params);
    } catch (e) {
      this.#event(
        claim,
        "PersistentVolumeClaim",
        "Warning",
        "ProvisioningFailed",
        `failed to provision volume with StorageClass "${clsName}": ${message(e)}`,
      );
      throw e;
    }
    try {
      await this.#opts.client.create(
        R.persistentvolumes,
        provisionedVolume(claim, sc, this.#opts.nodeName, volume),
      );
    } catch (e) {
      if (!isApiError(e, 409)) throw e;
    }
    this.#event(
      claim,
      "PersistentVolumeClaim",
      "Normal",
      "ProvisioningSucceeded",
      `Successfully provisioned volume ${pvName}`,
    );
  }

  async #maybeExpand(claim: KubeObject): Promise<void> {
    const pv = this.volumes.get(undefined, claim.spec.volumeName);
    if (!pv || pv.spec?.csi?.driver !== LOCAL_PATH_DRIVER || !pinnedTo(pv, this.#opts.nodeName)) return;
    const want = claim.spec?.resources?.requests?.storage;
    const has = pv.spec?.capacity?.storage;
    if ((quantityValue(want) ?? 0) <= (quantityValue(has) ?? 0)) {
      if (
        claim.status?.phase === "Bound" &&
        (quantityValue(claim.status?.capacity?.storage) ?? 0) < (quantityValue(has) ?? 0)
      ) {
        await this.#opts.client.updateStatus(R.persistentvolumeclaims, {
          ...clone(claim),
          status: { ...claim.status, capacity: { ...(claim.status?.capacity ?? {}), storage: has } },
        });
      }
      return;
    }
    const sc = this.classes.get(undefined, storageClassOf(claim)) as Record<string, unknown> | undefined;
    if (sc?.allowVolumeExpansion !== true) return;
    const next = clone(pv);
    next.spec.capacity = { ...next.spec.capacity, storage: want };
    await this.#opts.client.update(R.persistentvolumes, next);
    this.#event(
      claim,
      "PersistentVolumeClaim",
      "Normal",
      "VolumeResizeSuccessful",
      "MountVolume.NodeExpandVolume succeeded for volume " + pv.metadata.name,
    );
  }

  async #syncVolume(name: string): Promise<void> {
    const pv = this.volumes.get(undefined, name);
    if (!pv || pv.metadata.annotations?.[ANN_PROVISIONED_BY] !== LOCAL_PATH_DRIVER) return;
    if (!pinnedTo(pv, this.#opts.nodeName)) return;
    // A grown volume: the claim's status follows.
    if (pv.status?.phase === "Bound" && pv.spec?.claimRef?.name) {
      const ref = pv.spec.claimRef;
      this.#queue.add(`claim/${ref.namespace}/${ref.name}`);
    }
    if (pv.status?.phase !== "Released" || pv.spec?.persistentVolumeReclaimPolicy !== "Delete") return;
    try {
      await this.#opts.driver.deleteVolume(pv.spec.csi.volumeHandle);
    } catch (e) {
      this.#event(pv, "PersistentVolume", "Warning", "VolumeFailedDelete", message(e));
      throw e;
    }
    try {
      await this.#opts.client.delete(R.persistentvolumes, "", name, {
        preconditions: { uid: pv.metadata.uid },
      });
    } catch (e) {
      if (!isApiError(e, 404) && !isApiError(e, 409)) throw e;
    }
  }
}
