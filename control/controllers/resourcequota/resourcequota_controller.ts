/**
 * The resource quota controller (upstream `pkg/controller/resourcequota`): sets each quota's
 * `status.hard` from `spec.hard` and recalculates `status.used` from the objects that exist. It
 * runs when a quota is created or its spec changes, when a charged object is deleted or a pod
 * reaches a terminal phase (replenishment), and every `resyncPeriodMs` for every quota, which
 * also releases charges that admission made for objects that then failed to be stored.
 *
 * Usage is computed from fresh lists (not informer caches), and the status is written with the
 * resourceVersion the quota was read at, so a charge made by admission meanwhile makes the write
 * conflict and the quota is recalculated.
 * @module
 */
import { R, type ResourceRef } from "../../api/client.ts";
import { isApiError } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import type { ReconcileResult } from "../../api/workqueue.ts";
import { type Controller, type ControllerContext, queueController, WorkQueue } from "../controller.ts";
import { add, canonical, equals, mask, type ResourceList } from "./resource_list.ts";
import { evaluatorFor, type GroupResource, resourcesOfQuota } from "./usage.ts";

/** Options of the quota controller (upstream `--resource-quota-sync-period`, default 5 minutes). */
export interface ResourceQuotaControllerOptions {
  resyncPeriodMs?: number;
}

const grKey = (gr: GroupResource) => (gr.group ? `${gr.resource}.${gr.group}` : gr.resource);

/**
 * Upstream `CalculateUsage`, pure: the quota's used value of every hard name, from the current
 * objects of each resource it counts (keyed `resource` or `resource.group`).
 */
export function calculateUsage(
  quota: KubeObject,
  objects: Map<string, KubeObject[]>,
  now: number,
): ResourceList {
  const hardNames = Object.keys(canonical(quota.spec?.hard));
  let used: ResourceList = {};
  for (const gr of resourcesOfQuota(hardNames)) {
    const ev = evaluatorFor(gr);
    const names = ev.matchingResources(hardNames);
    for (const obj of objects.get(grKey(gr)) ?? []) {
      if (!ev.matchesScopes(quota, obj)) continue;
      used = add(used, mask(ev.usage(obj, now), names));
    }
  }
  for (const n of hardNames) used[n] ??= "0";
  return mask(used, hardNames);
}

/** Whether a quota's status already says what `spec.hard` and `used` say. */
export function statusCurrent(quota: KubeObject, used: ResourceList): boolean {
  return equals(canonical(quota.status?.hard), canonical(quota.spec?.hard)) &&
    equals(canonical(quota.status?.used), used);
}

/** The resource quota controller. */
export function resourceQuotaController(
  ctx: ControllerContext,
  opts: ResourceQuotaControllerOptions = {},
): Controller {
  const quotas = ctx.informers.get(R.resourcequotas);
  const queue = new WorkQueue<string>();
  const enqueue = (q: KubeObject) => queue.add(`${q.metadata.namespace}/${q.metadata.name}`);
  const enqueueNamespace = (ns: string | undefined) => {
    for (const q of quotas.list(ns)) enqueue(q);
  };
  quotas.addHandler({
    onAdd: enqueue,
    onUpdate: (old, q) => {
      if (!equals(canonical(old.spec?.hard), canonical(q.spec?.hard)) || !statusCurrentShape(q)) enqueue(q);
    },
  });
  // Replenishment: deletions give back usage; a pod that finished stops charging compute.
  const replenish = (ref: ResourceRef) =>
    ctx.informers.get(ref).addHandler({ onDelete: (obj) => enqueueNamespace(obj.metadata.namespace) });
  for (const ref of [R.services, R.persistentvolumeclaims, R.configmaps, R.secrets]) replenish(ref);
  ctx.informers.get(R.pods).addHandler({
    onDelete: (pod) => enqueueNamespace(pod.metadata.namespace),
    onUpdate: (old, pod) => {
      const terminal = (p: KubeObject) => ["Succeeded", "Failed"].includes(p.status?.phase);
      if (
        (!terminal(old) && terminal(pod)) ||
        (!old.metadata.deletionTimestamp && pod.metadata.deletionTimestamp)
      ) {
        enqueueNamespace(pod.metadata.namespace);
      }
    },
  });

  const versions = new Map<string, string>();
  const refOf = async (gr: GroupResource): Promise<ResourceRef | null> => {
    if (!gr.group) return { group: "", version: "v1", plural: gr.resource, namespaced: true };
    let version = versions.get(gr.group);
    if (!version) {
      try {
        const res = await ctx.client.request("GET", `/apis/${gr.group}`);
        version = (await res.json())?.preferredVersion?.version as string | undefined;
      } catch (e) {
        if (isApiError(e, 404)) return null;
        throw e;
      }
      if (!version) return null;
      versions.set(gr.group, version);
    }
    return { group: gr.group, version, plural: gr.resource, namespaced: true };
  };

  const reconcile = async (key: string): Promise<ReconcileResult | void> => {
    const [ns, name] = key.split("/");
    const quota = quotas.get(ns, name);
    if (!quota) return;
    const hardNames = Object.keys(canonical(quota.spec?.hard));
    const objects = new Map<string, KubeObject[]>();
    for (const gr of resourcesOfQuota(hardNames)) {
      const ref = await refOf(gr);
      if (!ref) continue; // a resource nobody serves counts zero
      try {
        objects.set(grKey(gr), (await ctx.client.list(ref, ns)).items);
      } catch (e) {
        if (!isApiError(e, 404)) throw e;
      }
    }
    const used = calculateUsage(quota, objects, ctx.now());
    if (statusCurrent(quota, used)) return;
    try {
      await ctx.client.updateStatus(R.resourcequotas, {
        ...quota,
        status: { hard: canonical(quota.spec?.hard), used },
      });
    } catch (e) {
      // A charge (or another writer) changed the quota: the informer brings the new version.
      if (isApiError(e, 409)) return { requeueAfterMs: 50 };
      if (isApiError(e, 404)) return;
      throw e;
    }
  };

  const inner = queueController("resourcequota-controller", queue, reconcile, ctx.options.workers ?? 2);
  return {
    name: inner.name,
    async run(signal) {
      const period = opts.resyncPeriodMs ?? 5 * 60_000;
      const timer = period > 0 ? setInterval(() => enqueueNamespace(undefined), period) : undefined;
      try {
        await inner.run(signal);
      } finally {
        clearInterval(timer);
      }
    },
  };
}

/** A quota the controller has not yet given a status for every hard name. */
function statusCurrentShape(q: KubeObject): boolean {
  const hard = Object.keys(canonical(q.spec?.hard));
  const used = q.status?.used ?? {};
  return equals(canonical(q.status?.hard), canonical(q.spec?.hard)) && hard.every((n) => n in used);
}
