/**
 * Host ports (what the CNI `portmap` plugin does upstream for `containers[].ports[].hostPort`):
 * the pure plan turning this node's pods into DNAT mappings — node address (or `hostIP`) :
 * hostPort/protocol → pod IP : containerPort. A pod is mapped once it has an IP and until it is
 * gone or terminal (Succeeded/Failed); `hostNetwork` pods bind their ports themselves. When two
 * pods claim overlapping host ports (the scheduler's NodePorts filter keeps that from happening;
 * a static pod or `spec.nodeName` set by hand can still do it) the older pod keeps the port and
 * the newer one is reported as a conflict, never programmed.
 * @module
 */
import type { KubeObject } from "../../control/api/types.ts";

export interface HostPortMapping {
  /** `namespace/name` of the pod. */
  pod: string;
  protocol: "tcp" | "udp" | "sctp";
  /** The address the port is published on; undefined: every address of the node. */
  hostIP?: string;
  hostPort: number;
  podIP: string;
  containerPort: number;
}

export interface HostPortConflict {
  pod: string;
  /** The pod holding the port. */
  holder: string;
  protocol: string;
  hostIP?: string;
  hostPort: number;
}

export interface HostPortPlan {
  mappings: HostPortMapping[];
  conflicts: HostPortConflict[];
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Whether two mappings collide (upstream `HostPortInfo.CheckConflict`: a wildcard overlaps all). */
export function hostPortsConflict(
  a: Pick<HostPortMapping, "protocol" | "hostIP" | "hostPort">,
  b: Pick<HostPortMapping, "protocol" | "hostIP" | "hostPort">,
): boolean {
  if (a.hostPort !== b.hostPort || a.protocol !== b.protocol) return false;
  return a.hostIP === undefined || b.hostIP === undefined || a.hostIP === b.hostIP;
}

function podIPv4(p: KubeObject): string | undefined {
  const ips: string[] = (p.status?.podIPs ?? []).map((x: { ip: string }) => x.ip);
  if (p.status?.podIP) ips.push(p.status.podIP);
  return ips.find((ip) => IPV4.test(ip));
}

/** The host-port mappings of `nodeName`'s pods. */
export function hostPortPlan(pods: Iterable<KubeObject>, nodeName: string): HostPortPlan {
  const candidates = [...pods].filter((p) =>
    p.spec?.nodeName === nodeName && !p.spec?.hostNetwork &&
    p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed"
  );
  // Oldest first: the pod that had the port keeps it.
  const created = (p: KubeObject) => Date.parse(p.metadata?.creationTimestamp ?? "") || 0;
  const key = (p: KubeObject) => `${p.metadata?.namespace}/${p.metadata?.name}`;
  candidates.sort((a, b) => created(a) - created(b) || key(a).localeCompare(key(b)));
  const mappings: HostPortMapping[] = [];
  const conflicts: HostPortConflict[] = [];
  for (const p of candidates) {
    const podIP = podIPv4(p);
    if (!podIP) continue;
    const pod = key(p);
    const own: HostPortMapping[] = [];
    for (const c of p.spec?.containers ?? []) {
      for (const port of c.ports ?? []) {
        if (!port.hostPort || !port.containerPort) continue;
        const hostIP = port.hostIP && port.hostIP !== "0.0.0.0" ? port.hostIP : undefined;
        if (hostIP && !IPV4.test(hostIP)) continue; // IPv6 host addresses: the node is IPv4 only
        const m: HostPortMapping = {
          pod,
          protocol: String(port.protocol ?? "TCP").toLowerCase() as HostPortMapping["protocol"],
          hostIP,
          hostPort: port.hostPort,
          podIP,
          containerPort: port.containerPort,
        };
        if (own.some((o) => hostPortsConflict(o, m))) continue; // the same port listed twice in one pod
        const holder = mappings.find((o) => hostPortsConflict(o, m));
        if (holder) {
          conflicts.push({ pod, holder: holder.pod, protocol: m.protocol, hostIP, hostPort: m.hostPort });
        } else own.push(m);
      }
    }
    mappings.push(...own);
  }
  return { mappings, conflicts };
}
