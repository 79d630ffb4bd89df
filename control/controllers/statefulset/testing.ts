/**
 * StatefulSet builders for the StatefulSet controller's unit tests.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { pod, ref, T0 } from "../workload/testing.ts";
import { type RevisionInfo } from "./plan.ts";

/** A StatefulSet `web` selecting `app=web`. */
export function statefulSet(
  replicas: number,
  o: { policy?: string; partition?: number; claims?: boolean; status?: Record<string, unknown> } = {},
): KubeObject {
  return {
    metadata: { name: "web", namespace: "default", uid: "ss-uid", generation: 2 },
    spec: {
      replicas,
      serviceName: "web",
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "c", image: "nginx" }] },
      },
      podManagementPolicy: o.policy ?? "OrderedReady",
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: o.partition ?? 0 } },
      ...(o.claims
        ? { volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"] } }] }
        : {}),
    },
    ...(o.status ? { status: o.status } : {}),
  };
}

/** Revision info where both sets are `set` and only the names differ. */
export const revs = (set: KubeObject, current = "web-r1", update = "web-r1"): RevisionInfo => ({
  currentName: current,
  updateName: update,
  currentSet: set,
  updateSet: set,
});

/** A created pod `web-<ordinal>` at `revision`. */
export function member(
  ordinal: number,
  o: { ready?: boolean; phase?: string; revision?: string; deleting?: boolean } = {},
): KubeObject {
  const name = `web-${ordinal}`;
  return pod(name, {
    labels: {
      app: "web",
      "controller-revision-hash": o.revision ?? "web-r1",
      "statefulset.kubernetes.io/pod-name": name,
      "apps.kubernetes.io/pod-index": String(ordinal),
    },
    owner: ref("StatefulSet", "web", "ss-uid"),
    readySince: o.ready === false ? undefined : T0 - 60_000,
    phase: o.phase ?? (o.ready === false ? "Pending" : "Running"),
    deleting: o.deleting,
  });
}
