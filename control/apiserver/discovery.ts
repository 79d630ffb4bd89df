/**
 * API discovery: aggregated discovery (`apidiscovery.k8s.io/v2`, what kubectl 1.32 asks for first)
 * and the legacy documents (`APIVersions`, `APIGroupList`, `APIResourceList`), all generated from the
 * resource registry.
 * @module
 */
import type { ResourceDef } from "../api/resource.ts";
import type { ResourceRegistry, Served } from "./resources.ts";

export const ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

interface SubresourceInfo {
  verbs: string[];
  kind?: { group: string; version: string; kind: string };
}

/** Verbs and response kinds of the subresources we know. */
function subresourceInfo(def: ResourceDef, name: string): SubresourceInfo {
  const self = { group: def.group, version: def.version, kind: def.kind };
  switch (name) {
    case "status":
      return { verbs: ["get", "patch", "update"], kind: self };
    case "scale":
      return { verbs: ["get", "patch", "update"], kind: { group: "autoscaling", version: "v1", kind: "Scale" } };
    case "binding":
      return { verbs: ["create"], kind: { group: "", version: "v1", kind: "Binding" } };
    case "eviction":
      return { verbs: ["create"], kind: { group: "policy", version: "v1", kind: "Eviction" } };
    case "token":
      return { verbs: ["create"], kind: { group: "authentication.k8s.io", version: "v1", kind: "TokenRequest" } };
    case "log":
      return { verbs: ["get"], kind: { group: "", version: "v1", kind: "Pod" } };
    case "exec":
    case "attach":
    case "portforward":
      return { verbs: ["create", "get"], kind: { group: "", version: "v1", kind: "PodExecOptions" } };
    case "proxy":
      return { verbs: ["create", "delete", "get", "patch", "update"], kind: { group: "", version: "v1", kind: "NodeProxyOptions" } };
    case "finalize":
      return { verbs: ["update"], kind: self };
    case "ephemeralcontainers":
      return { verbs: ["get", "patch", "update"], kind: self };
    default:
      return { verbs: ["get"] };
  }
}

export function subresourceNames(def: ResourceDef): string[] {
  const out: string[] = [];
  if (def.subresources?.status) out.push("status");
  if (def.subresources?.scale) out.push("scale");
  out.push(...(def.subresources?.other ?? []));
  return out;
}

function discoveryResource(s: Served) {
  const d = s.def;
  return {
    resource: d.plural,
    responseKind: { group: d.group, version: d.version, kind: d.kind },
    scope: d.namespaced ? "Namespaced" : "Cluster",
    singularResource: d.singular,
    verbs: d.verbs ?? ALL_VERBS,
    ...(d.shortNames?.length ? { shortNames: d.shortNames } : {}),
    ...(d.categories?.length ? { categories: d.categories } : {}),
    ...(subresourceNames(d).length
      ? {
        subresources: subresourceNames(d).map((name) => {
          const info = subresourceInfo(d, name);
          return { subresource: name, ...(info.kind ? { responseKind: info.kind } : {}), verbs: info.verbs };
        }),
      }
      : {}),
  };
}

function groupDiscovery(registry: ResourceRegistry, group: string) {
  return {
    metadata: { name: group, creationTimestamp: null },
    versions: registry.versions(group).map((version) => ({
      version,
      resources: registry.all()
        .filter((s) => s.def.group === group && s.def.version === version)
        .sort((a, b) => a.def.plural.localeCompare(b.def.plural))
        .map(discoveryResource),
      freshness: "Current",
    })),
  };
}

/** The aggregated discovery document for `/api` (core only) or `/apis` (every named group). */
export function aggregatedDiscovery(registry: ResourceRegistry, core: boolean, apiVersion = "apidiscovery.k8s.io/v2") {
  const groups = registry.groups().filter((g) => (core ? g === "" : g !== ""));
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion,
    metadata: {},
    items: groups.map((g) => groupDiscovery(registry, g)),
  };
}

/** Which aggregated-discovery version an Accept header asks for, if any. */
export function wantsAggregated(accept: string | null): "v2" | "v2beta1" | null {
  if (!accept) return null;
  for (const part of accept.split(",")) {
    const p = part.toLowerCase().replaceAll(" ", "");
    if (!p.includes("as=apigroupdiscoverylist") || !p.includes("g=apidiscovery.k8s.io")) continue;
    if (p.includes("v=v2beta1")) return "v2beta1";
    if (p.includes("v=v2")) return "v2";
  }
  return null;
}

export function aggregatedContentType(v: "v2" | "v2beta1"): string {
  return `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`;
}

/** Legacy `/api`. */
export function apiVersions(serverAddress: string) {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function apiGroup(registry: ResourceRegistry, group: string) {
  const versions = registry.versions(group).map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions, preferredVersion: versions[0] };
}

/** Legacy `/apis`. */
export function apiGroupList(registry: ResourceRegistry) {
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: registry.groups().filter((g) => g !== "").map((g) => apiGroup(registry, g)),
  };
}

/** Legacy `/apis/{group}`. */
export function apiGroupDocument(registry: ResourceRegistry, group: string) {
  return { kind: "APIGroup", apiVersion: "v1", ...apiGroup(registry, group) };
}

/** Legacy `/api/v1` or `/apis/{group}/{version}`. */
export function apiResourceList(registry: ResourceRegistry, group: string, version: string) {
  const resources: unknown[] = [];
  for (const s of registry.all().filter((s) => s.def.group === group && s.def.version === version)) {
    const d = s.def;
    resources.push({
      name: d.plural,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: d.verbs ?? ALL_VERBS,
      ...(d.shortNames?.length ? { shortNames: d.shortNames } : {}),
      ...(d.categories?.length ? { categories: d.categories } : {}),
    });
    for (const name of subresourceNames(d)) {
      const info = subresourceInfo(d, name);
      resources.push({
        name: `${d.plural}/${name}`,
        singularName: "",
        namespaced: d.namespaced,
        ...(info.kind?.group !== d.group && info.kind ? { group: info.kind.group, version: info.kind.version } : {}),
        kind: info.kind?.kind ?? d.kind,
        verbs: info.verbs,
      });
    }
  }
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: group ? `${group}/${version}` : version, resources };
}
