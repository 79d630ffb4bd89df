/**
 * The built-in admission steps after NamespaceLifecycle, in upstream's order: LimitRanger and
 * ServiceAccount (mutating, then validating), PodSecurity, and ResourceQuota last (upstream
 * requires it last, so that no later step refuses a request whose usage was already charged).
 *
 * The steps read LimitRanges, ServiceAccounts, namespaces, RuntimeClasses and quotas through
 * watch-fed caches (as upstream's listers; they start on first use and stop with the server's
 * watch hub), or with `fresh: true` straight from the store. Quota charges always read the store.
 *
 * @example
 * ```ts
 * const server = new ApiServer({ kv });
 * server.admission.push(...builtinAdmission(server));
 * ```
 * @module
 */
import type { AdmissionPlugin } from "../context.ts";
import type { ApiServer } from "../server.ts";
import { limitRanger } from "./limit_ranger.ts";
import { type ObjectReader, storeReader } from "./lookup.ts";
import { ObjectCache } from "./object_cache.ts";
import { podSecurity, type PodSecurityOptions } from "./pod_security/mod.ts";
import { resourceQuota, type ResourceQuotaOptions } from "./resource_quota.ts";
import { serviceAccountAdmission, type ServiceAccountOptions } from "./service_account.ts";

/** Tuning of the built-in admission steps. */
export interface BuiltinAdmissionOptions {
  /** Leave these steps out, by name (`LimitRanger`, `ServiceAccount`, `PodSecurity`, `ResourceQuota`). */
  disable?: string[];
  /** Read the store on every request instead of watch-fed caches (slower; never lags a write). */
  fresh?: boolean;
  serviceAccount?: ServiceAccountOptions;
  podSecurity?: PodSecurityOptions;
  resourceQuota?: ResourceQuotaOptions;
}

/** The built-in admission plugins of `server`, in upstream order. */
export function builtinAdmission(
  server: Pick<ApiServer, "store" | "hub" | "resource">,
  opts: BuiltinAdmissionOptions = {},
): AdmissionPlugin[] {
  const res = (group: string, version: string, plural: string) => {
    const served = server.resource(group, version, plural);
    if (!served) throw new Error(`the API server does not serve ${plural}; admission needs it`);
    return served.store;
  };
  const reader = (group: string, version: string, plural: string): ObjectReader =>
    opts.fresh
      ? storeReader(server.store, res(group, version, plural))
      : new ObjectCache(server.store, server.hub, res(group, version, plural));
  const plugins: AdmissionPlugin[] = [
    limitRanger(reader("", "v1", "limitranges")),
    serviceAccountAdmission(reader("", "v1", "serviceaccounts"), opts.serviceAccount),
    podSecurity({
      namespaces: reader("", "v1", "namespaces"),
      // Pods are listed only when a namespace's enforce level is tightened: read them fresh.
      pods: storeReader(server.store, res("", "v1", "pods")),
      runtimeClasses: reader("node.k8s.io", "v1", "runtimeclasses"),
    }, opts.podSecurity),
    resourceQuota(server.store, res("", "v1", "resourcequotas"), {
      quotas: reader("", "v1", "resourcequotas"),
      ...opts.resourceQuota,
    }),
  ];
  return plugins.filter((p) => !opts.disable?.includes(p.name));
}
