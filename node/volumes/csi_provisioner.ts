/**
 * The node-side CSI provisioner (the CSI external-provisioner and external-resizer in their
 * per-node deployment, as rancher's local-path-provisioner runs): the control plane never
 * touches a node's files, so each node agent provisions the claims meant for it, through the
 * storage Plugins loaded on it ({@linkcode StorageDrivers}: the built-in `local-path`, or a
 * user's Plugin registering any driver name).
 *
 * - **Provision.** A claim annotated `volume.kubernetes.io/storage-provisioner: <driver>` (a
 *   driver registered on this node) and `volume.kubernetes.io/selected-node: <this node>` (set by
 *   the scheduler for a WaitForFirstConsumer class), still unbound: the driver's `create-volume`
 *   makes the volume, then a PV `pvc-<claim uid>` is created, pre-bound to the claim
 *   (`claimRef`), with `spec.csi` naming the driver and the volume, and `nodeAffinity` from the
 *   volume's accessible topology (this node's hostname when it reports none); the binder
 *   completes the binding. Events `Provisioning`, `ProvisioningSucceeded` and, on failure,
 *   `ProvisioningFailed` with the driver's message (retried with back-off).
 * - **Delete.** A Released PV it provisioned on this node with reclaim policy Delete: the
 *   driver's `delete-volume`, then the PV object is deleted.
 * - **Expand.** A bound claim asking for more than its PV holds, of a class with
 *   `allowVolumeExpansion`: the driver's `controller-expand-volume` (when it has the
 *   `expand-volume` capability), then the PV's capacity and the claim's `status.capacity` grow.
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
  claimReference,
  HOSTNAME_LABEL,
  SR,
  storageClassOf,
} from "../../control/api/storage.ts";
import { clone, type KubeObject } from "../../control/api/types.ts";
import { runWorkers, WorkQueue } from "../../control/api/workqueue.ts";
import { quantityValue } from "../env/quantity.ts";
import { mountCapability } from "../../plugins/storage/binding.ts";
import type { StorageDrivers } from "./storage_drivers.ts";

export interface ProvisionerOptions {
  client: Client;
  nodeName: string;
  drivers: StorageDrivers;
  recorder: EventRecorder;
  /** Back-off of failed provisioning (ms; default 1 s doubling to 30 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** The PV's node affinity: the volume's accessible topology, or this node's hostname. Pure. */
export function topologyAffinity(
  topology: [string, string][][] | undefined,
  node: string,
): KubeObject["spec"] {
  const terms = (topology ?? []).filter((seg) => seg.length).map((seg) => ({
    matchExpressions: seg.map(([key, value]) => ({ key, operator: "In", values: [value] })),
  }));
  return {
    required: {
      nodeSelectorTerms: terms.length
        ? terms
        : [{ matchExpressions: [{ key: HOSTNAME_LABEL, operator: "In", values: [node] }] }],
    },
  };
}

/** The PV the provisioner creates for `claim` from the driver's volume. Pure. */
export function provisionedVolume(
  claim: KubeObject,
  sc: KubeObject,
  node: string,
  driver: string,
  volume: { volumeId: string; volumeContext: [string, string][]; accessibleTopology?: [string, string][][] },
): KubeObject {
  const s = sc as Record<string, unknown>;
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: `pvc-${claim.metadata.uid}`, annotations: { [ANN_PROVISIONED_BY]: driver } },
    spec: {
      capacity: { storage: claim.spec?.resources?.requests?.storage },
      accessModes: claim.spec?.accessModes,
      persistentVolumeReclaimPolicy: (s.reclaimPolicy as string) ?? "Delete",
      storageClassName: sc.metadata.name,
      volumeMode: claim.spec?.volumeMode ?? "Filesystem",
      ...(s.mountOptions ? { mountOptions: s.mountOptions } : {}),
      claimRef: claimReference(claim),
      csi: {
        driver,
        volumeHandle: volume.volumeId,
        volumeAttributes: Object.fromEntries(volume.volumeContext),
      },
      nodeAffinity: topologyAffinity(volume.accessibleTopology, node),
    },
  };
}

/** Whether `pv` is pinned to `node` by the hostname label (node-local volumes). Pure. */
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
export class CsiProvisioner implements AsyncDisposable {
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
      console.error(`provisioner: ${key}: ${message(e)}`);
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
    const provisioner = ann[ANN_STORAGE_PROVISIONER];
    if (!provisioner) return;
    if (claim.spec?.volumeName) return await this.#maybeExpand(claim);
    if (ann[ANN_SELECTED_NODE] !== this.#opts.nodeName) return;
    const driver = await this.#opts.drivers.get(provisioner);
    if (!driver) {
      // Not (yet) registered here: the storage Plugin may still be loading.
      throw new Error(`driver ${provisioner} is not registered on node ${this.#opts.nodeName}`);
    }
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
    const bytes = Math.ceil(quantityValue(claim.spec?.resources?.requests?.storage) ?? 0);
    const caps = ((claim.spec?.accessModes ?? []) as string[]).map(mountCapability);
    const params = Object.entries(
      ((sc as Record<string, unknown>).parameters ?? {}) as Record<string, string>,
    );
    let volume;
    try {
      volume = await driver.createVolume(pvName, bytes, caps, params);
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
        provisionedVolume(claim, sc, this.#opts.nodeName, driver.name, volume),
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
    if (!pv?.spec?.csi?.driver || pv.metadata.annotations?.[ANN_PROVISIONED_BY] !== pv.spec.csi.driver) {
      return;
    }
    if (!pinnedTo(pv, this.#opts.nodeName)) return;
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
    const driver = await this.#opts.drivers.get(pv.spec.csi.driver);
    if (!driver) {
      throw new Error(`driver ${pv.spec.csi.driver} is not registered on node ${this.#opts.nodeName}`);
    }
    if (driver.capabilities.expandVolume) {
      try {
        await driver.controllerExpandVolume(pv.spec.csi.volumeHandle, Math.ceil(quantityValue(want) ?? 0));
      } catch (e) {
        this.#event(
          claim,
          "PersistentVolumeClaim",
          "Warning",
          "VolumeResizeFailed",
          `resize volume "${pv.metadata.name}" by resizer "${driver.name}" failed: ${message(e)}`,
        );
        throw e;
      }
    }
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
    const by = pv?.metadata.annotations?.[ANN_PROVISIONED_BY];
    if (!pv || !by || pv.spec?.csi?.driver !== by) return;
    if (!pinnedTo(pv, this.#opts.nodeName)) return;
    // A grown volume: the claim's status follows.
    if (pv.status?.phase === "Bound" && pv.spec?.claimRef?.name) {
      const ref = pv.spec.claimRef;
      this.#queue.add(`claim/${ref.namespace}/${ref.name}`);
    }
    if (pv.status?.phase !== "Released" || pv.spec?.persistentVolumeReclaimPolicy !== "Delete") return;
    try {
      const driver = await this.#opts.drivers.get(by);
      if (!driver) throw new Error(`driver ${by} is not registered on node ${this.#opts.nodeName}`);
      await driver.deleteVolume(pv.spec.csi.volumeHandle);
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
