/**
 * The root CA certificate publisher (upstream `pkg/controller/certificates/rootcacertpublisher`):
 * every active namespace gets the ConfigMap `kube-root-ca.crt` holding the cluster CA under
 * `ca.crt`, which the token volume of every pod projects next to the service account token. A
 * changed or deleted ConfigMap is put back. Without a CA (a plain-HTTP cluster) it publishes
 * nothing, and pods that mount the token volume find no `ca.crt` to project.
 * @module
 */
import { R } from "../../api/client.ts";
import { isApiError } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { type Controller, type ControllerContext, queueController, WorkQueue } from "../controller.ts";

export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";
export const DESCRIPTION_ANNOTATION = "kubernetes.io/description";
export const DESCRIPTION =
  "Contains a CA bundle that can be used to verify the kube-apiserver when using internal " +
  "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across " +
  "distributions of Kubernetes clusters.";

/** Options of the publisher: the cluster CA in PEM (none: publish nothing). */
export interface RootCACertOptions {
  rootCAPem?: string;
}

/**
 * What to write for one namespace, pure: a ConfigMap to create, an updated one, or null when the
 * current one is right (or the namespace is going away).
 */
export function desiredRootCA(
  namespace: KubeObject | undefined,
  current: KubeObject | undefined,
  caPem: string,
): { create?: KubeObject; update?: KubeObject } | null {
  if (
    !namespace || namespace.metadata.deletionTimestamp || (namespace.status?.phase ?? "Active") !== "Active"
  ) return null;
  const data = { "ca.crt": caPem };
  if (!current) {
    return {
      create: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: ROOT_CA_CONFIGMAP,
          namespace: namespace.metadata.name,
          annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION },
        },
        data,
      },
    };
  }
  const same = current.data?.["ca.crt"] === caPem && Object.keys(current.data ?? {}).length === 1 &&
    current.metadata.annotations?.[DESCRIPTION_ANNOTATION] === DESCRIPTION;
  if (same) return null;
  return {
    update: {
      ...current,
      metadata: {
        ...current.metadata,
        annotations: { ...current.metadata.annotations, [DESCRIPTION_ANNOTATION]: DESCRIPTION },
      },
      data,
      binaryData: undefined,
    },
  };
}

/** The publisher controller. */
export function rootCACertPublisher(ctx: ControllerContext, opts: RootCACertOptions = {}): Controller {
  const caPem = opts.rootCAPem;
  const queue = new WorkQueue<string>();
  if (!caPem) {
    return {
      name: "root-ca-certificate-publisher-controller",
      run: (signal) =>
        new Promise<void>((r) =>
          signal.aborted ? r() : signal.addEventListener("abort", () => r(), { once: true })
        ),
    };
  }
  const namespaces = ctx.informers.get(R.namespaces);
  const configMaps = ctx.informers.get(R.configmaps, { fieldSelector: `metadata.name=${ROOT_CA_CONFIGMAP}` });
  namespaces.addHandler({
    onAdd: (ns) => queue.add(ns.metadata.name!),
    onUpdate: (_, ns) => queue.add(ns.metadata.name!),
  });
  configMaps.addHandler({
    onUpdate: (_, cm) => queue.add(cm.metadata.namespace!),
    onDelete: (cm) => queue.add(cm.metadata.namespace!),
  });

  const reconcile = async (name: string) => {
    const plan = desiredRootCA(
      namespaces.get(undefined, name),
      configMaps.get(name, ROOT_CA_CONFIGMAP),
      caPem,
    );
    try {
      if (plan?.create) await ctx.client.create(R.configmaps, plan.create);
      if (plan?.update) await ctx.client.update(R.configmaps, plan.update);
    } catch (e) {
      // Created meanwhile, stale, or the namespace began terminating: the informers bring the news.
      if (isApiError(e, 409) || isApiError(e, 403) || isApiError(e, 404)) return;
      throw e;
    }
  };
  return queueController(
    "root-ca-certificate-publisher-controller",
    queue,
    reconcile,
    ctx.options.workers ?? 2,
  );
}
