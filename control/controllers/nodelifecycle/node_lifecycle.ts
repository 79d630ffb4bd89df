/**
 * The node lifecycle controller (upstream `pkg/controller/nodelifecycle`). Every monitor period it
 * looks at every node:
 * - a node whose Ready heartbeat and kube-node-lease Lease have not changed for the grace period
 *   (measured on this controller's clock) gets Ready/MemoryPressure/DiskPressure/PIDPressure
 *   Unknown ("Kubelet stopped posting node status."); a node leaving Ready gets a NodeNotReady
 *   event and its pods are marked not ready;
 * - NoSchedule taints follow the conditions (not-ready, unreachable, pressure, unschedulable);
 * - the `node.kubernetes.io/not-ready` / `unreachable` NoExecute taints follow the Ready condition,
 *   added at a rate-limited pace per zone, paused in partially disrupted small zones, and removed
 *   everywhere when every zone is fully disrupted (the controller then assumes the problem is its
 *   own connectivity). The taint eviction controller evicts pods from NoExecute-tainted nodes.
 * @module
 */
import { type Client, R } from "../../api/client.ts";
import { isApiError } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { type Controller, type ControllerContext, queueController, WorkQueue } from "../controller.ts";
import {
  computeZoneState,
  gracePeriodFor,
  type NodeHealth,
  observeNodeHealth,
  readyCondition,
  TokenBucket,
  unknownConditions,
  zoneKey,
  type ZoneState,
} from "./health.ts";
import { PodsByNode } from "./pods_by_node.ts";
import {
  noExecuteTaintFor,
  type NoExecuteWant,
  noScheduleTaintsFor,
  reconcileTaints,
  type Taint,
} from "./taints.ts";

export interface NodeLifecycleOptions {
  /** Time between passes over all nodes (node-monitor-period, default 5 s). */
  monitorPeriodMs?: number;
  /** Grace for a node that never posted a Ready condition (node-startup-grace-period, default 60 s). */
  startupGracePeriodMs?: number;
  /** Nodes tainted NoExecute per second per zone (node-eviction-rate, default 0.1). */
  evictionRate?: number;
  /** The rate in partially disrupted zones of large clusters (secondary-node-eviction-rate, default 0.01). */
  secondaryEvictionRate?: number;
  /** Clusters up to this size stop tainting in partially disrupted zones (default 50). */
  largeClusterSizeThreshold?: number;
  /** Fraction of not-ready nodes that makes a zone partially disrupted (default 0.55). */
  unhealthyZoneThreshold?: number;
}

/** The namespace of node heartbeat Leases. */
export const NODE_LEASE_NAMESPACE = "kube-node-lease";

function timestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** Runs `fn` over `items` with at most `n` in flight. */
export async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (i < items.length) await fn(items[i++]);
  }));
}

/** Sets a pod's Ready condition to False (upstream `MarkPodsNotReady`); true when it changed. */
async function markPodNotReady(client: Client, pod: KubeObject, now: string): Promise<boolean> {
  let cur: KubeObject | null = pod;
  for (let attempt = 0; attempt < 3 && cur; attempt++) {
    const conditions = (cur.status?.conditions ?? []) as {
      type: string;
      status: string;
      lastTransitionTime?: string;
    }[];
    const i = conditions.findIndex((c) => c.type === "Ready");
    if (i < 0 || conditions[i].status === "False") return false;
    const next = conditions.map((c, j) => (j === i ? { ...c, status: "False", lastTransitionTime: now } : c));
    try {
      await client.updateStatus(R.pods, { ...cur, status: { ...cur.status, conditions: next } });
      return true;
    } catch (e) {
      if (isApiError(e, 404)) return false;
      if (!isApiError(e, 409)) throw e;
      cur = await client.tryGet(R.pods, pod.metadata.namespace!, pod.metadata.name!);
    }
  }
  return false;
}

/** The node lifecycle controller. */
export function nodeLifecycleController(ctx: ControllerContext, opts: NodeLifecycleOptions = {}): Controller {
  const { client } = ctx;
  const period = opts.monitorPeriodMs ?? 5_000;
  const monitorGrace = ctx.options.nodeMonitorGracePeriodMs ?? 50_000;
  const startupGrace = Math.max(opts.startupGracePeriodMs ?? 60_000, monitorGrace);
  const rate = opts.evictionRate ?? 0.1;
  const secondaryRate = opts.secondaryEvictionRate ?? 0.01;
  const largeCluster = opts.largeClusterSizeThreshold ?? 50;
  const unhealthyThreshold = opts.unhealthyZoneThreshold ?? 0.55;
  const recorder = ctx.recorder("node-controller");
  const nodes = ctx.informers.get(R.nodes);
  const leases = ctx.informers.get(R.leases);
  const podsByNode = PodsByNode.of(ctx.informers.get(R.pods));
  const queue = new WorkQueue<string>();
  const KEY = "monitor";
  const health = new Map<string, NodeHealth>();
  const known = new Map<string, KubeObject>();
  const limiters = new Map<string, { qps: number; bucket: TokenBucket }>();
  nodes.addHandler({ onAdd: () => queue.add(KEY), onDelete: () => queue.add(KEY) });

  const nodeEvent = (node: KubeObject, reason: string, text: string) =>
    recorder.event(
      { apiVersion: "v1", kind: "Node", metadata: { name: node.metadata.name, uid: node.metadata.uid } },
      "Normal",
      reason,
      `Node ${node.metadata.name} event: ${text}`,
    );

  const limiter = (zone: string, qps: number, now: number): TokenBucket | null => {
    if (qps <= 0) return null;
    let l = limiters.get(zone);
    if (!l || l.qps !== qps) limiters.set(zone, l = { qps, bucket: new TokenBucket(qps, 1, now) });
    return l.bucket;
  };

  const reconcile = async () => {
    const now = ctx.now();
    const nowIso = timestamp(now);
    const all = nodes.list();
    // Registered / removed nodes.
    const names = new Set(all.map((n) => n.metadata.name!));
    for (const node of all) {
      if (!known.has(node.metadata.name!)) {
        nodeEvent(node, "RegisteredNode", `Registered Node ${node.metadata.name} in Controller`);
      }
      known.set(node.metadata.name!, node);
    }
    for (const [name, node] of known) {
      if (names.has(name)) continue;
      nodeEvent(node, "RemovingNode", `Removing Node ${name} from Controller`);
      known.delete(name);
      health.delete(name);
    }

    // Health: mark silent nodes Unknown.
    const observed: { node: KubeObject; ready: string | undefined; zone: string }[] = [];
    await pool(all, 16, async (node) => {
      const name = node.metadata.name!;
      const lease = leases.get(NODE_LEASE_NAMESPACE, name);
      let h = observeNodeHealth(node, lease, health.get(name), now);
      const before = readyCondition(node);
      let current = node;
      if (now > h.probeTimestamp + gracePeriodFor(node, monitorGrace, startupGrace)) {
        const conditions = unknownConditions(node, nowIso);
        if (conditions) {
          try {
            current = await client.updateStatus(R.nodes, { ...node, status: { ...node.status, conditions } });
            h = { ...h, ready: readyCondition(current), readyTransitionTimestamp: now };
          } catch (e) {
            if (!isApiError(e, 404) && !isApiError(e, 409)) throw e;
          }
        }
      }
      health.set(name, h);
      const after = readyCondition(current);
      if (before?.status === "True" && after?.status !== "True") {
        recorder.event(
          { apiVersion: "v1", kind: "Node", metadata: { name, uid: node.metadata.uid } },
          "Normal",
          "NodeNotReady",
          `Node ${name} status is now: NodeNotReady`,
        );
        for (const pod of podsByNode.pods(name)) {
          if (await markPodNotReady(client, pod, nowIso)) {
            recorder.event(
              { ...pod, apiVersion: "v1", kind: "Pod" },
              "Warning",
              "NodeNotReady",
              "Node is not ready",
            );
          }
        }
      }
      observed.push({ node: current, ready: after?.status, zone: zoneKey(current) });
    });

    // Zone states.
    const zones = new Map<string, (string | undefined)[]>();
    for (const o of observed) {
      const list = zones.get(o.zone) ?? [];
      list.push(o.ready);
      zones.set(o.zone, list);
    }
    const states = new Map<string, ZoneState>();
    for (const [zone, statuses] of zones) states.set(zone, computeZoneState(statuses, unhealthyThreshold));
    const allFullyDisrupted = states.size > 0 && [...states.values()].every((s) => s === "FullDisruption");
    for (const zone of limiters.keys()) if (!states.has(zone)) limiters.delete(zone);

    // Taints.
    await pool(observed, 16, async ({ node, ready, zone }) => {
      const noSchedule = noScheduleTaintsFor(node.status?.conditions, !!node.spec?.unschedulable);
      let want: NoExecuteWant;
      const desired = noExecuteTaintFor(ready);
      if (allFullyDisrupted || !desired) want = { kind: "set", taint: null };
      else if (
        (node.spec?.taints ?? []).some((t: Taint) => t.key === desired.key && t.effect === "NoExecute")
      ) {
        want = { kind: "set", taint: desired };
      } else {
        const state = states.get(zone)!;
        const qps = state === "PartialDisruption" ? (all.length > largeCluster ? secondaryRate : 0) : rate;
        want = limiter(zone, qps, now)?.tryAccept(now) ? { kind: "set", taint: desired } : { kind: "keep" };
        if (want.kind === "keep") queue.addAfter(KEY, Math.min(period, 1000));
      }
      const taints = reconcileTaints(
        node.spec?.taints,
        noSchedule,
        want,
        new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z"),
      );
      if (!taints) return;
      try {
        await client.patch(R.nodes, "", node.metadata.name!, {
          metadata: { resourceVersion: node.metadata.resourceVersion },
          spec: { taints: taints.length ? taints : null },
        });
      } catch (e) {
        if (isApiError(e, 409)) queue.addAfter(KEY, 100);
        else if (!isApiError(e, 404)) throw e;
      }
    });
    return { requeueAfterMs: period };
  };

  queue.add(KEY);
  return queueController("node-lifecycle-controller", queue, reconcile, 1);
}
