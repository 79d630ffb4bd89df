/**
 * What the service proxy programs, computed from Services and EndpointSlices (kube-proxy's
 * `ServicePortMap` and `EndpointsMap`, and `CategorizeEndpoints`). Pure.
 *
 * One {@linkcode ServicePort} per port of every Service that has a cluster IP (headless and
 * ExternalName Services have no rules: DNS serves them). Its endpoints come from the slices
 * labelled with the Service's name, matched by port name and protocol (the slice carries the
 * target port already resolved per pod: named target ports resolve there).
 *
 * Endpoint choice, as upstream:
 * - cluster traffic goes to the ready endpoints; when none is ready, to the endpoints still
 *   serving while terminating (they drain: new connections only while nothing else serves);
 * - `internalTrafficPolicy: Local` sends cluster-IP traffic only to this node's endpoints,
 *   `externalTrafficPolicy: Local` does so for node-port traffic; with none, that traffic is
 *   dropped, never sent elsewhere;
 * - a port with no usable endpoint is rejected (ICMP port unreachable), never black-holed.
 * @module
 */
import type { KubeObject } from "../../control/api/types.ts";

export type Protocol = "TCP" | "UDP" | "SCTP";

/** One endpoint of one service port. */
export interface Endpoint {
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** On this node. */
  local: boolean;
  /**
   * Addresses sharing this endpoint's network namespace (itself, or every Wasm pod of its
   * namespace on this node): traffic from them to this endpoint through the Service hairpins
   * and is masqueraded.
   */
  peers?: string;
}

/** One port of one Service, as programmed. */
export interface ServicePort {
  /** `ns/name/protocol/portName` (lowercase protocol), unique. */
  id: string;
  namespace: string;
  name: string;
  portName: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  nodePort?: number;
  /** ClientIP affinity timeout, seconds (undefined: no affinity). */
  affinitySeconds?: number;
  internalLocal: boolean;
  externalLocal: boolean;
  /** Endpoints for cluster-IP traffic. */
  clusterEndpoints: Endpoint[];
  /** Endpoints for node-port traffic. */
  nodePortEndpoints: Endpoint[];
}

const SERVICE_NAME = "kubernetes.io/service-name";

/** Slices grouped by `ns/service`. */
export function slicesByService(slices: Iterable<KubeObject>): Map<string, KubeObject[]> {
  const out = new Map<string, KubeObject[]>();
  for (const s of slices) {
    const svc = s.metadata.labels?.[SERVICE_NAME];
    if (!svc) continue;
    const key = `${s.metadata.namespace}/${svc}`;
    const list = out.get(key);
    if (list) list.push(s);
    else out.set(key, [s]);
  }
  return out;
}

/** kube-proxy's `CategorizeEndpoints`, for one set: ready ones, else serving-terminating ones. */
export function usable(eps: Endpoint[]): Endpoint[] {
  const ready = eps.filter((e) => e.ready);
  if (ready.length) return ready;
  return eps.filter((e) => e.serving && e.terminating);
}

/** The endpoints of one service port, deduplicated by ip:port. */
function endpointsFor(
  slices: KubeObject[],
  portName: string,
  protocol: string,
  nodeName: string,
  peersOf: (ip: string, node?: string) => string | undefined,
): Endpoint[] {
  const out = new Map<string, Endpoint>();
  for (const s of slices) {
    if (s.addressType && s.addressType !== "IPv4") continue;
    const p = (s.ports ?? []).find((x: { name?: string; protocol?: string }) =>
      (x.name ?? "") === portName && (x.protocol ?? "TCP") === protocol
    );
    if (!p?.port) continue;
    for (const e of s.endpoints ?? []) {
      const c = e.conditions ?? {};
      const ready = c.ready !== false;
      for (const ip of e.addresses ?? []) {
        const key = `${ip}:${p.port}`;
        if (out.has(key)) continue;
        const local = e.nodeName === nodeName;
        out.set(key, {
          ip,
          port: p.port,
          ready,
          // serving defaults to ready when unset (older writers), as upstream.
          serving: c.serving ?? ready,
          terminating: c.terminating === true,
          local,
          ...(peersOf(ip, e.nodeName) ? { peers: peersOf(ip, e.nodeName) } : {}),
        });
      }
    }
  }
  return [...out.values()].sort((a, b) =>
    a.ip === b.ip ? a.port - b.port : a.ip.localeCompare(b.ip, "en", { numeric: true })
  );
}

export interface ModelOptions {
  nodeName: string;
  /** The hairpin group of an endpoint IP (see {@linkcode Endpoint.peers}). */
  peersOf?: (ip: string, node?: string) => string | undefined;
}

/** Every service port to program, sorted by id. */
export function serviceModel(
  services: Iterable<KubeObject>,
  slices: Map<string, KubeObject[]>,
  opts: ModelOptions,
): ServicePort[] {
  const out: ServicePort[] = [];
  for (const svc of services) {
    const spec = svc.spec ?? {};
    if (spec.type === "ExternalName") continue;
    const clusterIP: string | undefined = spec.clusterIP;
    if (!clusterIP || clusterIP === "None" || clusterIP.includes(":")) continue;
    const ns = svc.metadata.namespace!;
    const name = svc.metadata.name!;
    const mine = slices.get(`${ns}/${name}`) ?? [];
    for (const p of spec.ports ?? []) {
      const protocol = (p.protocol ?? "TCP") as Protocol;
      const portName = p.name ?? "";
      const all = endpointsFor(mine, portName, protocol, opts.nodeName, opts.peersOf ?? (() => undefined));
      const cluster = usable(all);
      const local = usable(all.filter((e) => e.local));
      const internalLocal = spec.internalTrafficPolicy === "Local";
      const externalLocal = spec.externalTrafficPolicy === "Local";
      const nodePort = (spec.type === "NodePort" || spec.type === "LoadBalancer") && p.nodePort
        ? p.nodePort as number
        : undefined;
      out.push({
        id: `${ns}/${name}/${protocol.toLowerCase()}/${portName}`,
        namespace: ns,
        name,
        portName,
        protocol,
        clusterIP,
        port: p.port,
        ...(nodePort ? { nodePort } : {}),
        ...(spec.sessionAffinity === "ClientIP"
          ? { affinitySeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800 }
          : {}),
        internalLocal,
        externalLocal,
        clusterEndpoints: internalLocal ? local : cluster,
        nodePortEndpoints: externalLocal ? local : cluster,
      });
    }
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
