/**
 * The PersistentVolume binder (upstream `persistentvolume-binder-controller`): one workqueue of
 * `claim/<ns>/<name>` and `volume/<name>` keys, level-based reconciles.
 *
 * - **Claims.** An unbound claim is bound to the best matching volume (binder.ts); when none
 *   matches, a claim of a class is handed to the class's provisioner by annotating it
 *   `volume.kubernetes.io/storage-provisioner` (every provisioner is external to the control
 *   plane: the built-in `local-path` one runs on the nodes). A WaitForFirstConsumer claim waits
 *   for the scheduler's `volume.kubernetes.io/selected-node`. An unknown class leaves the claim
 *   Pending with a `ProvisioningFailed` event, as upstream. A bound claim whose volume vanished
 *   is `Lost`.
 * - **Volumes.** Phases Available, Bound, Released, Failed as upstream; a Released volume is
 *   kept (Retain), left to its provisioner to delete (Delete; the provisioner deletes the PV
 *   object too), or Failed (Delete without a provisioner, Recycle).
 *
 * Binding writes the volume first (`claimRef`), then the claim (`volumeName`), then both
 * statuses; every step is repeated until the objects agree, so a crash half-way is repaired.
 * @module
 */
import { R } from "../../api/client.ts";
import { isApiError } from "../../api/status.ts";
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_BIND_COMPLETED,
  ANN_BOUND_BY_CONTROLLER,
  ANN_PROVISIONED_BY,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  claimReference,
  SR,
  storageClassOf,
} from "../../api/storage.ts";
import { clone, deepEqual, type KubeObject } from "../../api/types.ts";
import { type Controller, type ControllerContext, queueController, WorkQueue } from "../controller.ts";
import { findMatchingVolume, nodeLabelsByName, reclaimAction, volumePhase } from "./binder.ts";

const CLAIM = "claim/";
const VOLUME = "volume/";

/** The binder controller. */
export function persistentVolumeBinder(ctx: ControllerContext): Controller {
  const queue = new WorkQueue<string>();
  const claims = ctx.informers.get(R.persistentvolumeclaims);
  const volumes = ctx.informers.get(R.persistentvolumes);
  const classes = ctx.informers.get(SR.storageclasses);
  const recorder = ctx.recorder("persistentvolume-controller");
  const client = ctx.client;

  const claimKey = (c: KubeObject) => `${CLAIM}${c.metadata.namespace}/${c.metadata.name}`;
  const volumeKey = (v: KubeObject) => `${VOLUME}${v.metadata.name}`;
  const onClaim = (c: KubeObject) => {
    queue.add(claimKey(c));
    if (c.spec?.volumeName) queue.add(`${VOLUME}${c.spec.volumeName}`);
  };
  const onVolume = (v: KubeObject) => {
    queue.add(volumeKey(v));
    const ref = v.spec?.claimRef;
    if (ref?.name) queue.add(`${CLAIM}${ref.namespace ?? ""}/${ref.name}`);
    // A volume that became Available may satisfy a waiting claim.
    if (!ref) { for (const c of claims.list()) if (!c.spec?.volumeName) queue.add(claimKey(c)); }
  };
  claims.addHandler({ onAdd: onClaim, onUpdate: (_o, c) => onClaim(c), onDelete: onClaim });
  volumes.addHandler({ onAdd: onVolume, onUpdate: (_o, v) => onVolume(v), onDelete: onVolume });
  classes.addHandler({
    onAdd: () => claims.list().forEach((c) => !c.spec?.volumeName && queue.add(claimKey(c))),
  });

  const event = (
    obj: KubeObject,
    kind: string,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ) => recorder.event({ ...obj, kind, apiVersion: "v1" }, type, reason, message);

  async function setPhase(r: typeof R.persistentvolumes, obj: KubeObject, status: Record<string, unknown>) {
    const next = { ...(obj.status ?? {}), ...status };
    for (const [k, v] of Object.entries(status)) if (v === undefined) delete next[k];
    if (deepEqual(next, obj.status ?? {})) return;
    await client.updateStatus(r, { ...clone(obj), status: next });
  }

  async function bind(pv: KubeObject, claim: KubeObject): Promise<void> {
    // 1. The volume points at the claim.
    if (!pv.spec?.claimRef?.uid) {
      const next = clone(pv);
      next.spec.claimRef = claimReference(claim);
      next.metadata.annotations = { ...(next.metadata.annotations ?? {}), [ANN_BOUND_BY_CONTROLLER]: "yes" };
      pv = await client.update(R.persistentvolumes, next);
    }
    await setPhase(R.persistentvolumes, pv, { phase: "Bound", reason: undefined, message: undefined });
    // 2. The claim points at the volume.
    if (
      claim.spec?.volumeName !== pv.metadata.name ||
      claim.metadata.annotations?.[ANN_BIND_COMPLETED] !== "yes"
    ) {
      const next = clone(claim);
      next.spec.volumeName = pv.metadata.name;
      next.metadata.annotations = {
        ...(next.metadata.annotations ?? {}),
        [ANN_BIND_COMPLETED]: "yes",
        [ANN_BOUND_BY_CONTROLLER]: "yes",
      };
      claim = await client.update(R.persistentvolumeclaims, next);
    }
    await setPhase(R.persistentvolumeclaims, claim, {
      phase: "Bound",
      accessModes: pv.spec?.accessModes,
      capacity: pv.spec?.capacity,
    });
  }

  async function syncUnboundClaim(claim: KubeObject): Promise<void> {
    const clsName = storageClassOf(claim);
    const sc = clsName ? classes.get(undefined, clsName) : undefined;
    const delayed = sc && (sc as Record<string, unknown>).volumeBindingMode === "WaitForFirstConsumer";
    const selected = claim.metadata.annotations?.[ANN_SELECTED_NODE];
    if (!delayed || selected) {
      const pv = findMatchingVolume(
        claim,
        volumes.list(),
        selected ? { nodeLabels: nodeLabelsByName(selected) } : {},
      );
      if (pv) return await bind(pv, claim);
    }
    if (!clsName) {
      event(
        claim,
        "PersistentVolumeClaim",
        "Normal",
        "FailedBinding",
        "no persistent volumes available for this claim and no storage class is set",
      );
      return;
    }
    if (!sc) {
      event(
        claim,
        "PersistentVolumeClaim",
        "Warning",
        "ProvisioningFailed",
        `storageclass.storage.k8s.io "${clsName}" not found`,
      );
      return;
    }
    if (delayed && !selected) {
      event(
        claim,
        "PersistentVolumeClaim",
        "Normal",
        "WaitForFirstConsumer",
        "waiting for first consumer to be created before binding",
      );
      return;
    }
    const provisioner = String((sc as Record<string, unknown>).provisioner ?? "");
    const ann = claim.metadata.annotations ?? {};
    if (ann[ANN_STORAGE_PROVISIONER] !== provisioner || ann[ANN_BETA_STORAGE_PROVISIONER] !== provisioner) {
      const next = clone(claim);
      next.metadata.annotations = {
        ...ann,
        [ANN_STORAGE_PROVISIONER]: provisioner,
        [ANN_BETA_STORAGE_PROVISIONER]: provisioner,
      };
      await client.update(R.persistentvolumeclaims, next);
    }
    event(
      claim,
      "PersistentVolumeClaim",
      "Normal",
      "ExternalProvisioning",
      `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
    );
  }

  async function syncClaim(ns: string, name: string): Promise<void> {
    const claim = claims.get(ns, name);
    if (!claim) return;
    const volumeName = claim.spec?.volumeName;
    if (!volumeName) return await syncUnboundClaim(claim);
    const pv = volumes.get(undefined, volumeName);
    if (!pv) {
      if (claim.status?.phase === "Bound" || claim.status?.phase === "Lost") {
        if (claim.status?.phase !== "Lost") {
          event(
            claim,
            "PersistentVolumeClaim",
            "Warning",
            "ClaimLost",
            "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
          );
        }
        await setPhase(R.persistentvolumeclaims, claim, { phase: "Lost" });
      }
      return;
    }
    const ref = pv.spec?.claimRef;
    if (
      !ref ||
      (ref.name === name && (ref.namespace ?? "") === ns && (!ref.uid || ref.uid === claim.metadata.uid))
    ) {
      return await bind(pv, claim);
    }
    event(
      claim,
      "PersistentVolumeClaim",
      "Warning",
      "ClaimMisbound",
      "Two claims are bound to the same volume, this one is bound incorrectly",
    );
    await setPhase(R.persistentvolumeclaims, claim, { phase: "Lost" });
  }

  async function syncVolume(name: string): Promise<void> {
    const pv = volumes.get(undefined, name);
    if (!pv) return;
    const ref = pv.spec?.claimRef;
    const claim = ref?.name ? claims.get(ref.namespace ?? "", ref.name) : undefined;
    const phase = volumePhase(pv, claim);
    if (phase !== "Released") {
      if (phase !== pv.status?.phase && phase !== "Pending") {
        await setPhase(R.persistentvolumes, pv, { phase, reason: undefined, message: undefined });
      }
      return;
    }
    if (pv.status?.phase === "Failed") return;
    const action = reclaimAction(pv, pv.metadata.annotations?.[ANN_PROVISIONED_BY]);
    if (action === "fail") {
      const policy = pv.spec?.persistentVolumeReclaimPolicy;
      const message = policy === "Delete"
        ? 'error getting deleter volume plugin for volume "' + name + '": no deletable volume plugin matched'
        : `reclaim policy ${policy} is not supported by Skiff`;
      event(pv, "PersistentVolume", "Warning", "VolumeFailedDelete", message);
      await setPhase(R.persistentvolumes, pv, { phase: "Failed", message });
      return;
    }
    // Retain keeps the volume Released; Delete leaves it to the provisioner, which watches Released volumes.
    await setPhase(R.persistentvolumes, pv, { phase: "Released" });
  }

  return queueController("persistentvolume-binder-controller", queue, async (key) => {
    try {
      if (key.startsWith(CLAIM)) {
        const [ns, name] = key.slice(CLAIM.length).split("/");
        await syncClaim(ns, name);
      } else await syncVolume(key.slice(VOLUME.length));
    } catch (e) {
      // A conflict means the informer is behind: try again when it catches up.
      if (isApiError(e, 409) || isApiError(e, 404)) return { requeueAfterMs: 200 };
      throw e;
    }
    return {};
  }, ctx.options.workers ?? 2);
}
