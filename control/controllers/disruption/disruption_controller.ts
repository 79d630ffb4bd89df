/**
 * The disruption controller (upstream pkg/controller/disruption): keeps each
 * PodDisruptionBudget's status (`budget.ts`) current as its pods and their controllers change.
 * `pods/eviction` reads that status and records its evictions in `disruptedPods`.
 * @module
 */
import { R, type ResourceRef } from "../../api/client.ts";
import { isApiError } from "../../api/status.ts";
import { deepEqual, type KubeObject, objectKey } from "../../api/types.ts";
import type { ReconcileResult } from "../../api/workqueue.ts";
import { type Controller, type ControllerContext, queueController, WorkQueue } from "../controller.ts";
import { budgetPods, budgetStatus, DELETION_TIMEOUT_MS } from "./budget.ts";

/** policy/v1 poddisruptionbudgets. */
export const PDBS: ResourceRef = {
  group: "policy",
  version: "v1",
  plural: "poddisruptionbudgets",
  namespaced: true,
};

/** The disruption-controller. */
export function disruptionController(ctx: ControllerContext): Controller {
  const pdbs = ctx.informers.get(PDBS);
  const pods = ctx.informers.get(R.pods);
  const replicaSets = ctx.informers.get(R.replicasets);
  const deployments = ctx.informers.get(R.deployments);
  const statefulSets = ctx.informers.get(R.statefulsets);
  const queue = new WorkQueue<string>();
  const enqueueNamespace = (o: KubeObject) => {
    for (const pdb of pdbs.list(o.metadata.namespace)) queue.add(objectKey(pdb));
  };
  pdbs.addHandler({ onAdd: (o) => queue.add(objectKey(o)), onUpdate: (_, o) => queue.add(objectKey(o)) });
  for (const inf of [pods, replicaSets, deployments, statefulSets]) {
    inf.addHandler({
      onAdd: enqueueNamespace,
      onUpdate: (_, o) => enqueueNamespace(o),
      onDelete: enqueueNamespace,
    });
  }

  /** The scale of the pod's controller: a ReplicaSet's (or its Deployment's), a StatefulSet's. */
  const scaleOf = (pod: KubeObject) => {
    const ns = pod.metadata.namespace;
    const ref = (pod.metadata.ownerReferences ?? []).find((r: { controller?: boolean }) => r.controller);
    if (!ref) return undefined;
    if (ref.kind === "ReplicaSet") {
      const rs = replicaSets.get(ns, ref.name);
      if (!rs) return undefined;
      const owner = (rs.metadata.ownerReferences ?? []).find((r: { controller?: boolean }) => r.controller);
      const d = owner?.kind === "Deployment" ? deployments.get(ns, owner.name) : undefined;
      if (d) return { key: `Deployment/${d.metadata.name}`, replicas: d.spec?.replicas ?? 1 };
      return { key: `ReplicaSet/${rs.metadata.name}`, replicas: rs.spec?.replicas ?? 1 };
    }
    if (ref.kind === "StatefulSet") {
      const ss = statefulSets.get(ns, ref.name);
      return ss ? { key: `StatefulSet/${ss.metadata.name}`, replicas: ss.spec?.replicas ?? 1 } : undefined;
    }
    return undefined;
  };

  const reconcile = async (k: string): Promise<ReconcileResult | void> => {
    const [ns, name] = k.split("/");
    const pdb = pdbs.get(ns, name);
    if (!pdb) return;
    const now = ctx.now();
    const status = budgetStatus(pdb, { pods: budgetPods(pdb, pods.list(ns)), scaleOf, now });
    if (!deepEqual(status, pdb.status)) {
      try {
        await ctx.client.updateStatus(PDBS, { ...pdb, status });
      } catch (e) {
        // Changed meanwhile (an eviction): the informer brings the new version, which requeues it.
        if (isApiError(e, 409) || isApiError(e, 404)) return undefined;
        throw e;
      }
    }
    // An eviction's entry expires: come back then.
    return status.disruptedPods ? { requeueAfterMs: DELETION_TIMEOUT_MS } : undefined;
  };

  return queueController("disruption-controller", queue, reconcile, ctx.options.workers ?? 1);
}
