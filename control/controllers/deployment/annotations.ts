/**
 * The annotations a Deployment keeps on its ReplicaSets (upstream `SetNewReplicaSetAnnotations`,
 * `SetReplicasAnnotations`): copied user annotations (so `kubernetes.io/change-cause` shows in
 * `kubectl rollout history`), the revision (with `revision-history` on rollbacks), and the
 * desired and max replicas used for proportional scaling.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import {
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  maxSurge,
  replicas,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  skipCopyAnnotation,
} from "./util.ts";

/** Upstream `maxRevHistoryLengthInChars`. */
export const MAX_REV_HISTORY_LENGTH = 2000;

/** Sets desired/max replicas; returns whether anything changed. Mutates `annotations`. */
export function setReplicasAnnotations(
  annotations: Record<string, string>,
  desired: number,
  max: number,
): boolean {
  let changed = false;
  if (annotations[DESIRED_REPLICAS_ANNOTATION] !== String(desired)) {
    annotations[DESIRED_REPLICAS_ANNOTATION] = String(desired);
    changed = true;
  }
  if (annotations[MAX_REPLICAS_ANNOTATION] !== String(max)) {
    annotations[MAX_REPLICAS_ANNOTATION] = String(max);
    changed = true;
  }
  return changed;
}

/** Upstream `ReplicasAnnotationsNeedUpdate` for the Deployment's current size. */
export function replicasAnnotationsNeedUpdate(rs: KubeObject, d: KubeObject): boolean {
  const a = rs.metadata.annotations ?? {};
  return a[DESIRED_REPLICAS_ANNOTATION] !== String(replicas(d)) ||
    a[MAX_REPLICAS_ANNOTATION] !== String(replicas(d) + maxSurge(d));
}

/**
 * Upstream `SetNewReplicaSetAnnotations`: returns the new annotations and whether they changed.
 * `exists` says the ReplicaSet is already stored (only new ones get the replicas annotations here).
 */
export function newReplicaSetAnnotations(
  d: KubeObject,
  rs: KubeObject,
  newRevision: number,
  exists: boolean,
): { annotations: Record<string, string>; changed: boolean } {
  const annotations = { ...(rs.metadata.annotations ?? {}) };
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (skipCopyAnnotation(k) || annotations[k] === v) continue;
    annotations[k] = v;
    changed = true;
  }
  const oldRevision = annotations[REVISION_ANNOTATION];
  const had = oldRevision !== undefined;
  let oldRev = 0;
  if (had && oldRevision !== "") {
    if (!/^\d+$/.test(oldRevision)) return { annotations: rs.metadata.annotations ?? {}, changed: false };
    oldRev = Number(oldRevision);
  }
  if (oldRev < newRevision) {
    annotations[REVISION_ANNOTATION] = String(newRevision);
    changed = true;
    if (had) {
      const history = annotations[REVISION_HISTORY_ANNOTATION] ?? "";
      if (history === "") annotations[REVISION_HISTORY_ANNOTATION] = oldRevision;
      else {
        const olds = history.split(",");
        let total = history.length + oldRevision.length + 1;
        let start = 0;
        while (total > MAX_REV_HISTORY_LENGTH && start < olds.length) total -= olds[start++].length + 1;
        if (total <= MAX_REV_HISTORY_LENGTH) {
          annotations[REVISION_HISTORY_ANNOTATION] = [...olds.slice(start), oldRevision].join(",");
        }
      }
    }
  }
  if (!exists && setReplicasAnnotations(annotations, replicas(d), replicas(d) + maxSurge(d))) changed = true;
  return { annotations, changed };
}
