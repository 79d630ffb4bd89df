/**
 * Rollout steps, pure: each function takes the Deployment and its ReplicaSets as they are and
 * returns the scalings one sync should make, in order (upstream `rolling.go`, `recreate.go`,
 * `sync.go#scale` and `cleanupDeployment`). A step may name the same ReplicaSet twice (upstream
 * first trims unhealthy replicas, then scales down for availability), each step recording an event.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { isPodTerminal } from "../workload/pod_util.ts";
import {
  activeReplicaSets,
  availableReplicas,
  byCreation,
  DESIRED_REPLICAS_ANNOTATION,
  hasRevisionHistoryLimit,
  isRollingUpdate,
  isSaturated,
  MAX_REPLICAS_ANNOTATION,
  maxSurge,
  maxUnavailable,
  newRSNewReplicas,
  replicas,
  revision,
  specReplicas,
} from "./util.ts";

/** Scale `rs` to `replicas`. `operation` overrides the up/down word of the event (proportional scaling). */
export interface ScaleStep {
  rs: KubeObject;
  replicas: number;
  operation?: "up" | "down" | "";
}

/** Upstream `reconcileNewReplicaSet`: the new ReplicaSet's target size, or undefined to leave it. */
export function planNewReplicaSet(
  d: KubeObject,
  allRSs: KubeObject[],
  newRS: KubeObject,
): number | undefined {
  const want = replicas(d);
  const cur = replicas(newRS);
  if (cur === want) return undefined;
  if (cur > want) return want;
  const next = newRSNewReplicas(d, allRSs, newRS);
  return next === cur ? undefined : next;
}

/**
 * Upstream `reconcileOldReplicaSets`: first scale down old ReplicaSets' unhealthy replicas (they
 * cost no availability), then scale old ones down as far as availability above
 * `replicas - maxUnavailable` allows, oldest first.
 */
export function planOldReplicaSets(
  d: KubeObject,
  allRSs: KubeObject[],
  oldRSs: KubeObject[],
  newRS: KubeObject,
): ScaleStep[] {
  if (specReplicas(oldRSs) === 0) return [];
  const allPods = specReplicas(allRSs);
  const minAvailable = replicas(d) - maxUnavailable(d);
  const newUnavailable = replicas(newRS) - (newRS.status?.availableReplicas ?? 0);
  const maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return [];

  const steps: ScaleStep[] = [];
  // cleanupUnhealthyReplicas
  const sizes = new Map<KubeObject, number>();
  const olds = [...oldRSs].sort(byCreation);
  let cleaned = 0;
  for (const rs of olds) {
    sizes.set(rs, replicas(rs));
    if (cleaned >= maxScaledDown) continue;
    const size = replicas(rs);
    const avail = rs.status?.availableReplicas ?? 0;
    if (size === 0 || size === avail) continue;
    const down = Math.min(maxScaledDown - cleaned, size - avail);
    sizes.set(rs, size - down);
    steps.push({ rs, replicas: size - down });
    cleaned += down;
  }
  // scaleDownOldReplicaSetsForRollingUpdate (availability is read from status, unchanged above)
  const available = availableReplicas([...olds, newRS]);
  if (available <= minAvailable) return steps;
  const total = available - minAvailable;
  let scaled = 0;
  for (const rs of olds) {
    if (scaled >= total) break;
    const size = sizes.get(rs)!;
    if (size === 0) continue;
    const down = Math.min(size, total - scaled);
    steps.push({ rs, replicas: size - down });
    scaled += down;
  }
  return steps;
}

/** Upstream `scaleDownOldReplicaSetsForRecreate`: every active old ReplicaSet to 0. */
export function planRecreateScaleDown(oldRSs: KubeObject[]): ScaleStep[] {
  return activeReplicaSets(oldRSs).map((rs) => ({ rs, replicas: 0 }));
}

/**
 * Upstream `oldPodsRunning`: whether old ReplicaSets still have pods that are not finished
 * (Recreate waits for them before creating new pods). `podsByRS` maps a ReplicaSet UID to its pods.
 */
export function oldPodsRunning(
  newRS: KubeObject | undefined,
  oldRSs: KubeObject[],
  podsByRS: Map<string, KubeObject[]>,
): boolean {
  if (oldRSs.reduce((n, rs) => n + (rs.status?.replicas ?? 0), 0) > 0) return true;
  for (const [uid, pods] of podsByRS) {
    if (newRS && newRS.metadata.uid === uid) continue;
    if (pods.some((p) => !isPodTerminal(p))) return true;
  }
  return false;
}

function annotatedMax(rs: KubeObject): number | undefined {
  const v = rs.metadata.annotations?.[MAX_REPLICAS_ANNOTATION];
  return v !== undefined && /^-?\d+$/.test(v) ? Number(v) : undefined;
}

/** Upstream `getReplicaSetFraction`. */
function fraction(rs: KubeObject, d: KubeObject): number {
  if (replicas(d) === 0) return -replicas(rs);
  const deploymentReplicas = replicas(d) + maxSurge(d);
  const annotated = annotatedMax(rs) ?? (d.status?.replicas ?? 0);
  if (annotated <= 0) return 0;
  // Go's integer.RoundToInt32 rounds half away from zero.
  const size = (replicas(rs) * deploymentReplicas) / annotated;
  const rounded = Math.sign(size) * Math.round(Math.abs(size));
  return rounded - replicas(rs);
}

/** Upstream `GetProportion`. */
export function proportion(rs: KubeObject, d: KubeObject, toAdd: number, added: number): number {
  if (replicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const f = fraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(f, allowed) : Math.max(f, allowed);
}

function bySizeNewer(a: KubeObject, b: KubeObject): number {
  if (replicas(a) !== replicas(b)) return replicas(b) - replicas(a);
  return byCreation(b, a);
}

function bySizeOlder(a: KubeObject, b: KubeObject): number {
  if (replicas(a) !== replicas(b)) return replicas(b) - replicas(a);
  return byCreation(a, b);
}

/**
 * Upstream `scale`: on a scaling event (or while paused), resize the only active ReplicaSet, or
 * drain old ones once the new one is saturated, or spread the change proportionally over all
 * active ReplicaSets of a rolling Deployment (largest first; leftovers to the first).
 */
export function planScale(d: KubeObject, newRS: KubeObject | undefined, oldRSs: KubeObject[]): ScaleStep[] {
  const all = [...(newRS ? [newRS] : []), ...oldRSs];
  const active = activeReplicaSets(all);
  let activeOrLatest: KubeObject | undefined;
  if (active.length === 0) activeOrLatest = newRS ?? [...oldRSs].sort(byCreation).at(-1);
  else if (active.length === 1) activeOrLatest = active[0];
  if (active.length <= 1) {
    if (!activeOrLatest || replicas(activeOrLatest) === replicas(d)) return [];
    return [{ rs: activeOrLatest, replicas: replicas(d) }];
  }
  if (isSaturated(d, newRS)) return activeReplicaSets(oldRSs).map((rs) => ({ rs, replicas: 0 }));
  if (!isRollingUpdate(d)) return [];

  const allowed = replicas(d) > 0 ? replicas(d) + maxSurge(d) : 0;
  const toAdd = allowed - specReplicas(active);
  let operation: ScaleStep["operation"] = "";
  const sorted = [...active];
  if (toAdd > 0) {
    sorted.sort(bySizeNewer);
    operation = "up";
  } else if (toAdd < 0) {
    sorted.sort(bySizeOlder);
    operation = "down";
  }
  let added = 0;
  const sizes = sorted.map((rs) => {
    if (toAdd === 0) return replicas(rs);
    const p = proportion(rs, d, toAdd, added);
    added += p;
    return replicas(rs) + p;
  });
  if (toAdd !== 0) sizes[0] = Math.max(0, sizes[0] + toAdd - added);
  return sorted.map((rs, i) => ({ rs, replicas: sizes[i], operation }));
}

/**
 * Upstream `cleanupDeployment`: old ReplicaSets beyond `revisionHistoryLimit`, lowest revision
 * first, that are fully scaled down and observed, are to be deleted.
 */
export function planCleanup(d: KubeObject, oldRSs: KubeObject[]): KubeObject[] {
  if (!hasRevisionHistoryLimit(d)) return [];
  const alive = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
  const diff = alive.length - d.spec.revisionHistoryLimit;
  if (diff <= 0) return [];
  const sorted = [...alive].sort((a, b) => {
    const ra = revision(a), rb = revision(b);
    if (Number.isNaN(ra) || Number.isNaN(rb) || ra === rb) return byCreation(a, b);
    return ra - rb;
  });
  return sorted.slice(0, diff).filter((rs) =>
    (rs.status?.replicas ?? 0) === 0 && replicas(rs) === 0 &&
    (rs.metadata.generation ?? 0) <= (rs.status?.observedGeneration ?? 0)
  );
}

/** Upstream `isScalingEvent`: an active ReplicaSet was sized for a different `spec.replicas`. */
export function isScalingEvent(d: KubeObject, newRS: KubeObject | undefined, oldRSs: KubeObject[]): boolean {
  for (const rs of activeReplicaSets([...oldRSs, newRS])) {
    const v = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
    if (v === undefined || !/^-?\d+$/.test(v)) continue;
    if (Number(v) !== replicas(d)) return true;
  }
  return false;
}
