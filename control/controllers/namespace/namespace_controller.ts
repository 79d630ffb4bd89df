/**
 * The namespace controller (upstream `pkg/controller/namespace`): empties a Terminating namespace
 * and then removes the `kubernetes` finalizer through the `finalize` subresource, which lets the
 * API server remove the namespace.
 *
 * Each pass discovers the namespaced resources that support delete, deletes each collection (or
 * each item when deletecollection is not served) with Background propagation, lists what is left,
 * and records the NamespaceDeletion* conditions on the namespace status. While something remains
 * the namespace is checked again (after the pods' grace period estimate, the 15 s finalizer
 * estimate, or at most `pollMs`).
 * @module
 */
import { type Client, R, resourcePath } from "../../api/client.ts";
import { isApiError } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { type Controller, type ControllerContext, queueController, WorkQueue } from "../controller.ts";
import type { ReconcileResult } from "../../api/workqueue.ts";
import { type ApiResource, discoverResources, supports } from "../garbagecollector/discovery.ts";
import {
  type DeletionReport,
  estimatePodTermination,
  failureConditions,
  FINALIZER_ESTIMATE_SECONDS,
  type PodLike,
  updateConditions,
} from "./conditions.ts";

/** The finalizer the namespace controller owns in `spec.finalizers`. */
export const FINALIZER_KUBERNETES = "kubernetes";

export interface NamespaceControllerOptions {
  /** Longest wait before checking a namespace with content left again (default 2 s). */
  pollMs?: number;
}

function timestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** `pods.` / `deployments.apps`: how upstream names a resource in condition messages. */
function grName(r: ApiResource): string {
  return `${r.plural}.${r.group}`;
}

interface PassResult {
  report: DeletionReport;
  /** Seconds until the remaining content is expected to be gone (0: nothing expected). */
  estimate: number;
}

/** Deletes everything in `namespace`; reports what is left. */
async function deleteAllContent(
  client: Client,
  namespace: string,
  deletedAtMs: number,
  nowMs: number,
): Promise<PassResult> {
  const report: DeletionReport = { contentErrors: [], remaining: new Map(), finalizers: new Map() };
  let resources: ApiResource[] = [];
  try {
    const d = await discoverResources(client);
    resources = d.resources;
    if (d.failed) {
      report.discoveryError =
        `Discovery failed for some groups, ${d.failed.groups.size} failing: ${d.failed.message}`;
    }
  } catch (e) {
    report.discoveryError = (e as Error).message;
    return { report, estimate: 0 };
  }
  let estimate = 0;
  for (const r of resources.filter((r) => r.namespaced && supports(r, "delete"))) {
    try {
      if (r.plural === "pods" && r.group === "") {
        const pods = await client.list(r, namespace);
        estimate = Math.max(estimate, estimatePodTermination(pods.items as PodLike[], deletedAtMs, nowMs));
      }
      if (supports(r, "deletecollection")) {
        const res = await client.request(
          "DELETE",
          resourcePath(r, namespace),
          { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background" },
        );
        await res.body?.cancel();
      } else if (supports(r, "list")) {
        for (const item of (await client.list(r, namespace)).items) {
          try {
            await client.delete(r, namespace, item.metadata.name!, { propagationPolicy: "Background" });
          } catch (e) {
            if (!isApiError(e, 404) && !isApiError(e, 405)) throw e;
          }
        }
      }
      if (!supports(r, "list")) continue;
      const left = (await client.list(r, namespace)).items;
      if (!left.length) continue;
      report.remaining.set(grName(r), left.length);
      let withFinalizers = false;
      for (const item of left) {
        for (const f of item.metadata.finalizers ?? []) {
          withFinalizers = true;
          report.finalizers.set(f, (report.finalizers.get(f) ?? 0) + 1);
        }
      }
      if (withFinalizers) estimate = Math.max(estimate, FINALIZER_ESTIMATE_SECONDS);
      else if (estimate === 0 && !left.every((i) => i.metadata.deletionTimestamp)) {
        throw new Error(
          `unexpected items still remain in namespace: ${namespace} for gvr: ${r.group}/${r.version}, Resource=${r.plural}`,
        );
      } else if (estimate === 0) estimate = 1; // terminating without a grace estimate: check again soon
    } catch (e) {
      report.contentErrors.push((e as Error).message);
    }
  }
  return { report, estimate };
}

/** The namespace controller. */
export function namespaceController(
  ctx: ControllerContext,
  opts: NamespaceControllerOptions = {},
): Controller {
  const { client } = ctx;
  const pollMs = opts.pollMs ?? 2_000;
  const namespaces = ctx.informers.get(R.namespaces);
  const queue = new WorkQueue<string>();
  const enqueue = (ns: KubeObject) => {
    if (ns.metadata.deletionTimestamp) queue.add(ns.metadata.name!);
  };
  namespaces.addHandler({ onAdd: enqueue, onUpdate: (_, ns) => enqueue(ns) });

  const reconcile = async (name: string): Promise<ReconcileResult | undefined> => {
    if (!namespaces.get(undefined, name)?.metadata.deletionTimestamp) return undefined;
    // Several writers touch a terminating namespace: work from its latest state.
    let ns = await client.tryGet(R.namespaces, "", name);
    if (!ns?.metadata.deletionTimestamp) return undefined;
    if (ns.status?.phase !== "Terminating") {
      ns = await client.updateStatus(R.namespaces, { ...ns, status: { ...ns.status, phase: "Terminating" } });
    }
    if (!(ns.spec?.finalizers ?? []).length) return undefined;
    const now = ctx.now();
    const { report, estimate } = await deleteAllContent(
      client,
      name,
      Date.parse(ns.metadata.deletionTimestamp!),
      now,
    );
    const stamp = timestamp(now);
    const { conditions, changed } = updateConditions(
      ns.status?.conditions,
      failureConditions(report, stamp),
      stamp,
    );
    if (changed) {
      try {
        ns = await client.updateStatus(R.namespaces, { ...ns, status: { ...ns.status, conditions } });
      } catch (e) {
        if (isApiError(e, 404)) return undefined;
        if (!isApiError(e, 409)) throw e;
      }
    }
    if (report.discoveryError || report.contentErrors.length) {
      throw new Error(report.contentErrors[0] ?? report.discoveryError);
    }
    if (estimate > 0) return { requeueAfterMs: Math.min(estimate * 1000, pollMs) };
    // Everything is gone: remove our finalizer.
    const finalizers = (ns.spec?.finalizers ?? []).filter((f: string) => f !== FINALIZER_KUBERNETES);
    try {
      await client.update(R.namespaces, { ...ns, spec: { ...ns.spec, finalizers } }, "finalize");
    } catch (e) {
      if (!isApiError(e, 404)) throw e;
    }
    return undefined;
  };

  return queueController("namespace-controller", queue, reconcile, ctx.options.workers ?? 2);
}
