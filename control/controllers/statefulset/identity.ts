/**
 * StatefulSet pod identity, pure (upstream `stateful_set_utils.go`): stable names
 * `<set>-<ordinal>`, hostname and subdomain, the `statefulset.kubernetes.io/pod-name` and
 * `apps.kubernetes.io/pod-index` labels, and one PVC per claim template named
 * `<template>-<set>-<ordinal>`, mounted as the template's volume.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { CONTROLLER_REVISION_HASH } from "../workload/history.ts";
import { controllerRef } from "../workload/ownership.ts";
import { podFromTemplate } from "../workload/pod_control.ts";

/** The label naming a StatefulSet pod (for per-pod Services). */
export const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
/** The label carrying a StatefulSet pod's ordinal. */
export const POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";

/** `<set>-<ordinal>`. */
export function podName(set: KubeObject, ordinal: number): string {
  return `${set.metadata.name}-${ordinal}`;
}

/** Upstream `getParentNameAndOrdinal`: the set name and ordinal in a pod name (ordinal -1 if none). */
export function parentAndOrdinal(pod: KubeObject): { parent: string; ordinal: number } {
  const m = /^(.*)-([0-9]+)$/.exec(pod.metadata.name ?? "");
  if (!m) return { parent: "", ordinal: -1 };
  const n = Number(m[2]);
  return { parent: m[1], ordinal: Number.isSafeInteger(n) && n <= 2147483647 ? n : -1 };
}

/** The pod's ordinal (-1 when its name has none). */
export function ordinalOf(pod: KubeObject): number {
  return parentAndOrdinal(pod).ordinal;
}

/** Whether the pod's name says it belongs to the set (upstream `isMemberOf`). */
export function isMemberOf(set: KubeObject, pod: KubeObject): boolean {
  return parentAndOrdinal(pod).parent === set.metadata.name;
}

/** `spec.ordinals.start` (default 0). */
export function startOrdinal(set: KubeObject): number {
  return set.spec?.ordinals?.start ?? 0;
}

/** The last ordinal in range: start + replicas - 1. */
export function endOrdinal(set: KubeObject): number {
  return startOrdinal(set) + (set.spec?.replicas ?? 1) - 1;
}

/** Whether the pod's ordinal is within [start, start + replicas). */
export function inOrdinalRange(set: KubeObject, pod: KubeObject): boolean {
  const o = ordinalOf(pod);
  return o >= startOrdinal(set) && o <= endOrdinal(set);
}

/** `<template>-<set>-<ordinal>`. */
export function claimName(set: KubeObject, template: KubeObject, ordinal: number): string {
  return `${template.metadata?.name}-${set.metadata.name}-${ordinal}`;
}

/** Upstream `getPersistentVolumeClaims`: the claims of one ordinal, keyed by template name. */
export function claimsFor(set: KubeObject, ordinal: number): Map<string, KubeObject> {
  const out = new Map<string, KubeObject>();
  const selectorLabels = set.spec?.selector?.matchLabels ?? {};
  for (const t of (set.spec?.volumeClaimTemplates ?? []) as KubeObject[]) {
    const claim = structuredClone(t);
    claim.apiVersion = "v1";
    claim.kind = "PersistentVolumeClaim";
    claim.metadata = { ...(claim.metadata ?? {}) };
    claim.metadata.name = claimName(set, t, ordinal);
    claim.metadata.namespace = set.metadata.namespace;
    claim.metadata.labels = { ...(claim.metadata.labels ?? {}), ...selectorLabels };
    delete claim.status;
    out.set(t.metadata.name!, claim);
  }
  return out;
}

/** Upstream `updateIdentity`: name, namespace and the identity labels from the ordinal. */
export function withIdentity(set: KubeObject, pod: KubeObject): KubeObject {
  const ordinal = ordinalOf(pod);
  const name = podName(set, ordinal);
  return {
    ...pod,
    metadata: {
      ...pod.metadata,
      name,
      namespace: set.metadata.namespace,
      labels: { ...(pod.metadata.labels ?? {}), [POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(ordinal) },
    },
  };
}

/** Upstream `updateStorage`: a PVC volume per claim template, other volumes kept. */
export function withStorage(set: KubeObject, pod: KubeObject): KubeObject {
  const claims = claimsFor(set, ordinalOf(pod));
  if (!claims.size) return pod;
  const volumes = [...claims].map(([name, claim]) => ({
    name,
    persistentVolumeClaim: { claimName: claim.metadata.name },
  }));
  for (const v of (pod.spec?.volumes ?? []) as { name: string }[]) {
    if (!claims.has(v.name)) volumes.push(v as never);
  }
  return { ...pod, spec: { ...pod.spec, volumes } };
}

/** Upstream `identityMatches`. */
export function identityMatches(set: KubeObject, pod: KubeObject): boolean {
  const { parent, ordinal } = parentAndOrdinal(pod);
  return ordinal >= 0 && parent === set.metadata.name && pod.metadata.name === podName(set, ordinal) &&
    pod.metadata.namespace === set.metadata.namespace &&
    pod.metadata.labels?.[POD_NAME_LABEL] === pod.metadata.name &&
    pod.metadata.labels?.[POD_INDEX_LABEL] === String(ordinal);
}

/** Upstream `storageMatches`. */
export function storageMatches(set: KubeObject, pod: KubeObject): boolean {
  const ordinal = ordinalOf(pod);
  if (ordinal < 0) return false;
  const volumes = new Map(((pod.spec?.volumes ?? []) as KubeObject[]).map((v) => [v.name, v]));
  for (const t of (set.spec?.volumeClaimTemplates ?? []) as KubeObject[]) {
    const v = volumes.get(t.metadata.name);
    if (v?.persistentVolumeClaim?.claimName !== claimName(set, t, ordinal)) return false;
  }
  return true;
}

/** The pod's revision label. */
export function podRevision(pod: KubeObject): string | undefined {
  return pod.metadata.labels?.[CONTROLLER_REVISION_HASH];
}

/** Upstream `newStatefulSetPod` plus `setPodRevision`: the pod for `ordinal` from `set`'s template. */
export function newStatefulSetPod(set: KubeObject, ordinal: number, revisionName: string): KubeObject {
  const ref = controllerRef(set, "apps/v1", "StatefulSet");
  let pod = podFromTemplate(set.spec?.template ?? {}, set, ref);
  delete pod.metadata.generateName;
  pod.metadata.name = podName(set, ordinal);
  pod = withIdentity(set, pod);
  pod.spec = { ...pod.spec, hostname: pod.metadata.name, subdomain: set.spec?.serviceName };
  if (!pod.spec.subdomain) delete pod.spec.subdomain;
  pod = withStorage(set, pod);
  pod.metadata.labels = { ...pod.metadata.labels, [CONTROLLER_REVISION_HASH]: revisionName };
  return pod;
}
