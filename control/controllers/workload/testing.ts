/**
 * Object builders for the workload controllers' unit tests: pods in a phase, ready since a time,
 * on a node, owned by something.
 * @module
 */
import type { KubeObject, OwnerReference } from "../../api/types.ts";

/** A fixed clock for tests: 2025-01-01T00:00:00Z. */
export const T0 = Date.UTC(2025, 0, 1);

export const iso = (ms: number): string => new Date(ms).toISOString().replace(".000Z", "Z");

export interface PodOptions {
  phase?: string;
  node?: string;
  /** Ready since this time (ms); omit for not ready. */
  readySince?: number;
  created?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  owner?: OwnerReference;
  restarts?: number;
  deleting?: boolean;
  uid?: string;
  finalizers?: string[];
  namespace?: string;
}

let counter = 0;

/** A pod named `name` with the given state. */
export function pod(name: string, o: PodOptions = {}): KubeObject {
  const conditions = o.readySince !== undefined
    ? [{ type: "Ready", status: "True", lastTransitionTime: iso(o.readySince) }]
    : [{ type: "Ready", status: "False" }];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: o.namespace ?? "default",
      uid: o.uid ?? `uid-${name}-${++counter}`,
      resourceVersion: "1",
      creationTimestamp: iso(o.created ?? T0),
      labels: o.labels ?? { app: "web" },
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(o.owner ? { ownerReferences: [o.owner] } : {}),
      ...(o.deleting ? { deletionTimestamp: iso(T0) } : {}),
      ...(o.finalizers ? { finalizers: o.finalizers } : {}),
    },
    spec: { ...(o.node ? { nodeName: o.node } : {}), containers: [{ name: "c", image: "nginx" }] },
    status: {
      phase: o.phase ?? (o.readySince !== undefined ? "Running" : "Pending"),
      conditions,
      containerStatuses: [{ name: "c", restartCount: o.restarts ?? 0 }],
    },
  };
}

/** A controller reference to `kind` `name` with `uid`. */
export function ref(kind: string, name: string, uid: string, apiVersion = "apps/v1"): OwnerReference {
  return { apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true };
}
