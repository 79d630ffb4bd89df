/**
 * The Endpoints controller (upstream `pkg/controller/endpoint`): keeps one `v1/Endpoints` per
 * Service with a selector, from the pods the selector matches (their IPs, readiness, and target
 * ports resolved per pod), labelled like the Service (plus `service.kubernetes.io/headless` for
 * headless ones) and annotated with the last change trigger time. Services without a selector and
 * ExternalName Services are left alone; the Endpoints of a deleted Service are deleted.
 * Events: FailedToCreateEndpoint, FailedToUpdateEndpoint.
 * @module
 */
import { R } from "../../api/client.ts";
import { isApiError } from "../../api/status.ts";
import { deepEqual, type KubeObject, objectKey } from "../../api/types.ts";
import type { ReconcileResult } from "../../api/workqueue.ts";
import { type Controller, type ControllerContext, queueController, WorkQueue } from "../controller.ts";
import { isHeadless, podEndpointSignature, serviceSelects } from "./pod_endpoints.ts";
import { buildSubsets, OVER_CAPACITY } from "./subsets.ts";
import { LAST_CHANGE_TRIGGER_TIME, rfc3339Nano, TriggerTimeTracker } from "./trigger_time.ts";

/** The label marking the endpoints of a headless Service. */
export const HEADLESS_LABEL = "service.kubernetes.io/headless";

/** The Endpoints object a Service should have, given the current one (for annotations). Pure. */
export function desiredEndpoints(
  svc: KubeObject,
  pods: KubeObject[],
  current: KubeObject | undefined,
  triggerTimeMs: number,
): KubeObject {
  const { subsets, truncated } = buildSubsets(svc, pods);
  const labels: Record<string, string> = { ...svc.metadata.labels };
  if (isHeadless(svc)) labels[HEADLESS_LABEL] = "";
  else delete labels[HEADLESS_LABEL];
  const annotations: Record<string, string> = { ...current?.metadata.annotations };
  if (triggerTimeMs) annotations[LAST_CHANGE_TRIGGER_TIME] = rfc3339Nano(triggerTimeMs);
  else delete annotations[LAST_CHANGE_TRIGGER_TIME];
  if (truncated) annotations[OVER_CAPACITY] = "truncated";
  else delete annotations[OVER_CAPACITY];
  return {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: {
      ...(current ? { ...current.metadata } : {}),
      name: svc.metadata.name,
      namespace: svc.metadata.namespace,
      labels,
      annotations,
    },
    subsets,
  };
}

/** Whether the Endpoints already say what `desired` says (subsets, labels, capacity annotation). */
export function endpointsUpToDate(current: KubeObject, desired: KubeObject): boolean {
  return deepEqual(current.subsets ?? [], desired.subsets ?? []) &&
    deepEqual(current.metadata.labels ?? {}, desired.metadata.labels ?? {}) &&
    current.metadata.annotations?.[OVER_CAPACITY] === desired.metadata.annotations?.[OVER_CAPACITY];
}

/** The Endpoints controller. */
export function endpointsController(ctx: ControllerContext): Controller {
  const { client } = ctx;
  const recorder = ctx.recorder("endpoint-controller");
  const services = ctx.informers.get(R.services);
  const pods = ctx.informers.get(R.pods);
  const endpoints = ctx.informers.get(R.endpoints);
  const queue = new WorkQueue<string>();
  const tracker = new TriggerTimeTracker();

  const enqueueForPod = (pod: KubeObject, old?: KubeObject) => {
    for (const svc of services.list(pod.metadata.namespace)) {
      if (serviceSelects(svc, pod.metadata.labels) || (old && serviceSelects(svc, old.metadata.labels))) {
        queue.add(objectKey(svc));
      }
    }
  };
  services.addHandler({
    onAdd: (s) => queue.add(objectKey(s)),
    onUpdate: (_, s) => queue.add(objectKey(s)),
    onDelete: (s) => queue.add(objectKey(s)),
  });
  pods.addHandler({
    onAdd: (p) => enqueueForPod(p),
    onUpdate: (old, p) => {
      if (podEndpointSignature(old) !== podEndpointSignature(p)) enqueueForPod(p, old);
    },
    onDelete: (p) => enqueueForPod(p),
  });
  endpoints.addHandler({
    onUpdate: (_, e) => queue.add(objectKey(e)),
    onDelete: (e) => queue.add(objectKey(e)),
  });

  const reconcile = async (key: string): Promise<ReconcileResult | undefined> => {
    const [namespace, name] = key.split("/");
    const svc = services.get(namespace, name);
    if (!svc) {
      tracker.delete(namespace, name);
      try {
        await client.delete(R.endpoints, namespace, name);
      } catch (e) {
        if (!isApiError(e, 404)) throw e;
      }
      return undefined;
    }
    if (!svc.spec?.selector || svc.spec?.type === "ExternalName") return undefined;
    const selected = pods.list(namespace).filter((p) => serviceSelects(svc, p.metadata.labels));
    const trigger = tracker.compute(svc, selected);
    const current = endpoints.get(namespace, name);
    const desired = desiredEndpoints(svc, selected, current, trigger.time);
    if (current && endpointsUpToDate(current, desired)) {
      trigger.commit();
      return undefined;
    }
    try {
      if (current) await client.update(R.endpoints, desired);
      else {
        delete desired.metadata.resourceVersion;
        await client.create(R.endpoints, desired);
      }
      trigger.commit();
    } catch (e) {
      // Creating in a terminating namespace is refused: nothing to do.
      if (!current && isApiError(e, 403)) return undefined;
      if (isApiError(e, 409)) return { requeueAfterMs: 100 }; // a stale cache: retry once the informer caught up
      recorder.event(
        { ...svc, apiVersion: "v1", kind: "Service" },
        "Warning",
        current ? "FailedToUpdateEndpoint" : "FailedToCreateEndpoint",
        current
          ? `Failed to update endpoint ${key}: ${(e as Error).message}`
          : `Failed to create endpoint for service ${key}: ${(e as Error).message}`,
      );
      throw e;
    }
    return undefined;
  };

  return queueController("endpoint-controller", queue, reconcile, ctx.options.workers ?? 4);
}
