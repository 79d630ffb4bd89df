/**
 * The built-in resource registry: one {@link ResourceDef} per served kind, with upstream's
 * discovery names, defaulting, validation, kubectl tables and selectable fields.
 *
 * @example
 * ```ts
 * const pods = builtinResources().find((d) => d.group === "" && d.plural === "pods")!;
 * pods.table!.cells(pod, Date.now()); // ["web-0", "1/1", "Running", "0", "5m", ...]
 * ```
 * @module
 */
import type { ResourceDef } from "../../api/resource.ts";
import { customResourceDefinitions } from "./apiextensions.ts";
import { appsResources } from "./apps.ts";
import { authorizationResources } from "./authorization.ts";
import { authenticationResources } from "./authentication.ts";
import { batchResources } from "./batch.ts";
import { namespaces, nodes } from "./core_cluster.ts";
import { configMaps, secrets, serviceAccounts } from "./core_config.ts";
import { endpoints } from "./core_endpoints.ts";
import { coreEvents } from "./core_events.ts";
import { pods, podTemplates } from "./core_pods.ts";
import { limitRanges, resourceQuotas } from "./core_quota.ts";
import { services } from "./core_service.ts";
import { persistentVolumeClaims, persistentVolumes } from "./core_storage.ts";
import { leases } from "./coordination.ts";
import { endpointSlices } from "./discovery.ts";
import { eventsV1 } from "./events.ts";
import { networkingResources } from "./networking.ts";
import { runtimeClasses } from "./node.ts";
import { plugins } from "./plugins.ts";
import { rbacResources } from "./rbac.ts";
import { podDisruptionBudgets } from "./policy.ts";
import { priorityClasses } from "./scheduling.ts";
import { storageResources } from "./storage.ts";

export { humanDuration } from "./duration.ts";

/** core/v1 resources. */
export const coreResources: ResourceDef[] = [
  namespaces,
  pods,
  nodes,
  services,
  endpoints,
  configMaps,
  secrets,
  serviceAccounts,
  coreEvents,
  resourceQuotas,
  limitRanges,
  persistentVolumes,
  persistentVolumeClaims,
  podTemplates,
];

/** Every built-in resource, core group first. Definitions are shared: do not mutate them. */
export function builtinResources(): ResourceDef[] {
  return [
    ...coreResources,
    ...appsResources,
    ...authenticationResources,
    ...batchResources,
    leases,
    runtimeClasses,
    endpointSlices,
    ...networkingResources,
    eventsV1,
    podDisruptionBudgets,
    priorityClasses,
    ...storageResources,
    customResourceDefinitions,
    ...rbacResources,
    ...authorizationResources,
    plugins,
  ];
}
