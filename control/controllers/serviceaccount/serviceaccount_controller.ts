/**
 * The service account controller (upstream `pkg/controller/serviceaccount`): every active
 * namespace has a `default` ServiceAccount; one that is deleted is created again.
 * @module
 */
import { R } from "../../api/client.ts";
import { isApiError } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { type Controller, type ControllerContext, queueController, WorkQueue } from "../controller.ts";

/** The service accounts ensured in every namespace (upstream's `--service-account-names` default). */
export const DEFAULT_SERVICE_ACCOUNTS = ["default"];

/** The ServiceAccounts missing from an active namespace, as objects to create. Pure. */
export function missingServiceAccounts(
  namespace: KubeObject | undefined,
  exists: (name: string) => boolean,
  names: readonly string[] = DEFAULT_SERVICE_ACCOUNTS,
): KubeObject[] {
  if (!namespace || namespace.metadata.deletionTimestamp) return [];
  if ((namespace.status?.phase ?? "Active") !== "Active") return [];
  const ns = namespace.metadata.name!;
  return names.filter((n) => !exists(n)).map((name) => ({
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name, namespace: ns },
  }));
}

/** The service account controller. */
export function serviceAccountController(ctx: ControllerContext): Controller {
  const namespaces = ctx.informers.get(R.namespaces);
  const accounts = ctx.informers.get(R.serviceaccounts);
  const queue = new WorkQueue<string>();
  namespaces.addHandler({
    onAdd: (ns) => queue.add(ns.metadata.name!),
    onUpdate: (_, ns) => queue.add(ns.metadata.name!),
  });
  accounts.addHandler({
    onDelete: (sa) => {
      if (DEFAULT_SERVICE_ACCOUNTS.includes(sa.metadata.name!)) queue.add(sa.metadata.namespace!);
    },
  });

  const reconcile = async (name: string) => {
    const ns = namespaces.get(undefined, name);
    for (const sa of missingServiceAccounts(ns, (n) => !!accounts.get(name, n))) {
      try {
        await ctx.client.create(R.serviceaccounts, sa);
      } catch (e) {
        // Someone else made it, or the namespace began terminating meanwhile.
        if (isApiError(e, 409) || isApiError(e, 403)) continue;
        throw e;
      }
    }
  };

  return queueController("serviceaccount-controller", queue, reconcile, ctx.options.workers ?? 2);
}
