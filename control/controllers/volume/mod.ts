/**
 * The storage controllers (docs/storage.md): the PersistentVolume binder and the claim and
 * volume protection controllers. Provisioners are external to the control plane (the built-in
 * `local-path` one runs in the node agents, node/volumes/csi_provisioner.ts).
 * @module
 */
export { persistentVolumeBinder } from "./pv_controller.ts";
export { podClaims, pvcProtectionController, pvProtectionController } from "./protection.ts";
export {
  findMatchingVolume,
  isVolumeBoundToClaim,
  reclaimAction,
  volumeFitsNode,
  volumePhase,
} from "./binder.ts";
