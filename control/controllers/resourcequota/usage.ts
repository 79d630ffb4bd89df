/**
 * What an object charges to a ResourceQuota: upstream's quota evaluators
 * (`pkg/quota/v1/evaluator/core` and `generic`). Pods charge `pods`, `count/pods` and compute
 * resources (`requests.cpu`, `limits.memory`, ...); Services charge `services`,
 * `services.loadbalancers` and `services.nodeports`; PVCs charge `persistentvolumeclaims`,
 * `requests.storage` and the per-StorageClass names; every other kind charges
 * `count/<resource>.<group>` (core: `count/<resource>`, plus the legacy `configmaps`, `secrets`,
 * `resourcequotas`). Quota scopes (Terminating, NotTerminating, BestEffort, NotBestEffort,
 * PriorityClass, CrossNamespacePodAffinity) select pods; a scoped quota matches no other kind.
 * Pure: the admission plugin and the quota controller share it.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import type { KubeObject } from "../../api/types.ts";
import { podQOSClass } from "../../apiserver/registry/pod_defaults.ts";
import {
  addQuantities,
  compareQuantities,
  formatQuantity,
  parseQuantity,
  type Quantity,
} from "../../apiserver/registry/quantity.ts";
import type { ResourceList } from "./resource_list.ts";

/** A resource by group and plural (core group `""`). */
export interface GroupResource {
  group: string;
  resource: string;
}

/** How one kind is charged. */
export interface Evaluator {
  /** The names of `hard` this kind consumes. */
  matchingResources(hard: readonly string[]): string[];
  /** What one object consumes (every name it may charge, zeros included). */
  usage(obj: KubeObject, now: number): ResourceList;
  /** Whether the operation can change usage (upstream `Handles`). */
  handles(operation: string): boolean;
  /** Whether the object falls under every scope of the quota. */
  matchesScopes(quota: KubeObject, obj: KubeObject): boolean;
  /** Upstream `Constraints`: an error text when the object must declare a required resource. */
  constraints(required: readonly string[], obj: KubeObject): string | null;
}

/** The object-count name of a resource: `count/pods`, `count/deployments.apps`. */
export function objectCountName(gr: GroupResource): string {
  return gr.group ? `count/${gr.resource}.${gr.group}` : `count/${gr.resource}`;
}

/** Scope selector requirements of a quota: `spec.scopes` as Exists, plus `spec.scopeSelector`. */
export function quotaScopes(quota: KubeObject): { scopeName: string; operator: string; values?: string[] }[] {
  const out: { scopeName: string; operator: string; values?: string[] }[] = [];
  for (const s of quota.spec?.scopes ?? []) out.push({ scopeName: s, operator: "Exists" });
  for (const e of quota.spec?.scopeSelector?.matchExpressions ?? []) out.push(e);
  return out;
}

const one = "1";
const sumInto = (into: Record<string, Quantity>, list: Record<string, unknown> | undefined) => {
  for (const [k, v] of Object.entries(list ?? {})) {
    const q = parseQuantity(v);
    if (!q) continue;
    into[k] = into[k] ? addQuantities(into[k], q) : q;
  }
};
const maxInto = (into: Record<string, Quantity>, list: Record<string, Quantity>) => {
  for (const [k, q] of Object.entries(list)) if (!into[k] || compareQuantities(q, into[k]) > 0) into[k] = q;
};

/**
 * The pod's effective requests or limits (upstream `resourcehelper.PodRequests`/`PodLimits`):
 * the sum over containers and sidecars, at least the largest init container, plus overhead.
 */
export function podResources(spec: any, field: "requests" | "limits"): Record<string, Quantity> {
  const total: Record<string, Quantity> = {};
  for (const c of spec?.containers ?? []) sumInto(total, c?.resources?.[field]);
  const sidecars: Record<string, Quantity> = {};
  const init: Record<string, Quantity> = {};
  for (const c of spec?.initContainers ?? []) {
    const own = c?.resources?.[field];
    if (c?.restartPolicy === "Always") {
      sumInto(total, own);
      sumInto(sidecars, own);
      maxInto(init, { ...sidecars });
    } else {
      const tmp: Record<string, Quantity> = {};
      sumInto(tmp, own);
      for (const [k, q] of Object.entries(sidecars)) tmp[k] = tmp[k] ? addQuantities(tmp[k], q) : q;
      maxInto(init, tmp);
    }
  }
  maxInto(total, init);
  // Overhead adds to every request, but only to limits that are set (upstream).
  const overhead: Record<string, unknown> = { ...spec?.overhead };
  if (field === "limits") { for (const k of Object.keys(overhead)) if (!total[k]) delete overhead[k]; }
  sumInto(total, overhead);
  return total;
}

const isExtended = (name: string) =>
  name.includes("/") && !name.includes("kubernetes.io/") && !name.startsWith("requests.");
const POD_RESOURCES = new Set([
  "count/pods",
  "pods",
  "cpu",
  "memory",
  "ephemeral-storage",
  "requests.cpu",
  "requests.memory",
  "requests.ephemeral-storage",
  "limits.cpu",
  "limits.memory",
  "limits.ephemeral-storage",
]);
/** The names whose absence on a container upstream refuses (`must specify ...`). */
const POD_VALIDATION = ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "cpu", "memory"];

/** Upstream `podComputeUsageHelper`: compute usage from effective requests and limits. */
function computeUsage(requests: Record<string, Quantity>, limits: Record<string, Quantity>): ResourceList {
  const out: ResourceList = { pods: one };
  for (const r of ["cpu", "memory", "ephemeral-storage"]) {
    if (requests[r]) out[r] = out[`requests.${r}`] = formatQuantity(requests[r]);
    if (limits[r]) out[`limits.${r}`] = formatQuantity(limits[r]);
  }
  for (const [name, q] of Object.entries(requests)) {
    if (name.startsWith("hugepages-")) out[name] = out[`requests.${name}`] = formatQuantity(q);
    if (isExtended(name)) out[`requests.${name}`] = formatQuantity(q);
  }
  return out;
}

/** Upstream `QuotaV1Pod`: terminal pods, and pods past their deletion grace, are not charged. */
export function podIsCharged(pod: KubeObject, now: number): boolean {
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return false;
  const ts = pod.metadata.deletionTimestamp;
  const grace = pod.metadata.deletionGracePeriodSeconds;
  if (ts && typeof grace === "number" && now > Date.parse(ts) + grace * 1000) return false;
  return true;
}

function podMatchesScope(
  scope: { scopeName: string; operator: string; values?: string[] },
  pod: KubeObject,
): boolean {
  const spec = pod.spec ?? {};
  const terminating = typeof spec.activeDeadlineSeconds === "number" && spec.activeDeadlineSeconds >= 0;
  switch (scope.scopeName) {
    case "Terminating":
      return terminating;
    case "NotTerminating":
      return !terminating;
    case "BestEffort":
      return podQOSClass(spec) === "BestEffort";
    case "NotBestEffort":
      return podQOSClass(spec) !== "BestEffort";
    case "PriorityClass": {
      const name: string = spec.priorityClassName ?? "";
      switch (scope.operator) {
        case "Exists":
          return name !== "";
        case "DoesNotExist":
          return name === "";
        case "In":
          return (scope.values ?? []).includes(name);
        case "NotIn":
          return !(scope.values ?? []).includes(name);
      }
      return false;
    }
    case "CrossNamespacePodAffinity": {
      const terms = [
        ...(spec.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
        ...(spec.affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((w: any) =>
          w?.podAffinityTerm
        ),
        ...(spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
        ...(spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((
          w: any,
        ) => w?.podAffinityTerm),
      ];
      return terms.some((t: any) => (t?.namespaces?.length ?? 0) > 0 || t?.namespaceSelector != null);
    }
  }
  return false;
}

/** The pod evaluator (upstream `podEvaluator`). */
export const podEvaluator: Evaluator = {
  matchingResources: (hard) =>
    hard.filter((n) =>
      POD_RESOURCES.has(n) || n.startsWith("hugepages-") || n.startsWith("requests.hugepages-") ||
      (n.startsWith("requests.") && isExtended(n.slice("requests.".length)))
    ),
  usage(pod, now) {
    const out: ResourceList = { "count/pods": one };
    if (!podIsCharged(pod, now)) return out;
    return { ...out, ...computeUsage(podResources(pod.spec, "requests"), podResources(pod.spec, "limits")) };
  },
  // Pod resources cannot change after creation here (no in-place resize).
  handles: (op) => op === "CREATE",
  matchesScopes: (quota, pod) => quotaScopes(quota).every((s) => podMatchesScope(s, pod)),
  constraints(required, pod) {
    const wanted = POD_VALIDATION.filter((n) => required.includes(n));
    if (!wanted.length) return null;
    const missing = new Map<string, Set<string>>();
    for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
      const have = Object.keys(computeUsage(own(c?.resources?.requests), own(c?.resources?.limits)));
      for (const n of wanted) {
        if (!have.includes(n)) missing.set(n, (missing.get(n) ?? new Set()).add(String(c?.name ?? "")));
      }
    }
    if (!missing.size) return null;
    const parts = [...missing.keys()].sort().map((n) => `${n} for: ${[...missing.get(n)!].sort().join(",")}`);
    return `must specify ${parts.join("; ")}`;
  },
};

function own(list: Record<string, unknown> | undefined): Record<string, Quantity> {
  const out: Record<string, Quantity> = {};
  sumInto(out, list);
  return out;
}

const noScopes = (quota: KubeObject) => quotaScopes(quota).length === 0;

/** The Service evaluator: `services`, `services.loadbalancers`, `services.nodeports`. */
export const serviceEvaluator: Evaluator = {
  matchingResources: (hard) =>
    hard.filter((n) =>
      ["count/services", "services", "services.loadbalancers", "services.nodeports"].includes(n)
    ),
  usage(svc) {
    const out: ResourceList = {
      "count/services": one,
      services: one,
      "services.loadbalancers": "0",
      "services.nodeports": "0",
    };
    const ports: any[] = svc.spec?.ports ?? [];
    if (svc.spec?.type === "NodePort") out["services.nodeports"] = String(ports.length);
    if (svc.spec?.type === "LoadBalancer") {
      out["services.loadbalancers"] = one;
      const allocate = svc.spec?.allocateLoadBalancerNodePorts !== false;
      out["services.nodeports"] = String(allocate ? ports.length : ports.filter((p) => p?.nodePort).length);
    }
    return out;
  },
  handles: (op) => op === "CREATE" || op === "UPDATE",
  matchesScopes: noScopes,
  constraints: () => null,
};

const STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/";

/** The PVC evaluator: claims and `requests.storage`, in total and per StorageClass. */
export const pvcEvaluator: Evaluator = {
  matchingResources: (hard) =>
    hard.filter((n) =>
      ["count/persistentvolumeclaims", "persistentvolumeclaims", "requests.storage"].includes(n) ||
      n.endsWith(`${STORAGE_CLASS_SUFFIX}requests.storage`) ||
      n.endsWith(`${STORAGE_CLASS_SUFFIX}persistentvolumeclaims`)
    ),
  usage(pvc) {
    const out: ResourceList = { "count/persistentvolumeclaims": one, persistentvolumeclaims: one };
    const cls: string = pvc.spec?.storageClassName ??
      pvc.metadata.annotations?.["volume.beta.kubernetes.io/storage-class"] ?? "";
    if (cls) out[`${cls}${STORAGE_CLASS_SUFFIX}persistentvolumeclaims`] = one;
    let storage = parseQuantity(pvc.spec?.resources?.requests?.storage);
    const allocated = parseQuantity(pvc.status?.allocatedResources?.storage);
    if (allocated && (!storage || compareQuantities(allocated, storage) > 0)) storage = allocated;
    if (storage) {
      out["requests.storage"] = formatQuantity(storage);
      if (cls) out[`${cls}${STORAGE_CLASS_SUFFIX}requests.storage`] = formatQuantity(storage);
    }
    return out;
  },
  handles: (op) => op === "CREATE" || op === "UPDATE",
  matchesScopes: noScopes,
  constraints: () => null,
};

/** Object counts only: `count/<resource>.<group>`, plus the legacy name of a few core kinds. */
export function objectCountEvaluator(gr: GroupResource): Evaluator {
  const names = [objectCountName(gr)];
  if (
    !gr.group && ["configmaps", "secrets", "resourcequotas", "replicationcontrollers"].includes(gr.resource)
  ) {
    names.push(gr.resource);
  }
  return {
    matchingResources: (hard) => hard.filter((n) => names.includes(n)),
    usage: () => Object.fromEntries(names.map((n) => [n, one])),
    handles: (op) => op === "CREATE",
    matchesScopes: noScopes,
    constraints: () => null,
  };
}

/** The evaluator of a resource. */
export function evaluatorFor(gr: GroupResource): Evaluator {
  if (!gr.group && gr.resource === "pods") return podEvaluator;
  if (!gr.group && gr.resource === "services") return serviceEvaluator;
  if (!gr.group && gr.resource === "persistentvolumeclaims") return pvcEvaluator;
  return objectCountEvaluator(gr);
}

/** Parses a `count/<resource>[.<group>]` name into the resource it counts. */
export function countedResource(name: string): GroupResource | null {
  if (!name.startsWith("count/")) return null;
  const rest = name.slice("count/".length);
  const dot = rest.indexOf(".");
  return dot < 0
    ? { group: "", resource: rest }
    : { group: rest.slice(dot + 1), resource: rest.slice(0, dot) };
}

/** The resources whose objects a quota's hard names are computed from (for the controller). */
export function resourcesOfQuota(hard: readonly string[]): GroupResource[] {
  const out = new Map<string, GroupResource>();
  const put = (gr: GroupResource) => out.set(`${gr.resource}.${gr.group}`, gr);
  if (podEvaluator.matchingResources(hard).length) put({ group: "", resource: "pods" });
  if (serviceEvaluator.matchingResources(hard).length) put({ group: "", resource: "services" });
  if (pvcEvaluator.matchingResources(hard).length) put({ group: "", resource: "persistentvolumeclaims" });
  for (const n of hard) {
    const counted = countedResource(n);
    if (counted) put(counted);
    else if (["configmaps", "secrets", "resourcequotas", "replicationcontrollers"].includes(n)) {
      put({ group: "", resource: n });
    }
  }
  return [...out.values()];
}
