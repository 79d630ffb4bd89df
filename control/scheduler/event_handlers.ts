/**
 * Informer events into scheduler state (upstream `eventhandlers.go`): bound pods go to the
 * cache, pending pods this scheduler is responsible for go to the queue, and every cluster change
 * moves the unschedulable pods it may help back to the active queue.
 * @module
 */
import type { EventHandler } from "../api/informer.ts";
import { deepEqual, type KubeObject } from "../api/types.ts";
import type { SchedulerCache } from "./cache.ts";
import type { Nominator } from "./nominator.ts";
import type { SchedulingQueue } from "./queue.ts";
import type { ClusterEvent, NodeView, PodView } from "./types.ts";
import { nodeView } from "./views.ts";

/** The state the handlers feed. */
export interface HandlerTarget {
  cache: SchedulerCache;
  queue: SchedulingQueue;
  nominator: Nominator;
  /** Projects a pod with the current PriorityClasses and RuntimeClasses. */
  view(pod: KubeObject): PodView;
  /** The scheduler names this scheduler serves. */
  schedulerNames: ReadonlySet<string>;
}

const key = (p: KubeObject) => `${p.metadata.namespace ?? ""}/${p.metadata.name}`;

/** Succeeded or Failed: its resources are free. */
export function isTerminal(p: KubeObject): boolean {
  return p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
}

function gated(p: KubeObject): boolean {
  return Array.isArray(p.spec?.schedulingGates) && p.spec.schedulingGates.length > 0;
}

/** Whether this scheduler should schedule the (pending) pod. */
export function responsibleFor(p: KubeObject, names: ReadonlySet<string>): boolean {
  return names.has(p.spec?.schedulerName || "default-scheduler");
}

/** Upstream `isPodUpdated`: anything changed besides status, resourceVersion, generation, managedFields. */
export function podSpecChanged(a: KubeObject, b: KubeObject): boolean {
  const strip = (
    { resourceVersion: _r, generation: _g, managedFields: _m, ...rest }: KubeObject["metadata"],
  ) => rest;
  return !deepEqual(strip(a.metadata), strip(b.metadata)) || !deepEqual(a.spec, b.spec);
}

/** Which cluster events a node change amounts to (upstream `nodeSchedulingPropertiesChange`). */
export function nodeUpdateEvents(a: NodeView, b: NodeView, conditionsChanged = false): ClusterEvent[] {
  const out: ClusterEvent[] = [];
  if (!deepEqual(a.allocatable, b.allocatable)) out.push("NodeAllocatable");
  if (!deepEqual(a.labels, b.labels)) out.push("NodeLabel");
  if (a.unschedulable !== b.unschedulable || !deepEqual(a.taints, b.taints)) out.push("NodeTaint");
  if (!deepEqual(a.runtimeHandlers, b.runtimeHandlers)) out.push("NodeRuntimeHandlers");
  if (conditionsChanged) out.push("NodeCondition");
  return out;
}

/** Pod events. */
export function podHandler(t: HandlerTarget): EventHandler<KubeObject> {
  const pending = (p: KubeObject, old?: KubeObject) => {
    const k = key(p);
    if (isTerminal(p) || gated(p) || !responsibleFor(p, t.schedulerNames)) {
      t.queue.delete(k);
      t.nominator.delete(k);
      return;
    }
    // A pod this scheduler is binding: the binding's outcome decides what happens next.
    if (t.cache.isAssumed(k)) return;
    const v = t.view(p);
    if (old) t.queue.update(k, p, v, podSpecChanged(old, p));
    else t.queue.add(k, p, v);
    t.nominator.set(v, v.nominatedNodeName);
  };
  const assigned = (p: KubeObject, event: ClusterEvent | null) => {
    const k = key(p);
    t.queue.delete(k);
    t.nominator.delete(k);
    if (isTerminal(p)) {
      if (t.cache.nodeOf(k) !== undefined) {
        t.cache.removePod(k);
        t.queue.moveAllToActiveOrBackoff("AssignedPodDelete");
      }
      return;
    }
    t.cache.addPod(t.view(p));
    if (event) t.queue.moveAllToActiveOrBackoff(event);
  };
  return {
    onAdd(p) {
      if (p.spec?.nodeName) assigned(p, "AssignedPodAdd");
      else pending(p);
    },
    onUpdate(old, p) {
      if (!p.spec?.nodeName) pending(p, old);
      else if (!old.spec?.nodeName) assigned(p, "AssignedPodAdd");
      // Only label changes (affinity, spreading) can help a waiting pod; upstream's hints agree.
      else assigned(p, deepEqual(old.metadata.labels, p.metadata.labels) ? null : "AssignedPodUpdate");
    },
    onDelete(p) {
      const k = key(p);
      t.queue.delete(k);
      t.nominator.delete(k);
      if (t.cache.nodeOf(k) !== undefined) {
        t.cache.removePod(k);
        t.queue.moveAllToActiveOrBackoff("AssignedPodDelete");
      }
    },
  };
}

/** Node events. */
export function nodeHandler(t: HandlerTarget): EventHandler<KubeObject> {
  return {
    onAdd(n) {
      t.cache.setNode(nodeView(n));
      t.queue.moveAllToActiveOrBackoff("NodeAdd");
    },
    onUpdate(old, n) {
      const before = t.cache.get(n.metadata.name!)?.node ?? nodeView(old);
      const after = nodeView(n);
      t.cache.setNode(after);
      const events = nodeUpdateEvents(
        before,
        after,
        !deepEqual(old.status?.conditions, n.status?.conditions),
      );
      for (const e of events) t.queue.moveAllToActiveOrBackoff(e);
    },
    onDelete(n) {
      t.cache.removeNode(n.metadata.name!);
      t.queue.moveAllToActiveOrBackoff("NodeDelete");
    },
  };
}

/** Events of a kind that only matter as one cluster event (PriorityClass, RuntimeClass, Namespace). */
export function changeHandler(
  t: HandlerTarget,
  event: ClusterEvent,
  apply: (obj: KubeObject, deleted: boolean) => boolean | void,
): EventHandler<KubeObject> {
  const fire = (obj: KubeObject, deleted: boolean) => {
    if (apply(obj, deleted) !== false) t.queue.moveAllToActiveOrBackoff(event);
  };
  return {
    onAdd: (o) => fire(o, false),
    onUpdate: (_o, n) => fire(n, false),
    onDelete: (o) => fire(o, true),
  };
}
