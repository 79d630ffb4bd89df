/**
 * NetworkPolicy semantics (networking.k8s.io/v1), compiled for the pods of one node. Pure.
 *
 * - A pod is isolated for ingress (egress) when a policy of its namespace selects it and lists
 *   `Ingress` (`Egress`) in `policyTypes`; what it may then receive (send) is the union of the
 *   rules of all those policies. Pods no policy isolates allow everything.
 * - A rule allows traffic from (to) any of its peers on any of its ports; no `from` (`to`)
 *   means every peer, no `ports` every port.
 * - Peers: `podSelector` (the policy's namespace), `namespaceSelector` (every pod of the matching
 *   namespaces), both (matching pods of matching namespaces), or `ipBlock` (a CIDR minus
 *   `except`s).
 * - Ports: a number, a range (`endPort`), or a name: an ingress named port is the selected pod's
 *   container port of that name; an egress named port is each destination pod's.
 * - Replies of allowed connections are always allowed.
 *
 * The result is, per local pod IP, the allowed peers × ports for each direction (or nothing when
 * the direction is not isolated).
 * @module
 */
import { fromLabelSelectorObject, matchesLabels } from "../../control/api/selector.ts";
import type { KubeObject } from "../../control/api/types.ts";

export type Proto = "TCP" | "UDP" | "SCTP";

/** A port match: a single port, a range, or every port (`port` undefined) of a protocol. */
export interface PortMatch {
  protocol: Proto;
  port?: number;
  endPort?: number;
}

/** One allowed combination: addresses (or CIDRs with exceptions) and ports. */
export interface Allow {
  /** Pod addresses; `undefined` with no `cidr`: every address. */
  ips?: string[];
  cidr?: { cidr: string; except: string[] };
  /** `undefined`: every port of every protocol. */
  ports?: PortMatch[];
}

/** The compiled policy of one local pod. */
export interface PodPolicy {
  ip: string;
  namespace: string;
  name: string;
  /** Allowed sources; `undefined` when the pod is not isolated for ingress. */
  ingress?: Allow[];
  /** Allowed destinations; `undefined` when not isolated for egress. */
  egress?: Allow[];
}

interface PodInfo {
  ip: string;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** container port name → [protocol, number] */
  ports: Map<string, { protocol: Proto; port: number }[]>;
  local: boolean;
}

function podIPs(p: KubeObject): string[] {
  const ips = (p.status?.podIPs ?? []).map((x: { ip: string }) => x.ip).filter(Boolean);
  if (!ips.length && p.status?.podIP) ips.push(p.status.podIP);
  return ips.filter((ip: string) => !ip.includes(":"));
}

function podInfos(pods: Iterable<KubeObject>, nodeName: string): PodInfo[] {
  const out: PodInfo[] = [];
  for (const p of pods) {
    if (p.spec?.hostNetwork) continue;
    if (p.status?.phase === "Succeeded" || p.status?.phase === "Failed") continue;
    const ports = new Map<string, { protocol: Proto; port: number }[]>();
    const sidecars = (p.spec?.initContainers ?? []).filter((c: { restartPolicy?: string }) =>
      c.restartPolicy === "Always"
    );
    for (const c of [...(p.spec?.containers ?? []), ...sidecars]) {
      for (const cp of c.ports ?? []) {
        if (!cp.name) continue;
        const list = ports.get(cp.name) ?? [];
        list.push({ protocol: (cp.protocol ?? "TCP") as Proto, port: cp.containerPort });
        ports.set(cp.name, list);
      }
    }
    for (const ip of podIPs(p)) {
      out.push({
        ip,
        namespace: p.metadata.namespace!,
        name: p.metadata.name!,
        labels: p.metadata.labels ?? {},
        ports,
        local: p.spec?.nodeName === nodeName,
      });
    }
  }
  return out;
}

function selects(sel: unknown, labels: Record<string, string>): boolean {
  try {
    const s = fromLabelSelectorObject(sel as never);
    return s !== null && matchesLabels(s, labels);
  } catch {
    return false; // an invalid selector selects nothing
  }
}

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** The addresses (or CIDR) a peer stands for, seen from a policy in `ns`. */
function peerTargets(
  peer: Obj,
  ns: string,
  pods: PodInfo[],
  nsLabels: Map<string, Record<string, string>>,
): { pods?: PodInfo[]; cidr?: Allow["cidr"] } {
  if (peer.ipBlock) return { cidr: { cidr: peer.ipBlock.cidr, except: peer.ipBlock.except ?? [] } };
  const inNamespace = (p: PodInfo) =>
    peer.namespaceSelector ? selects(peer.namespaceSelector, nsLabels.get(p.namespace) ?? {}) : p.namespace === ns;
  const podMatch = (p: PodInfo) => (peer.podSelector ? selects(peer.podSelector, p.labels) : true);
  return { pods: pods.filter((p) => inNamespace(p) && podMatch(p)) };
}

/** Numeric port matches of a rule; named ports resolved against `target` pods. */
function portMatches(ports: Obj[] | undefined, targets: PodInfo[]): { all: true } | { byIp: Map<string, PortMatch[]>; common: PortMatch[] } {
  if (!ports || ports.length === 0) return { all: true };
  const common: PortMatch[] = [];
  const byIp = new Map<string, PortMatch[]>();
  for (const p of ports) {
    const protocol = (p.protocol ?? "TCP") as Proto;
    if (p.port === undefined || p.port === null) common.push({ protocol });
    else if (typeof p.port === "number") {
      common.push({ protocol, port: p.port, ...(p.endPort ? { endPort: p.endPort } : {}) });
    } else if (/^\d+$/.test(String(p.port))) common.push({ protocol, port: Number(p.port) });
    else {
      for (const t of targets) {
        for (const np of t.ports.get(String(p.port)) ?? []) {
          if (np.protocol !== protocol) continue;
          const list = byIp.get(t.ip) ?? [];
          list.push({ protocol, port: np.port });
          byIp.set(t.ip, list);
        }
      }
    }
  }
  return { byIp, common };
}

/** Compiles the policies for this node's pods. */
export function compilePolicies(
  policies: Iterable<KubeObject>,
  pods: Iterable<KubeObject>,
  namespaces: Iterable<KubeObject>,
  nodeName: string,
): PodPolicy[] {
  const all = podInfos(pods, nodeName);
  const nsLabels = new Map<string, Record<string, string>>();
  for (const n of namespaces) {
    nsLabels.set(n.metadata.name!, { "kubernetes.io/metadata.name": n.metadata.name!, ...n.metadata.labels });
  }
  const byNamespace = new Map<string, KubeObject[]>();
  for (const np of policies) {
    const list = byNamespace.get(np.metadata.namespace!) ?? [];
    list.push(np);
    byNamespace.set(np.metadata.namespace!, list);
  }
  const out: PodPolicy[] = [];
  for (const pod of all) {
    if (!pod.local) continue;
    const result: PodPolicy = { ip: pod.ip, namespace: pod.namespace, name: pod.name };
    for (const np of byNamespace.get(pod.namespace) ?? []) {
      const spec: Obj = np.spec ?? {};
      if (!selects(spec.podSelector ?? {}, pod.labels)) continue;
      const types: string[] = spec.policyTypes?.length
        ? spec.policyTypes
        : (spec.egress?.length ? ["Ingress", "Egress"] : ["Ingress"]);
      if (types.includes("Ingress")) {
        result.ingress ??= [];
        for (const rule of spec.ingress ?? []) {
          const ports = portMatches(rule.ports, [pod]);
          const portsFor = (): PortMatch[] | undefined =>
            "all" in ports ? undefined : [...ports.common, ...(ports.byIp.get(pod.ip) ?? [])];
          const p = portsFor();
          if (p && p.length === 0) continue; // only named ports this pod does not have
          const from: Obj[] = rule.from ?? [];
          if (from.length === 0) result.ingress.push({ ports: p });
          for (const peer of from) {
            const t = peerTargets(peer, pod.namespace, all, nsLabels);
            if (t.cidr) result.ingress.push({ cidr: t.cidr, ports: p });
            else if (t.pods!.length) result.ingress.push({ ips: [...new Set(t.pods!.map((x) => x.ip))], ports: p });
          }
        }
      }
      if (types.includes("Egress")) {
        result.egress ??= [];
        for (const rule of spec.egress ?? []) {
          const to: Obj[] = rule.to ?? [];
          const peers = to.length === 0 ? [{ all: true as const }] : to.map((peer) => peerTargets(peer, pod.namespace, all, nsLabels));
          for (const t of peers) {
            const targets = "all" in t ? all : t.pods ?? [];
            const ports = portMatches(rule.ports, targets);
            if ("all" in ports) {
              if ("all" in t) result.egress.push({});
              else if (t.cidr) result.egress.push({ cidr: t.cidr });
              else if (targets.length) result.egress.push({ ips: [...new Set(targets.map((x) => x.ip))] });
              continue;
            }
            if (ports.common.length) {
              if ("all" in t) result.egress.push({ ports: ports.common });
              else if (t.cidr) result.egress.push({ cidr: t.cidr, ports: ports.common });
              else if (targets.length) {
                result.egress.push({ ips: [...new Set(targets.map((x) => x.ip))], ports: ports.common });
              }
            }
            // Named ports: per destination pod (never for ipBlock peers).
            for (const [ip, pm] of ports.byIp) result.egress.push({ ips: [ip], ports: pm });
          }
        }
      }
    }
    out.push(result);
  }
  return out.sort((a, b) => a.ip.localeCompare(b.ip, "en", { numeric: true }));
}
