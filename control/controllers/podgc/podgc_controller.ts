/**
 * The pod garbage collector (upstream `pkg/controller/podgc`). Every `gcCheckPeriodMs` it
 * force-deletes (grace period 0, after marking the pod Failed):
 * - terminated pods beyond `terminatedPodThreshold`, evicted ones first, then oldest first;
 * - terminating pods on NotReady nodes tainted `node.kubernetes.io/out-of-service`;
 * - pods bound to nodes that no longer exist, once the node has been missing for the quarantine
 *   time and a live GET confirms it (condition DisruptionTarget, reason DeletionByPodGC);
 * - terminating pods that were never scheduled.
 * @module
 */
import { R } from "../../api/client.ts";
import { isApiError } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { type Controller, type ControllerContext, queueController, WorkQueue } from "../controller.ts";

export interface PodGCOptions {
  /** Terminated pods kept before the oldest are deleted (default 12,500; 0 disables). */
  terminatedPodThreshold?: number;
  /** Time between passes (default 20 s). */
  gcCheckPeriodMs?: number;
  /** How long a node must be missing before its pods are deleted (default 40 s). */
  quarantineMs?: number;
}

/** The out-of-service taint key. */
export const TAINT_OUT_OF_SERVICE = "node.kubernetes.io/out-of-service";

/** A pod condition. */
interface PodCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastProbeTime?: string | null;
}

export function isPodTerminated(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase !== "Pending" && phase !== "Running" && phase !== "Unknown" && phase !== undefined;
}

function isNodeReady(node: KubeObject): boolean {
  return (node.status?.conditions ?? []).some((c: PodCondition) => c.type === "Ready" && c.status === "True");
}

function isEvicted(pod: KubeObject): boolean {
  return pod.status?.phase === "Failed" && pod.status?.reason === "Evicted";
}

/** Evicted pods first, then by creation time, then by name (upstream's `byEvictionAndCreationTimestamp`). */
export function byEvictionAndCreation(a: KubeObject, b: KubeObject): number {
  const ea = isEvicted(a), eb = isEvicted(b);
  if (ea !== eb) return ea ? -1 : 1;
  const ta = Date.parse(a.metadata.creationTimestamp ?? "") || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? "") || 0;
  if (ta !== tb) return ta - tb;
  return (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
}

/** What one pass deletes. */
export interface PodGCPlan {
  terminated: KubeObject[];
  terminatingOutOfService: KubeObject[];
  /** Pods on nodes missing from the cache (to be confirmed after quarantine). */
  missingNodes: Set<string>;
  unscheduledTerminating: KubeObject[];
}

/** Plans a pass from the cached pods and nodes. Pure. */
export function planPodGC(
  pods: KubeObject[],
  nodes: KubeObject[],
  terminatedPodThreshold: number,
): PodGCPlan {
  const byName = new Map(nodes.map((n) => [n.metadata.name!, n]));
  const terminated = pods.filter(isPodTerminated);
  const excess = terminatedPodThreshold > 0 ? terminated.length - terminatedPodThreshold : 0;
  const plan: PodGCPlan = {
    terminated: excess > 0 ? terminated.sort(byEvictionAndCreation).slice(0, excess) : [],
    terminatingOutOfService: [],
    missingNodes: new Set(),
    unscheduledTerminating: [],
  };
  for (const pod of pods) {
    const nodeName: string | undefined = pod.spec?.nodeName;
    if (pod.metadata.deletionTimestamp && nodeName) {
      const node = byName.get(nodeName);
      if (
        node && !isNodeReady(node) &&
        (node.spec?.taints ?? []).some((t: { key: string }) => t.key === TAINT_OUT_OF_SERVICE)
      ) {
        plan.terminatingOutOfService.push(pod);
      }
    }
    if (nodeName && !byName.has(nodeName)) plan.missingNodes.add(nodeName);
    if (pod.metadata.deletionTimestamp && !nodeName) plan.unscheduledTerminating.push(pod);
  }
  return plan;
}

/** The status a pod is given before it is force-deleted: Failed, with the condition if any. */
export function failedStatus(
  pod: KubeObject,
  condition: PodCondition | null,
  now: string,
): Record<string, unknown> {
  const conditions: PodCondition[] = [...(pod.status?.conditions ?? [])];
  if (condition) {
    const i = conditions.findIndex((c) => c.type === condition.type);
    const prev = i >= 0 ? conditions[i] : undefined;
    const next = {
      ...condition,
      lastProbeTime: null,
      lastTransitionTime: prev && prev.status === condition.status ? prev.lastTransitionTime : now,
    };
    if (i >= 0) conditions[i] = next;
    else conditions.push(next);
  }
  return { ...pod.status, phase: "Failed", conditions };
}

function timestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** The pod GC controller. */
export function podGCController(ctx: ControllerContext, opts: PodGCOptions = {}): Controller {
  const { client } = ctx;
  const threshold = opts.terminatedPodThreshold ?? 12_500;
  const period = opts.gcCheckPeriodMs ?? 20_000;
  const quarantine = opts.quarantineMs ?? 40_000;
  const pods = ctx.informers.get(R.pods);
  const nodes = ctx.informers.get(R.nodes);
  const queue = new WorkQueue<string>();
  /** Node name → when it was first seen missing. */
  const missingSince = new Map<string, number>();
  const KEY = "podgc";

  const markFailedAndDelete = async (pod: KubeObject, condition: PodCondition | null) => {
    const ns = pod.metadata.namespace!, name = pod.metadata.name!;
    try {
      if (pod.status?.phase !== "Succeeded" && pod.status?.phase !== "Failed") {
        await client.patch(
          R.pods,
          ns,
          name,
          { status: failedStatus(pod, condition, timestamp(ctx.now())) },
          "merge",
          "status",
        );
      }
      await client.delete(R.pods, ns, name, {
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata.uid },
      });
    } catch (e) {
      if (!isApiError(e, 404) && !isApiError(e, 409)) {
        console.error(`pod-garbage-collector: deleting pod ${ns}/${name}: ${(e as Error).message}`);
      }
    }
  };

  const reconcile = async () => {
    const allPods = pods.list();
    const plan = planPodGC(allPods, nodes.list(), threshold);
    await Promise.all(plan.terminated.map((p) => markFailedAndDelete(p, null)));
    await Promise.all(plan.terminatingOutOfService.map((p) => markFailedAndDelete(p, null)));
    // Orphaned pods: the node must stay missing for the quarantine time, then be confirmed gone.
    const now = ctx.now();
    for (const name of missingSince.keys()) if (!plan.missingNodes.has(name)) missingSince.delete(name);
    const gone = new Set<string>();
    for (const name of plan.missingNodes) {
      const since = missingSince.get(name);
      if (since === undefined) missingSince.set(name, now);
      else if (now - since >= quarantine) {
        try {
          if (!await client.tryGet(R.nodes, "", name)) gone.add(name);
          else missingSince.delete(name);
        } catch (e) {
          console.error(`pod-garbage-collector: checking node ${name}: ${(e as Error).message}`);
        }
      }
    }
    const orphaned = allPods.filter((p) => gone.has(p.spec?.nodeName));
    await Promise.all(orphaned.map((p) =>
      markFailedAndDelete(p, {
        type: "DisruptionTarget",
        status: "True",
        reason: "DeletionByPodGC",
        message: "PodGC: node no longer exists",
      })
    ));
    await Promise.all(plan.unscheduledTerminating.map((p) => markFailedAndDelete(p, null)));
    // Next pass: the period, or sooner when a quarantine ends first.
    let next = period;
    for (const since of missingSince.values()) {
      next = Math.min(next, Math.max(0, since + quarantine - now) + 10);
    }
    return { requeueAfterMs: next };
  };

  queue.add(KEY);
  return queueController("pod-garbage-collector", queue, reconcile, 1);
}
