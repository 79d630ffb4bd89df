/**
 * Building an Endpoints object's `subsets` from a Service and its pods, pure (upstream
 * `endpoints_controller.go` `syncService` and `RepackSubsets`): one address per pod, ready or not
 * ready, grouped by identical port sets; at most 1000 addresses (the rest is truncated and the
 * object annotated).
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import {
  type EndpointPort,
  endpointPorts,
  isHeadless,
  isPodReady,
  podIPOf,
  serviceFamilies,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from "./pod_endpoints.ts";

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: { kind: "Pod"; namespace: string; name: string; uid?: string };
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

/** Most addresses one Endpoints object holds (upstream `maxCapacity`). */
export const MAX_ENDPOINTS_CAPACITY = 1000;
/** The annotation set on Endpoints that were truncated. */
export const OVER_CAPACITY = "endpoints.kubernetes.io/over-capacity";

function address(pod: KubeObject, svc: KubeObject, ip: string): EndpointAddress {
  return {
    ip,
    ...(shouldSetHostname(pod, svc) ? { hostname: pod.spec.hostname } : {}),
    ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
    targetRef: {
      kind: "Pod",
      namespace: pod.metadata.namespace!,
      name: pod.metadata.name!,
      uid: pod.metadata.uid,
    },
  };
}

const portKey = (p: EndpointPort) => `${p.name}\x00${p.port}\x00${p.protocol}\x00${p.appProtocol ?? ""}`;

/** The subsets for `svc` from the pods its selector matches, repacked, plus whether they were truncated. */
export function buildSubsets(
  svc: KubeObject,
  pods: KubeObject[],
): { subsets: EndpointSubset[]; truncated: boolean } {
  const publishNotReady = !!svc.spec?.publishNotReadyAddresses;
  const family = serviceFamilies(svc)[0];
  const noPorts = !(svc.spec?.ports ?? []).length;
  // Address (by IP) → ready, address, ports.
  const byIP = new Map<string, { ready: boolean; addr: EndpointAddress; ports: Map<string, EndpointPort> }>();
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
    const ip = podIPOf(pod, family);
    if (!ip) continue;
    const ports = endpointPorts(pod, svc);
    if (!ports.length && !(noPorts && isHeadless(svc))) continue;
    const entry = byIP.get(ip) ??
      { ready: publishNotReady || isPodReady(pod), addr: address(pod, svc, ip), ports: new Map() };
    for (const p of ports) entry.ports.set(portKey(p), p);
    byIP.set(ip, entry);
  }
  // Group addresses with the same port set.
  const groups = new Map<
    string,
    EndpointSubset & { ready: EndpointAddress[]; notReady: EndpointAddress[] }
  >();
  for (const { ready, addr, ports } of byIP.values()) {
    const list = [...ports.values()].sort((a, b) => portKey(a).localeCompare(portKey(b)));
    const key = list.map(portKey).join("\x01");
    let g = groups.get(key);
    if (!g) groups.set(key, g = { ports: list, ready: [], notReady: [] });
    (ready ? g.ready : g.notReady).push(addr);
  }
  let budget = MAX_ENDPOINTS_CAPACITY;
  let truncated = false;
  const subsets: EndpointSubset[] = [];
  const byIp = (a: EndpointAddress, b: EndpointAddress) => a.ip.localeCompare(b.ip, "en", { numeric: true });
  for (const key of [...groups.keys()].sort()) {
    const g = groups.get(key)!;
    const ready = g.ready.sort(byIp);
    const notReady = g.notReady.sort(byIp);
    // Ready addresses first within the capacity.
    const keepReady = ready.slice(0, budget);
    budget -= keepReady.length;
    const keepNotReady = notReady.slice(0, budget);
    budget -= keepNotReady.length;
    if (keepReady.length < ready.length || keepNotReady.length < notReady.length) truncated = true;
    if (!keepReady.length && !keepNotReady.length) continue;
    subsets.push({
      ...(keepReady.length ? { addresses: keepReady } : {}),
      ...(keepNotReady.length ? { notReadyAddresses: keepNotReady } : {}),
      ...(g.ports!.length ? { ports: g.ports } : {}),
    });
  }
  return { subsets, truncated };
}
