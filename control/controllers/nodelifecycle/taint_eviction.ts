/**
 * The taint eviction controller (upstream `pkg/controller/tainteviction`): deletes pods from nodes
 * with NoExecute taints they do not tolerate, at once, or after the shortest `tolerationSeconds`
 * of the tolerations they use. Evictions are scheduled from when this controller first saw the
 * pod on the tainted node, and cancelled when the taints go away, the pod leaves, or it tolerates
 * them forever. Events: TaintManagerEviction ("Marking for deletion Pod ns/name", "Cancelling
 * deletion of Pod ns/name"); the pod gets the DisruptionTarget condition (DeletionByTaintManager).
 *
 * As upstream, the pod's own tolerations decide: the 300 s not-ready/unreachable tolerations
 * most pods carry come from the API server's DefaultTolerationSeconds admission step
 * (`--default-not-ready-toleration-seconds`, `--default-unreachable-toleration-seconds`); a pod
 * created without them (that step bypassed) is evicted at once.
 * @module
 */
import { R } from "../../api/client.ts";
import { isApiError } from "../../api/status.ts";
import { type KubeObject, objectKey } from "../../api/types.ts";
import { type Controller, type ControllerContext, queueController, WorkQueue } from "../controller.ts";
import { PodsByNode } from "./pods_by_node.ts";
import {
  matchingTolerations,
  minTolerationMs,
  noExecute,
  type Taint,
  type Toleration,
} from "./taints.ts";

/** What to do with one pod now. */
export type EvictionDecision =
  | { action: "cancel" }
  | { action: "evict" }
  | { action: "wait"; startMs: number; untilMs: number };

/**
 * Decides for a pod on a node with `taints` (its NoExecute taints). `scheduledStartMs` is when an
 * eviction was first scheduled for it, if one is. Pure.
 */
export function decideEviction(
  tolerations: Toleration[],
  taints: Taint[],
  scheduledStartMs: number | undefined,
  nowMs: number,
): EvictionDecision {
  if (!taints.length) return { action: "cancel" };
  const { all, used } = matchingTolerations(taints, tolerations);
  if (!all) return { action: "evict" };
  const min = minTolerationMs(used);
  if (min < 0) return { action: "cancel" };
  const start = scheduledStartMs ?? nowMs;
  const until = start + min;
  return nowMs >= until ? { action: "evict" } : { action: "wait", startMs: start, untilMs: until };
}

/** The DisruptionTarget condition an evicted pod gets. */
export function disruptionCondition(pod: KubeObject, now: string): Record<string, unknown>[] | null {
  const conditions = [...(pod.status?.conditions ?? [])] as Record<string, unknown>[];
  const i = conditions.findIndex((c) => c.type === "DisruptionTarget");
  const next = {
    type: "DisruptionTarget",
    status: "True",
    reason: "DeletionByTaintManager",
    message: "Taint manager: deleting due to NoExecute taint",
    lastProbeTime: null,
    lastTransitionTime: i >= 0 && conditions[i].status === "True" ? conditions[i].lastTransitionTime : now,
  };
  if (i >= 0 && conditions[i].status === "True" && conditions[i].reason === next.reason) return null;
  if (i >= 0) conditions[i] = next;
  else conditions.push(next);
  return conditions;
}

function timestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

function noExecKey(node: KubeObject | undefined): string {
  return JSON.stringify(noExecute(node?.spec?.taints).map((t) => [t.key, t.value ?? "", t.effect]));
}

/** The taint eviction controller. */
export function taintEvictionController(ctx: ControllerContext): Controller {
  const { client } = ctx;
  const recorder = ctx.recorder("taint-eviction-controller");
  const nodes = ctx.informers.get(R.nodes);
  const pods = ctx.informers.get(R.pods);
  const queue = new WorkQueue<string>();
  /** Pod key → when its eviction was scheduled. */
  const scheduled = new Map<string, number>();
  const podsByNode = PodsByNode.of(pods);

  pods.addHandler({
    onAdd: (p) => {
      if (p.spec?.nodeName) queue.add(objectKey(p));
    },
    onUpdate: (old, p) => {
      if (
        old.spec?.nodeName !== p.spec?.nodeName ||
        JSON.stringify(old.spec?.tolerations) !== JSON.stringify(p.spec?.tolerations)
      ) {
        queue.add(objectKey(p));
      }
    },
    onDelete: (p) => queue.add(objectKey(p)),
  });
  const nodeChanged = (old: KubeObject | undefined, node: KubeObject) => {
    if (old && noExecKey(old) === noExecKey(node)) return;
    for (const key of podsByNode.keys(node.metadata.name!)) queue.add(key);
  };
  nodes.addHandler({
    onAdd: (n) => nodeChanged(undefined, n),
    onUpdate: nodeChanged,
    onDelete: (n) => nodeChanged(undefined, n),
  });

  const podRef = (key: string) => {
    const [namespace, name] = key.split("/");
    return { apiVersion: "v1", kind: "Pod", metadata: { namespace, name } };
  };

  const cancel = (key: string) => {
    if (!scheduled.delete(key)) return;
    recorder.event(podRef(key), "Normal", "TaintManagerEviction", `Cancelling deletion of Pod ${key}`);
  };

  const evict = async (key: string, pod: KubeObject) => {
    scheduled.delete(key);
    recorder.event(podRef(key), "Normal", "TaintManagerEviction", `Marking for deletion Pod ${key}`);
    const ns = pod.metadata.namespace!, name = pod.metadata.name!;
    try {
      const live = await client.tryGet(R.pods, ns, name);
      if (!live || live.metadata.uid !== pod.metadata.uid) return;
      const conditions = disruptionCondition(live, timestamp(ctx.now()));
      if (conditions) await client.updateStatus(R.pods, { ...live, status: { ...live.status, conditions } });
      await client.delete(R.pods, ns, name, { preconditions: { uid: pod.metadata.uid } });
    } catch (e) {
      if (!isApiError(e, 404)) throw e;
    }
  };

  const reconcile = async (key: string) => {
    const pod = pods.getByKey(key);
    const nodeName: string | undefined = pod?.spec?.nodeName;
    if (!pod || !nodeName) return cancel(key);
    if (pod.metadata.deletionTimestamp) return void scheduled.delete(key);
    const node = nodes.get(undefined, nodeName);
    const taints = noExecute(node?.spec?.taints);
    const now = ctx.now();
    const decision = decideEviction(pod.spec?.tolerations ?? [], taints, scheduled.get(key), now);
    switch (decision.action) {
      case "cancel":
        return cancel(key);
      case "evict":
        return await evict(key, pod);
      case "wait":
        scheduled.set(key, decision.startMs);
        return { requeueAfterMs: decision.untilMs - now };
    }
  };

  return queueController("taint-eviction-controller", queue, reconcile, ctx.options.workers ?? 8);
}
