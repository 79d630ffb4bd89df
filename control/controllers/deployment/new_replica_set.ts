/**
 * The Deployment's new ReplicaSet, pure (upstream `getNewReplicaSet`): named
 * `<deployment>-<pod-template-hash>`, its template and selector carrying the hash label, owned by
 * the Deployment, sized by {@link newRSNewReplicas}, annotated with the next revision.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { computeHash } from "../workload/hash.ts";
import { controllerRef } from "../workload/ownership.ts";
import { newReplicaSetAnnotations } from "./annotations.ts";
import { maxRevision, newRSNewReplicas, POD_TEMPLATE_HASH } from "./util.ts";

/** The revision a new (or re-used) ReplicaSet gets: one more than every old one. */
export function nextRevision(oldRSs: KubeObject[]): number {
  return maxRevision(oldRSs) + 1;
}

/** The `pod-template-hash` of the Deployment's template (with its collision count). */
export function podTemplateHash(d: KubeObject): string {
  return computeHash(d.spec?.template ?? {}, d.status?.collisionCount);
}

/** A new ReplicaSet for `d`, ready to create. */
export function buildNewReplicaSet(d: KubeObject, oldRSs: KubeObject[]): KubeObject {
  const hash = podTemplateHash(d);
  const template = structuredClone(d.spec?.template ?? {});
  template.metadata = { ...(template.metadata ?? {}) };
  template.metadata.labels = { ...(template.metadata.labels ?? {}), [POD_TEMPLATE_HASH]: hash };
  const selector = structuredClone(d.spec?.selector ?? {});
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
  const rs: KubeObject = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      ownerReferences: [controllerRef(d, "apps/v1", "Deployment")],
      labels: { ...template.metadata.labels },
    },
    spec: {
      replicas: 0,
      minReadySeconds: d.spec?.minReadySeconds ?? 0,
      selector,
      template,
    },
  };
  rs.spec.replicas = newRSNewReplicas(d, [...oldRSs, rs], rs);
  rs.metadata.annotations = newReplicaSetAnnotations(d, rs, nextRevision(oldRSs), false).annotations;
  return rs;
}

/**
 * The existing new ReplicaSet with annotations and `minReadySeconds` brought in line with the
 * Deployment; undefined when it already is.
 */
export function syncedNewReplicaSet(
  d: KubeObject,
  rs: KubeObject,
  oldRSs: KubeObject[],
): KubeObject | undefined {
  const { annotations, changed } = newReplicaSetAnnotations(d, rs, nextRevision(oldRSs), true);
  const minReady = d.spec?.minReadySeconds ?? 0;
  if (!changed && (rs.spec?.minReadySeconds ?? 0) === minReady) return undefined;
  return {
    ...rs,
    metadata: { ...rs.metadata, annotations },
    spec: { ...rs.spec, minReadySeconds: minReady },
  };
}
