/**
 * The EndpointSlice plan for one Service, pure (upstream `pkg/controller/endpointslice` and
 * `staging/.../endpointslice/reconciler.go`, simplified): endpoints are grouped by address type and
 * resolved port set; existing slices of a group keep the endpoints that are still wanted (updated
 * in place), new endpoints fill the slices with room and then new slices of at most
 * `maxEndpointsPerSlice`; slices left empty, or of groups no longer wanted, are deleted. A Service
 * with no endpoints keeps one empty placeholder slice.
 * @module
 */
import { deepEqual, type KubeObject } from "../../api/types.ts";
import {
  addressTypeOf,
  type EndpointPort,
  endpointPorts,
  isHeadless,
  isPodReady,
  podIPs,
  serviceFamilies,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from "../endpoints/pod_endpoints.ts";

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
export const CONTROLLER_NAME = "endpointslice-controller.k8s.io";
export const HEADLESS_LABEL = "service.kubernetes.io/headless";
export const MAX_ENDPOINTS_PER_SLICE = 100;

/** One `discovery.k8s.io/v1` Endpoint. */
export interface Endpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  hostname?: string;
  targetRef: { kind: "Pod"; namespace: string; name: string; uid?: string };
  nodeName?: string;
  zone?: string;
}

/** A group of endpoints sharing an address type and port set. */
export interface EndpointGroup {
  addressType: "IPv4" | "IPv6";
  ports: EndpointPort[];
  endpoints: Endpoint[];
}

const portKey = (p: EndpointPort) => `${p.name}\x00${p.port}\x00${p.protocol}\x00${p.appProtocol ?? ""}`;
const portsKey = (ports: EndpointPort[]) => ports.map(portKey).sort().join("\x01");
const groupKey = (addressType: string, ports: EndpointPort[]) => `${addressType}\x02${portsKey(ports)}`;

/** The endpoint of a pod (`podToEndpoint`); `zoneOf` maps node names to zones. */
export function podToEndpoint(
  pod: KubeObject,
  svc: KubeObject,
  ip: string,
  zoneOf: (node: string) => string | undefined,
): Endpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata.deletionTimestamp;
  const ready = !!svc.spec?.publishNotReadyAddresses || (serving && !terminating);
  const node: string | undefined = pod.spec?.nodeName;
  const zone = node ? zoneOf(node) : undefined;
  return {
    addresses: [ip],
    conditions: { ready, serving, terminating },
    ...(shouldSetHostname(pod, svc) ? { hostname: pod.spec.hostname } : {}),
    targetRef: {
      kind: "Pod",
      namespace: pod.metadata.namespace!,
      name: pod.metadata.name!,
      uid: pod.metadata.uid,
    },
    ...(node ? { nodeName: node } : {}),
    ...(zone ? { zone } : {}),
  };
}

/** The desired endpoint groups of a Service from the pods its selector matches. */
export function desiredGroups(
  svc: KubeObject,
  pods: KubeObject[],
  zoneOf: (node: string) => string | undefined = () => undefined,
): Map<string, EndpointGroup> {
  const families = serviceFamilies(svc);
  const groups = new Map<string, EndpointGroup>();
  const noPorts = !(svc.spec?.ports ?? []).length;
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, true)) continue;
    const ports = endpointPorts(pod, svc);
    if (!ports.length && !(noPorts && isHeadless(svc))) continue;
    for (const ip of podIPs(pod)) {
      const addressType = addressTypeOf(ip);
      if (!families.includes(addressType)) continue;
      const key = groupKey(addressType, ports);
      let g = groups.get(key);
      if (!g) groups.set(key, g = { addressType, ports, endpoints: [] });
      g.endpoints.push(podToEndpoint(pod, svc, ip, zoneOf));
    }
  }
  for (const g of groups.values()) {
    g.endpoints.sort((a, b) => a.addresses[0].localeCompare(b.addresses[0], "en", { numeric: true }));
  }
  return groups;
}

/** The labels every slice of the Service carries. */
export function sliceLabels(svc: KubeObject): Record<string, string> {
  const labels: Record<string, string> = { ...svc.metadata.labels };
  delete labels[HEADLESS_LABEL];
  labels[SERVICE_NAME_LABEL] = svc.metadata.name!;
  labels[MANAGED_BY_LABEL] = CONTROLLER_NAME;
  if (isHeadless(svc)) labels[HEADLESS_LABEL] = "";
  return labels;
}

/** A new slice object (named by the server from `generateName`). */
export function newSlice(
  svc: KubeObject,
  addressType: string,
  ports: EndpointPort[],
  endpoints: Endpoint[],
): KubeObject {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      generateName: `${svc.metadata.name}-`,
      namespace: svc.metadata.namespace,
      labels: sliceLabels(svc),
      ownerReferences: [{
        apiVersion: "v1",
        kind: "Service",
        name: svc.metadata.name!,
        uid: svc.metadata.uid!,
        controller: true,
        blockOwnerDeletion: true,
      }],
    },
    addressType,
    endpoints,
    ports,
  };
}

export interface SlicePlan {
  create: KubeObject[];
  update: KubeObject[];
  delete: KubeObject[];
}

const endpointKey = (e: Endpoint) => `${e.addresses[0]}\x00${e.targetRef.uid ?? e.targetRef.name}`;

/** Plans the slice writes that take `existing` (this Service's managed slices) to `groups`. */
export function planSlices(
  svc: KubeObject,
  existing: KubeObject[],
  groups: Map<string, EndpointGroup>,
  maxPerSlice = MAX_ENDPOINTS_PER_SLICE,
): SlicePlan {
  const plan: SlicePlan = { create: [], update: [], delete: [] };
  const labels = sliceLabels(svc);
  const total = [...groups.values()].reduce((n, g) => n + g.endpoints.length, 0);

  if (total === 0) {
    // Keep exactly one empty placeholder slice.
    const addressType = serviceFamilies(svc)[0];
    const placeholder = existing.find((s) => !(s.endpoints ?? []).length && s.addressType === addressType);
    for (const s of existing) if (s !== placeholder) plan.delete.push(s);
    if (!placeholder) plan.create.push(newSlice(svc, addressType, [], []));
    else if (!deepEqual(placeholder.metadata.labels ?? {}, labels) || (placeholder.ports ?? []).length) {
      plan.update.push({ ...placeholder, metadata: { ...placeholder.metadata, labels }, ports: [] });
    }
    return plan;
  }

  const byGroup = new Map<string, KubeObject[]>();
  for (const s of existing) {
    const key = groupKey(s.addressType, s.ports ?? []);
    if (!groups.has(key)) {
      plan.delete.push(s);
      continue;
    }
    const list = byGroup.get(key) ?? [];
    list.push(s);
    byGroup.set(key, list);
  }

  for (const [key, group] of groups) {
    const wanted = new Map(group.endpoints.map((e) => [endpointKey(e), e]));
    const slices = (byGroup.get(key) ?? []).map((s) => ({
      obj: s,
      endpoints: [] as Endpoint[],
      changed: false,
    }));
    // Keep wanted endpoints where they are, with their current conditions.
    for (const s of slices) {
      const before: Endpoint[] = s.obj.endpoints ?? [];
      for (const e of before) {
        const want = wanted.get(endpointKey(e));
        if (!want) continue;
        wanted.delete(endpointKey(e));
        s.endpoints.push(want);
      }
      s.changed = !deepEqual(before, s.endpoints) || !deepEqual(s.obj.metadata.labels ?? {}, labels);
    }
    // Place new endpoints: first into slices already changing, then any with room, then new slices.
    const rest = [...wanted.values()];
    const order = [...slices.filter((s) => s.changed), ...slices.filter((s) => !s.changed)];
    for (const s of order) {
      while (rest.length && s.endpoints.length < maxPerSlice) {
        s.endpoints.push(rest.shift()!);
        s.changed = true;
      }
    }
    for (const s of slices) {
      if (!s.endpoints.length) plan.delete.push(s.obj);
      else if (s.changed) {
        plan.update.push({
          ...s.obj,
          metadata: { ...s.obj.metadata, labels },
          endpoints: s.endpoints,
          ports: group.ports,
        });
      }
    }
    for (let i = 0; i < rest.length; i += maxPerSlice) {
      plan.create.push(newSlice(svc, group.addressType, group.ports, rest.slice(i, i + maxPerSlice)));
    }
  }
  return plan;
}
