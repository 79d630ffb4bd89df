/**
 * Deployment and ReplicaSet builders for the Deployment controller's unit tests.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { iso, ref, T0 } from "../workload/testing.ts";

/** The pod template every test Deployment and ReplicaSet uses. */
export const template = (image = "nginx:1") => ({
  metadata: { labels: { app: "web" } },
  spec: { containers: [{ name: "c", image }] },
});

/** A Deployment with `replicas`, RollingUpdate with the given surge/unavailable. */
export function deployment(
  replicas: number,
  o: {
    surge?: number | string;
    unavailable?: number | string;
    extra?: Record<string, unknown>;
    status?: Record<string, unknown>;
    annotations?: Record<string, string>;
  } = {},
): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", uid: "d-uid", generation: 1, annotations: o.annotations },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web" } },
      template: template(),
      strategy: {
        type: "RollingUpdate",
        rollingUpdate: { maxSurge: o.surge ?? "25%", maxUnavailable: o.unavailable ?? "25%" },
      },
      progressDeadlineSeconds: 600,
      revisionHistoryLimit: 10,
      ...o.extra,
    },
    ...(o.status ? { status: o.status } : {}),
  };
}

/** A ReplicaSet of the Deployment with `replicas` and `available` pods. */
export function replicaSet(
  name: string,
  replicas: number,
  available: number,
  o: {
    created?: number;
    revision?: number;
    image?: string;
    annotations?: Record<string, string>;
    statusReplicas?: number;
  } = {},
): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      generation: 1,
      creationTimestamp: iso(o.created ?? T0),
      ownerReferences: [ref("Deployment", "web", "d-uid")],
      annotations: {
        ...(o.revision !== undefined ? { "deployment.kubernetes.io/revision": String(o.revision) } : {}),
        ...o.annotations,
      },
    },
    spec: { replicas, template: template(o.image) },
    status: {
      replicas: o.statusReplicas ?? replicas,
      readyReplicas: available,
      availableReplicas: available,
      observedGeneration: 1,
    },
  };
}
