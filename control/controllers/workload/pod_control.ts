/**
 * Creating and deleting a controller's pods, as upstream's `controller.RealPodControl`: pods are
 * built from the template (`GetPodFromTemplate`) and every outcome is recorded as an Event on the
 * owner (`SuccessfulCreate`, `FailedCreate`, `SuccessfulDelete`, `FailedDelete`).
 * @module
 */
import { type Client, R } from "../../api/client.ts";
import type { EventRecorder } from "../../api/events.ts";
import { type ApiError, isApiError } from "../../api/status.ts";
import type { KubeObject, OwnerReference } from "../../api/types.ts";

/** The template fields a pod is made from. */
export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; finalizers?: string[] };
  // deno-lint-ignore no-explicit-any
  spec?: any;
}

/** Upstream `getPodsPrefix`: `<name>-`, used as `generateName`. */
export function podsPrefix(controllerName: string): string {
  const prefix = `${controllerName}-`;
  return prefix.length <= 253 - 5 ? prefix : controllerName;
}

/** Upstream `GetPodFromTemplate`: a pod with the template's labels, annotations, finalizers and spec. */
export function podFromTemplate(
  template: PodTemplate,
  parent: KubeObject,
  ref: OwnerReference | undefined,
  generateName = podsPrefix(parent.metadata.name!),
): KubeObject {
  const meta = template.metadata ?? {};
  const pod: KubeObject = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName,
      namespace: parent.metadata.namespace,
      labels: { ...(meta.labels ?? {}) },
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ...(meta.finalizers?.length ? { finalizers: [...meta.finalizers] } : {}),
      ...(ref ? { ownerReferences: [ref] } : {}),
    },
    spec: structuredClone(template.spec ?? {}),
  };
  return pod;
}

/** An object with `kind` and `apiVersion` set (list items may lack them; events need them). */
export function withKind<T extends KubeObject>(obj: T, apiVersion: string, kind: string): T {
  return obj.kind === kind && obj.apiVersion === apiVersion ? obj : { ...obj, apiVersion, kind };
}

function message(e: unknown): string {
  return (e as ApiError)?.message ?? String(e);
}

/** Whether the error says the namespace is terminating (creates there all fail; upstream ignores them). */
export function isNamespaceTerminating(e: unknown): boolean {
  return isApiError(e) && !!e.status.details?.causes?.some((c) => c.reason === "NamespaceTerminating");
}

/** Creates `pod` for `owner`; records SuccessfulCreate or FailedCreate on the owner. */
export async function createPod(
  client: Client,
  recorder: EventRecorder,
  owner: KubeObject,
  pod: KubeObject,
): Promise<KubeObject> {
  if (!pod.metadata.labels || Object.keys(pod.metadata.labels).length === 0) {
    throw new Error("unable to create pods, no labels");
  }
  try {
    const created = await client.create(R.pods, pod);
    recorder.event(owner, "Normal", "SuccessfulCreate", `Created pod: ${created.metadata.name}`);
    return created;
  } catch (e) {
    if (!isNamespaceTerminating(e)) {
      recorder.event(owner, "Warning", "FailedCreate", `Error creating: ${message(e)}`);
    }
    throw e;
  }
}

/** Deletes `pod`; records SuccessfulDelete or FailedDelete on the owner. A 404 is rethrown without an event. */
export async function deletePod(
  client: Client,
  recorder: EventRecorder,
  owner: KubeObject,
  pod: KubeObject,
): Promise<void> {
  try {
    await client.delete(R.pods, pod.metadata.namespace!, pod.metadata.name!);
  } catch (e) {
    if (!isApiError(e, 404)) {
      recorder.event(owner, "Warning", "FailedDelete", `Error deleting: ${message(e)}`);
    }
    throw e;
  }
  recorder.event(owner, "Normal", "SuccessfulDelete", `Deleted pod: ${pod.metadata.name}`);
}
