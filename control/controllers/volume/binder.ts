/**
 * The pure decisions of the PersistentVolume binder (upstream `pkg/controller/volume/persistentvolume`
 * and `FindMatchingVolume`): which volume satisfies a claim, and what phase a volume is in given
 * its claim. No I/O.
 * @module
 */
import { fromLabelSelectorObject, matchesLabels } from "../../api/selector.ts";
import { HOSTNAME_LABEL, storageClassOf } from "../../api/storage.ts";
import type { KubeObject } from "../../api/types.ts";
import { compareQuantities, parseQuantity, type Quantity } from "../../apiserver/registry/quantity.ts";

function storage(v: unknown): Quantity | undefined {
  return parseQuantity(v);
}

/** The claim's volume mode, defaulted as upstream (Filesystem). */
export function volumeModeOf(obj: KubeObject): string {
  return obj.spec?.volumeMode ?? "Filesystem";
}

/** Whether `pv.spec.claimRef` points at `claim` (by namespace and name, and uid when set). */
export function isVolumeBoundToClaim(pv: KubeObject, claim: KubeObject): boolean {
  const ref = pv.spec?.claimRef;
  if (!ref) return false;
  if (ref.name !== claim.metadata?.name || (ref.namespace ?? "") !== (claim.metadata?.namespace ?? "")) {
    return false;
  }
  return !ref.uid || ref.uid === claim.metadata?.uid;
}

/** Whether the volume's required node affinity admits a node with these labels (no affinity: every node). */
export function volumeFitsNode(pv: KubeObject, nodeLabels: Record<string, string>): boolean {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms as
    | { matchExpressions?: { key: string; operator: string; values?: string[] }[] }[]
    | undefined;
  if (!terms || terms.length === 0) return true;
  return terms.some((t) =>
    (t.matchExpressions ?? []).every((e) => {
      const v = nodeLabels[e.key];
      switch (e.operator) {
        case "In":
          return v !== undefined && (e.values ?? []).includes(v);
        case "NotIn":
          return v === undefined || !(e.values ?? []).includes(v);
        case "Exists":
          return v !== undefined;
        case "DoesNotExist":
          return v === undefined;
        default:
          return false;
      }
    })
  );
}

/** The labels the binder assumes for a node it only knows by name. */
export function nodeLabelsByName(node: string): Record<string, string> {
  return { [HOSTNAME_LABEL]: node };
}

/** Options of {@linkcode findMatchingVolume}. */
export interface MatchOptions {
  /** The node the claim's first pod goes to (WaitForFirstConsumer): volumes must fit it. */
  nodeLabels?: Record<string, string>;
}

/**
 * The volume that satisfies `claim` among `volumes`: one pre-bound to the claim wins; otherwise
 * the smallest Available, unclaimed volume with enough capacity, every requested access mode, the
 * same StorageClass and volume mode, labels matching the claim's selector and (when a node is
 * given) node affinity admitting that node. Undefined when none does.
 */
export function findMatchingVolume(
  claim: KubeObject,
  volumes: readonly KubeObject[],
  opts: MatchOptions = {},
): KubeObject | undefined {
  const requested = storage(claim.spec?.resources?.requests?.storage);
  if (!requested) return undefined;
  const modes: string[] = claim.spec?.accessModes ?? [];
  const cls = storageClassOf(claim);
  const selector = claim.spec?.selector ? fromLabelSelectorObject(claim.spec.selector) : null;
  let best: KubeObject | undefined;
  let bestSize: Quantity | undefined;
  for (const pv of volumes) {
    const size = storage(pv.spec?.capacity?.storage);
    if (!size || compareQuantities(size, requested) < 0) continue;
    if (volumeModeOf(pv) !== volumeModeOf(claim)) continue;
    if (pv.metadata?.deletionTimestamp) continue;
    if (opts.nodeLabels && !volumeFitsNode(pv, opts.nodeLabels)) continue;
    if (isVolumeBoundToClaim(pv, claim)) return pv;
    if (pv.spec?.claimRef) continue;
    if ((pv.status?.phase ?? "Pending") !== "Available") continue;
    if (selector && !matchesLabels(selector, pv.metadata?.labels ?? {})) continue;
    if (storageClassOf(pv) !== cls) continue;
    const pvModes: string[] = pv.spec?.accessModes ?? [];
    if (!modes.every((m) => pvModes.includes(m))) continue;
    if (!bestSize || compareQuantities(size, bestSize) < 0) [best, bestSize] = [pv, size];
  }
  return best;
}

/** What the binder does with a volume whose claim is gone. */
export type ReleaseAction = "none" | "release" | "delete" | "fail";

/**
 * The phase a volume should be in (upstream `syncVolume`), given whether its claim still exists
 * (with the uid of `claimRef`) and is bound to it.
 */
export function volumePhase(
  pv: KubeObject,
  claim: KubeObject | undefined,
): "Available" | "Bound" | "Released" | "Pending" {
  const ref = pv.spec?.claimRef;
  if (!ref) return "Available";
  if (!ref.uid) return "Available"; // pre-bound by a user, waiting for its claim
  if (!claim || claim.metadata?.uid !== ref.uid) return "Released";
  if (claim.spec?.volumeName === pv.metadata?.name) return "Bound";
  return (pv.status?.phase as "Bound" | "Pending") ?? "Pending";
}

/** What to do with a Released volume, by its reclaim policy. */
export function reclaimAction(pv: KubeObject, provisionedBy: string | undefined): ReleaseAction {
  switch (pv.spec?.persistentVolumeReclaimPolicy ?? "Retain") {
    case "Retain":
      return "none";
    case "Delete":
      return provisionedBy ? "delete" : "fail";
    default:
      return "fail";
  }
}
