/**
 * VolumeBinding (upstream `volumebinding`, reduced): a pod's PersistentVolumeClaims decide where
 * it may go.
 *
 * - PreFilter: a claim that does not exist, or is being deleted, or is unbound with an Immediate
 *   class (the binder has not bound it yet), or is `ReadWriteOncePod` and already used by another
 *   scheduled pod (upstream's VolumeRestrictions), makes the pod unschedulable everywhere.
 * - Filter: a bound claim's volume must admit the node (its `nodeAffinity`, e.g. a node-local
 *   `local-path` volume); an unbound WaitForFirstConsumer claim fits a node when a matching
 *   static volume fits it, or its class has a provisioner (`kubernetes.io/no-provisioner` has none).
 * - PreBind ({@linkcode selectNodeForClaims}, called by the scheduler before it binds the pod):
 *   annotates each unbound WaitForFirstConsumer claim with `volume.kubernetes.io/selected-node`,
 *   which the node's provisioner acts on. Unlike upstream, the pod is bound without waiting for
 *   the claims to be bound; the kubelet waits for them (docs/storage.md).
 * @module
 */
import { ANN_SELECTED_NODE, storageClassOf } from "../../api/storage.ts";
import type { KubeObject } from "../../api/types.ts";
import { findMatchingVolume, volumeFitsNode } from "../../controllers/volume/binder.ts";
import {
  type CycleState,
  type FilterPlugin,
  type PreFilterPlugin,
  type StateData,
  status,
} from "../types.ts";

/** Upstream's reasons. */
export const ERR_VOLUME_NODE_CONFLICT = "node(s) had volume node affinity conflict";
export const ERR_VOLUME_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind";
export const ERR_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims";
export const ERR_RWOP_CONFLICT =
  "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode";
const NO_PROVISIONER = "kubernetes.io/no-provisioner";

/** What the plugin reads: the scheduler's informers. */
export interface VolumeLister {
  pod(namespace: string, name: string): KubeObject | undefined;
  claim(namespace: string, name: string): KubeObject | undefined;
  volume(name: string): KubeObject | undefined;
  volumes(): KubeObject[];
  storageClass(name: string): KubeObject | undefined;
  /** Pods of a namespace (to find other users of a ReadWriteOncePod claim). */
  pods(namespace: string): KubeObject[];
}

class VolumeState implements StateData {
  constructor(readonly bound: KubeObject[], readonly delayed: KubeObject[]) {}
  clone(): StateData {
    return this;
  }
}

const KEY = "VolumeBinding";

/** The claim names of a pod's persistentVolumeClaim volumes. Pure. */
export function claimNames(pod: KubeObject | undefined): string[] {
  return ((pod?.spec?.volumes ?? []) as { persistentVolumeClaim?: { claimName?: string } }[])
    .map((v) => v.persistentVolumeClaim?.claimName)
    .filter((n): n is string => !!n);
}

function isDelayed(lister: VolumeLister, claim: KubeObject): boolean {
  const cls = storageClassOf(claim);
  const sc = cls ? lister.storageClass(cls) : undefined;
  return (sc as Record<string, unknown> | undefined)?.volumeBindingMode === "WaitForFirstConsumer";
}

/** The plugin over `lister`. */
export function volumeBinding(lister: VolumeLister): PreFilterPlugin & FilterPlugin {
  return {
    name: "VolumeBinding",
    events: ["NodeAdd", "NodeLabel", "PersistentVolumeChange"],
    preFilter(state: CycleState, pod) {
      const names = claimNames(lister.pod(pod.namespace, pod.name));
      if (names.length === 0) return status("Skip");
      const bound: KubeObject[] = [];
      const delayed: KubeObject[] = [];
      for (const name of names) {
        const claim = lister.claim(pod.namespace, name);
        if (!claim) {
          return status("UnschedulableAndUnresolvable", `persistentvolumeclaim "${name}" not found`);
        }
        if (claim.metadata.deletionTimestamp) {
          return status("UnschedulableAndUnresolvable", `persistentvolumeclaim "${name}" is being deleted`);
        }
        if ((claim.spec?.accessModes ?? []).includes("ReadWriteOncePod")) {
          const taken = lister.pods(pod.namespace).some((p) =>
            p.metadata.uid !== pod.uid && p.spec?.nodeName &&
            !["Succeeded", "Failed"].includes(p.status?.phase) &&
            claimNames(p).includes(name)
          );
          if (taken) return status("UnschedulableAndUnresolvable", ERR_RWOP_CONFLICT);
        }
        const volumeName = claim.spec?.volumeName;
        if (volumeName) {
          const pv = lister.volume(volumeName);
          if (!pv) {
            return status(
              "UnschedulableAndUnresolvable",
              `pvc ${pod.namespace}/${name} is bound to non-existent pv ${volumeName}`,
            );
          }
          bound.push(pv);
        } else if (isDelayed(lister, claim)) delayed.push(claim);
        else return status("UnschedulableAndUnresolvable", ERR_UNBOUND_IMMEDIATE);
      }
      state.write(KEY, new VolumeState(bound, delayed));
      return null;
    },
    filter(state, _pod, node) {
      const s = state.read<VolumeState>(KEY);
      if (!s) return null;
      const labels = { "kubernetes.io/hostname": node.node.name, ...node.node.labels };
      if (s.bound.some((pv) => !volumeFitsNode(pv, labels))) {
        return status("UnschedulableAndUnresolvable", ERR_VOLUME_NODE_CONFLICT);
      }
      for (const claim of s.delayed) {
        const selected = claim.metadata.annotations?.[ANN_SELECTED_NODE];
        if (selected && selected !== node.node.name) {
          return status("UnschedulableAndUnresolvable", ERR_VOLUME_NODE_CONFLICT);
        }
        if (findMatchingVolume(claim, lister.volumes(), { nodeLabels: labels })) continue;
        const sc = lister.storageClass(storageClassOf(claim)) as Record<string, unknown> | undefined;
        if (!sc?.provisioner || sc.provisioner === NO_PROVISIONER) {
          return status("UnschedulableAndUnresolvable", ERR_VOLUME_BIND_CONFLICT);
        }
      }
      return null;
    },
  };
}

/** The selected-node annotations to set before binding `pod` to `node`: claim name → merge patch. Pure. */
export function selectedNodePatches(
  lister: VolumeLister,
  pod: KubeObject,
  node: string,
): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const ns = pod.metadata.namespace ?? "default";
  for (const name of claimNames(pod)) {
    const claim = lister.claim(ns, name);
    if (!claim || claim.spec?.volumeName || !isDelayed(lister, claim)) continue;
    if (claim.metadata.annotations?.[ANN_SELECTED_NODE] === node) continue;
    out.set(name, { metadata: { annotations: { [ANN_SELECTED_NODE]: node } } });
  }
  return out;
}
