/**
 * Pods: graceful deletion (the node agent finishes it), and the `binding` subresource the
 * scheduler uses to assign a node.
 * @module
 */
import { ApiError, badRequest, conflict, notFound } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { type RequestContext, requestBody } from "../context.ts";
import { decodeBody } from "../negotiate.ts";
import { deleteOne, deleteOptionsFrom } from "../rest/delete.ts";
import { timestamp } from "../rest/object_meta.ts";
import { list } from "../../store/mod.ts";
import { disruptionAllowedCondition, selectsPod } from "../../controllers/disruption/budget.ts";
import { isPodReady } from "../../controllers/workload/pod_util.ts";
import { render } from "../rest/response.ts";
import type { Strategy } from "../rest/strategy.ts";
import type { ApiServer } from "../server.ts";

const DEFAULT_GRACE_SECONDS = 30;

function isTerminal(pod: KubeObject): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

export const podStrategy: Strategy = {
  async beginDelete(server, pod, opts) {
    // Unscheduled or finished pods go at once, as upstream's `CheckGracefulDelete`.
    let grace = opts.gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
    if (!pod.spec?.nodeName || isTerminal(pod)) grace = 0;
    const current = pod.metadata.deletionGracePeriodSeconds;
    if (pod.metadata.deletionTimestamp && current !== undefined && current <= grace) {
      return { deleted: false, object: pod };
    }
    if (grace === 0) return null;
    if (opts.dryRun) return { deleted: false, object: pod };
    const res = server.podsResource();
    const updated = await server.store.update(res.store, pod.metadata.namespace!, pod.metadata.name!, (p) => {
      p.metadata.deletionTimestamp = timestamp(server.now() + grace * 1000);
      p.metadata.deletionGracePeriodSeconds = grace;
      return p;
    });
    return { deleted: false, object: updated };
  },
};

/** POST pods/{name}/binding: sets spec.nodeName once, atomically, and marks the pod scheduled. */
export async function createBinding(server: ApiServer, ctx: RequestContext): Promise<Response> {
  const bytes = await requestBody(ctx);
  // deno-lint-ignore no-explicit-any
  const binding = decodeBody(ctx.req.headers.get("content-type"), bytes) as any;
  const node = binding?.target?.name;
  if (!node || (binding.target.kind && binding.target.kind !== "Node")) {
    throw badRequest("a Binding needs target.kind Node and target.name");
  }
  const { served, info } = ctx;
  const pre = binding.metadata ?? {};
  await server.store.update(served.store, info.namespace, info.name, (pod) => {
    if (pre.uid && pre.uid !== pod.metadata.uid) throw notFound(served.store.gr, info.name);
    if (pre.resourceVersion && pre.resourceVersion !== pod.metadata.resourceVersion) {
      throw conflict(served.store.gr, info.name, "the object has been modified; please apply your changes to the latest version and try again");
    }
    if (pod.metadata.deletionTimestamp) {
      throw conflict(served.store.gr, info.name, `pod ${info.name} is being deleted, cannot be assigned to a host`);
    }
    if (pod.spec?.nodeName) {
      throw conflict(served.store.gr, info.name, `pod ${info.name} is already assigned to node "${pod.spec.nodeName}"`);
    }
    pod.spec.nodeName = node;
    const conditions = (pod.status ??= {}).conditions ??= [];
    const now = timestamp(server.now());
    const i = conditions.findIndex((c: { type: string }) => c.type === "PodScheduled");
    const scheduled = { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: now };
    if (i >= 0) conditions[i] = scheduled;
    else conditions.push(scheduled);
    return pod;
  });
  return created(ctx);
}

/** The `201` Success Status a subresource's POST answers (binding, eviction). */
function created(ctx: RequestContext): Response {
  return render(ctx, { encoding: ctx.format.encoding, shape: "object" }, 201, () => ({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    code: 201,
  }));
}

/**
 * POST pods/{name}/eviction (a policy/v1 `Eviction`, what `kubectl drain` sends): deletes the pod
 * as a DELETE with the eviction's `deleteOptions` would (graceful, preconditions, dry run), once
 * the pod's PodDisruptionBudget allows it (`checkBudget`).
 */
export async function createEviction(server: ApiServer, ctx: RequestContext): Promise<Response> {
  const bytes = await requestBody(ctx);
  // deno-lint-ignore no-explicit-any
  const eviction = (bytes.length ? decodeBody(ctx.req.headers.get("content-type"), bytes) : {}) as any;
  if (eviction === null || typeof eviction !== "object") {
    throw badRequest("an Eviction must be a JSON object");
  }
  const { info } = ctx;
  if (eviction.metadata?.name && eviction.metadata.name !== info.name) {
    throw badRequest("name in URL does not match name in Eviction object");
  }
  if (eviction.metadata?.namespace && eviction.metadata.namespace !== info.namespace) {
    throw badRequest("namespace in URL does not match namespace in Eviction object");
  }
  const opts = deleteOptionsFrom(eviction.deleteOptions ?? {}, ctx.query);
  const pod = await server.store.get(ctx.served.store, info.namespace, info.name);
  if (!pod) throw notFound(ctx.served.store.gr, info.name);
  await checkBudget(server, pod, opts.dryRun);
  await deleteOne(server, ctx, info.name, info.namespace, opts);
  return created(ctx);
}

const DISRUPTION_BUDGET_CAUSE = "DisruptionBudget";

/**
 * Upstream's eviction checks: a pod that is finished, pending or being deleted goes without one.
 * Otherwise the one PodDisruptionBudget that selects the pod (more than one is a 500) must have
 * caught up with its spec and allow a disruption (else 429 with a `DisruptionBudget` cause); the
 * eviction then takes one (`disruptionsAllowed` − 1) and records the pod in `disruptedPods`, in
 * one write that conflicts with any other. An unready pod needs no disruption while the budget
 * is met (`IfHealthyBudget`) or its policy is `AlwaysAllow`.
 */
async function checkBudget(server: ApiServer, pod: KubeObject, dryRun: boolean): Promise<void> {
  const phase = pod.status?.phase;
  const done = phase === "Succeeded" || phase === "Failed" || phase === "Pending";
  if (done || pod.metadata.deletionTimestamp) return;
  const served = server.registry.lookup("policy", "v1", "poddisruptionbudgets");
  if (!served) return;
  const ns = pod.metadata.namespace!;
  const budgets = (await list(server.store, served.store, { namespace: ns })).items
    .filter((pdb) => selectsPod(pdb, pod));
  if (budgets.length === 0) return;
  if (budgets.length > 1) {
    throw new ApiError({
      code: 500,
      reason: "InternalError",
      message:
        "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
    });
  }
  const name = budgets[0].metadata.name!;
  const tooMany = (cause: string) =>
    new ApiError({
      code: 429,
      reason: "TooManyRequests",
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      details: { causes: [{ reason: DISRUPTION_BUDGET_CAUSE, message: cause }], retryAfterSeconds: 0 },
    });
  await server.store.update(served.store, ns, name, (pdb) => {
    const st = pdb.status ?? {};
    if (!isPodReady(pod)) {
      const met = (st.currentHealthy ?? 0) >= (st.desiredHealthy ?? 0) && (st.desiredHealthy ?? 0) > 0;
      if (met || pdb.spec?.unhealthyPodEvictionPolicy === "AlwaysAllow") throw new BudgetNotNeeded();
    }
    if ((st.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0)) {
      throw tooMany(`The disruption budget ${name} is still being processed by the server.`);
    }
    if ((st.disruptionsAllowed ?? 0) <= 0) {
      throw tooMany(
        `The disruption budget ${name} needs ${st.desiredHealthy ?? 0} healthy pods and has ${
          st.currentHealthy ?? 0
        } currently`,
      );
    }
    if (dryRun) throw new BudgetNotNeeded();
    const allowed = st.disruptionsAllowed - 1;
    const conditions = allowed > 0
      ? st.conditions
      : [disruptionAllowedCondition(allowed, st.conditions, st.observedGeneration, server.now())];
    pdb.status = {
      ...st,
      disruptionsAllowed: allowed,
      disruptedPods: { ...(st.disruptedPods ?? {}), [pod.metadata.name!]: timestamp(server.now()) },
      conditions,
    };
    return pdb;
  }).catch((e) => {
    if (!(e instanceof BudgetNotNeeded)) throw e;
  });
}

/** Thrown out of the budget's update when the eviction takes nothing from it. */
class BudgetNotNeeded extends Error {}
