/**
 * The EndpointSlice controller (upstream `pkg/controller/endpointslice`): keeps the
 * `discovery.k8s.io/v1` EndpointSlices of every Service with a selector, labelled
 * `kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by:
 * endpointslice-controller.k8s.io`, owned by the Service (the garbage collector removes them with
 * it), at most 100 endpoints each, with ready/serving/terminating conditions, named target ports
 * resolved per pod, zones from node labels, and the last change trigger time. ExternalName
 * Services lose their managed slices. Event: FailedToUpdateEndpointSlices.
 * @module
 */
import { R } from "../../api/client.ts";
import { isApiError } from "../../api/status.ts";
import { type KubeObject, objectKey } from "../../api/types.ts";
import { type Controller, type ControllerContext, queueController, WorkQueue } from "../controller.ts";
import type { ReconcileResult } from "../../api/workqueue.ts";
import { podEndpointSignature, serviceSelects } from "../endpoints/pod_endpoints.ts";
import { LAST_CHANGE_TRIGGER_TIME, rfc3339Nano, TriggerTimeTracker } from "../endpoints/trigger_time.ts";
import {
  CONTROLLER_NAME,
  desiredGroups,
  MANAGED_BY_LABEL,
  planSlices,
  SERVICE_NAME_LABEL,
} from "./reconciler.ts";
import { SliceTracker } from "./slice_tracker.ts";

export interface EndpointSliceOptions {
  /** Most endpoints per slice (default 100, upstream's `--max-endpoints-per-slice`). */
  maxEndpointsPerSlice?: number;
}

/** The Service key a managed slice belongs to, or null for slices of others. */
function serviceKeyOf(slice: KubeObject): string | null {
  const l = slice.metadata.labels ?? {};
  if (l[MANAGED_BY_LABEL] !== CONTROLLER_NAME || !l[SERVICE_NAME_LABEL]) return null;
  return `${slice.metadata.namespace}/${l[SERVICE_NAME_LABEL]}`;
}

function withTriggerTime(slice: KubeObject, triggerMs: number): KubeObject {
  const annotations: Record<string, string> = { ...slice.metadata.annotations };
  if (triggerMs) annotations[LAST_CHANGE_TRIGGER_TIME] = rfc3339Nano(triggerMs);
  else delete annotations[LAST_CHANGE_TRIGGER_TIME];
  return { ...slice, metadata: { ...slice.metadata, annotations } };
}

/** The EndpointSlice controller. */
export function endpointSliceController(ctx: ControllerContext, opts: EndpointSliceOptions = {}): Controller {
  const { client } = ctx;
  const max = opts.maxEndpointsPerSlice ?? 100;
  const recorder = ctx.recorder("endpointslice-controller");
  const services = ctx.informers.get(R.services);
  const pods = ctx.informers.get(R.pods);
  const nodes = ctx.informers.get(R.nodes);
  const slices = ctx.informers.get(R.endpointslices);
  const queue = new WorkQueue<string>();
  const triggers = new TriggerTimeTracker();
  const tracker = new SliceTracker();

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
  const sliceEvent = (slice: KubeObject, gone: boolean) => {
    const key = serviceKeyOf(slice);
    if (!key) return;
    tracker.observed(key, slice.metadata.name!, gone ? undefined : slice);
    queue.add(key);
  };
  slices.addHandler({
    onAdd: (s) => sliceEvent(s, false),
    onUpdate: (_, s) => sliceEvent(s, false),
    onDelete: (s) => sliceEvent(s, true),
  });

  const zoneOf = (node: string) =>
    nodes.get(undefined, node)?.metadata.labels?.["topology.kubernetes.io/zone"];

  const reconcile = async (key: string): Promise<ReconcileResult | undefined> => {
    const [namespace, name] = key.split("/");
    const svc = services.get(namespace, name);
    if (!svc) {
      // The garbage collector deletes the slices through their owner reference.
      triggers.delete(namespace, name);
      tracker.forget(key);
      return undefined;
    }
    if (!svc.spec?.selector && svc.spec?.type !== "ExternalName") return undefined;
    if (tracker.stale(key, (n) => slices.get(namespace, n))) return { requeueAfterMs: 50 };
    const existing = slices.list(namespace).filter((s) => serviceKeyOf(s) === key);
    const selected = svc.spec?.type === "ExternalName"
      ? []
      : pods.list(namespace).filter((p) => serviceSelects(svc, p.metadata.labels));
    const trigger = triggers.compute(svc, selected);
    const plan = svc.spec?.type === "ExternalName"
      ? { create: [], update: [], delete: existing }
      : planSlices(svc, existing, desiredGroups(svc, selected, zoneOf), max);
    try {
      for (const s of plan.create) {
        tracker.written(key, await client.create(R.endpointslices, withTriggerTime(s, trigger.time)));
      }
      for (const s of plan.update) {
        tracker.written(key, await client.update(R.endpointslices, withTriggerTime(s, trigger.time)));
      }
      for (const s of plan.delete) {
        try {
          await client.delete(R.endpointslices, namespace, s.metadata.name!, {
            preconditions: { uid: s.metadata.uid },
          });
        } catch (e) {
          if (!isApiError(e, 404)) throw e;
        }
        tracker.deleted(key, s);
      }
      trigger.commit();
    } catch (e) {
      // Creating in a terminating namespace is refused: nothing to do.
      if (isApiError(e, 403) && plan.create.length) return undefined;
      if (!isApiError(e, 409)) {
        recorder.event(
          { ...svc, apiVersion: "v1", kind: "Service" },
          "Warning",
          "FailedToUpdateEndpointSlices",
          `Error updating Endpoint Slices for Service ${key}: ${(e as Error).message}`,
        );
      }
      throw e;
    }
    return undefined;
  };

  return queueController("endpointslice-controller", queue, reconcile, ctx.options.workers ?? 4);
}
