/**
 * DaemonSet and Node builders for the DaemonSet controller's unit tests.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { pod, ref, T0 } from "../workload/testing.ts";
import { pinToNode } from "./eligibility.ts";

/** A DaemonSet `agent` selecting `app=agent`. */
export function daemonSet(
  o: { spec?: Record<string, unknown>; strategy?: Record<string, unknown>; minReady?: number } = {},
): KubeObject {
  return {
    metadata: { name: "agent", namespace: "default", uid: "ds-uid", generation: 3 },
    spec: {
      selector: { matchLabels: { app: "agent" } },
      template: {
        metadata: { labels: { app: "agent" } },
        spec: { containers: [{ name: "c", image: "agent" }], ...o.spec },
      },
      updateStrategy: o.strategy ??
        { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      minReadySeconds: o.minReady ?? 0,
    },
  };
}

/** A Node with labels and taints. */
export function node(
  name: string,
  o: { labels?: Record<string, string>; taints?: unknown[]; unschedulable?: boolean } = {},
): KubeObject {
  return {
    metadata: { name, labels: o.labels ?? {} },
    spec: { taints: o.taints ?? [], unschedulable: o.unschedulable },
  };
}

/** A daemon pod on `nodeName` at revision `hash`. */
export function daemonPod(
  name: string,
  nodeName: string,
  hash: string,
  o: { ready?: boolean; phase?: string; created?: number; bound?: boolean } = {},
): KubeObject {
  const p = pod(name, {
    labels: { app: "agent", "controller-revision-hash": hash },
    owner: ref("DaemonSet", "agent", "ds-uid"),
    readySince: o.ready ? T0 - 60_000 : undefined,
    phase: o.phase,
    created: o.created,
    node: o.bound === false ? undefined : nodeName,
  });
  p.spec.affinity = pinToNode(undefined, nodeName);
  return p;
}
