/**
 * Services: cluster IPs from the service CIDR and node ports from 30000–32767, allocated in the
 * same atomic commit as the Service (one KV key per allocated address or port), released with it.
 * @module
 */
import { alreadyExists, fieldError, invalid } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import type { WriteOptions } from "../../store/mod.ts";
import { type Cidr, ipInCidr, ipToString, parseCidr } from "../../api/cidr.ts";
import type { ApiServer } from "../server.ts";
import type { Strategy } from "../rest/strategy.ts";

export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;

const ipKey = (ip: string): Deno.KvKey => ["alloc", "service-ip", ip];
const portKey = (port: number): Deno.KvKey => ["alloc", "node-port", port];

interface Allocation {
  ips: string[];
  ports: number[];
}

function needsNodePorts(svc: KubeObject): boolean {
  return svc.spec?.type === "NodePort" || svc.spec?.type === "LoadBalancer";
}

function allocationsOf(svc: KubeObject): Allocation {
  const ips = (svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : []))
    .filter((ip: string) => ip && ip !== "None");
  const ports = needsNodePorts(svc)
    ? [...new Set<number>((svc.spec?.ports ?? []).map((p: { nodePort?: number }) => p.nodePort).filter(Boolean))]
    : [];
  return { ips, ports };
}

function allocError(svc: KubeObject, field: string, value: unknown, detail: string) {
  return invalid("Service", "", svc.metadata.name ?? "", [fieldError.invalid(field, value, detail)]);
}

async function isFree(kv: Deno.Kv, key: Deno.KvKey): Promise<boolean> {
  return (await kv.get(key)).versionstamp === null;
}

async function pickIp(kv: Deno.Kv, cidr: Cidr): Promise<string> {
  const size = 2 ** (32 - cidr.bits);
  for (let i = 0; i < 64; i++) {
    // Skip the network address, the first address (the `kubernetes` Service) and the broadcast.
    const offset = 2 + Math.floor(Math.random() * (size - 3));
    const ip = ipToString(cidr.base + offset);
    if (await isFree(kv, ipKey(ip))) return ip;
  }
  throw new Error("no free cluster IP found after 64 tries; the service CIDR may be full");
}

async function pickPort(kv: Deno.Kv, taken: Set<number>): Promise<number> {
  for (let i = 0; i < 64; i++) {
    const port = NODE_PORT_MIN + Math.floor(Math.random() * (NODE_PORT_MAX - NODE_PORT_MIN + 1));
    if (!taken.has(port) && await isFree(kv, portKey(port))) return port;
  }
  throw new Error("no free node port found after 64 tries; the node port range may be full");
}

/** Fills clusterIP(s) and nodePorts that are unset; validates explicit ones. Mutates `svc`. */
async function assign(server: ApiServer, svc: KubeObject, old: KubeObject | null): Promise<void> {
  const spec = svc.spec ??= {};
  const cidr = parseCidr(server.serviceCIDR);
  if (spec.type === "ExternalName") {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  } else if (old && old.spec?.clusterIP && old.spec.type !== "ExternalName" && spec.type !== "ExternalName") {
    if (spec.clusterIP && spec.clusterIP !== old.spec.clusterIP) {
      throw invalid("Service", "", svc.metadata.name ?? "", [
        fieldError.invalid("spec.clusterIPs[0]", spec.clusterIP, "may not change once set"),
      ]);
    }
    spec.clusterIP = old.spec.clusterIP;
    spec.clusterIPs = old.spec.clusterIPs ?? [old.spec.clusterIP];
  } else if (spec.clusterIP === "None") {
    spec.clusterIPs = ["None"];
  } else if (spec.clusterIP) {
    const ip = spec.clusterIP as string;
    if (!ipInCidr(ip, cidr)) {
      throw allocError(svc, "spec.clusterIPs", [ip], `failed to allocate IP ${ip}: the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${server.serviceCIDR}`);
    }
    spec.clusterIPs = [ip];
  } else {
    const ip = await pickIp(server.store.kv, cidr);
    spec.clusterIP = ip;
    spec.clusterIPs = [ip];
  }
  if (needsNodePorts(svc)) {
    const taken = new Set<number>();
    const oldPorts = new Map<string, number>();
    for (const p of old?.spec?.ports ?? []) if (p.nodePort) oldPorts.set(`${p.port}/${p.protocol ?? "TCP"}`, p.nodePort);
    for (const [i, p] of (spec.ports ?? []).entries()) {
      if (p.nodePort !== undefined && p.nodePort !== null && p.nodePort !== 0) {
        if (!Number.isInteger(p.nodePort) || p.nodePort < NODE_PORT_MIN || p.nodePort > NODE_PORT_MAX) {
          throw allocError(svc, `spec.ports[${i}].nodePort`, p.nodePort, `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_MIN}-${NODE_PORT_MAX}`);
        }
      } else {
        p.nodePort = oldPorts.get(`${p.port}/${p.protocol ?? "TCP"}`) ?? await pickPort(server.store.kv, taken);
      }
      taken.add(p.nodePort);
    }
  } else {
    for (const p of spec.ports ?? []) delete p.nodePort;
  }
}

/** Checks and mutations that claim `want` minus `have`, and release `have` minus `want`. */
function claim(svc: KubeObject, want: Allocation, have: Allocation): WriteOptions {
  const owner = { namespace: svc.metadata.namespace, name: svc.metadata.name };
  const newIps = want.ips.filter((ip) => !have.ips.includes(ip));
  const newPorts = want.ports.filter((p) => !have.ports.includes(p));
  const goneIps = have.ips.filter((ip) => !want.ips.includes(ip));
  const gonePorts = have.ports.filter((p) => !want.ports.includes(p));
  return {
    checks: [...newIps.map((ip) => ({ key: ipKey(ip), versionstamp: null })), ...newPorts.map((p) => ({ key: portKey(p), versionstamp: null }))],
    mutate(op) {
      for (const ip of newIps) op.set(ipKey(ip), owner);
      for (const p of newPorts) op.set(portKey(p), owner);
      for (const ip of goneIps) op.delete(ipKey(ip));
      for (const p of gonePorts) op.delete(portKey(p));
    },
  };
}

/** After a failed claim: a specific address or port asked for by the user is taken → 422. */
async function explainConflict(server: ApiServer, svc: KubeObject, requested: Allocation) {
  for (const ip of requested.ips) {
    if (!(await isFree(server.store.kv, ipKey(ip)))) {
      throw allocError(svc, "spec.clusterIPs", [ip], `failed to allocate IP ${ip}: provided IP is already allocated`);
    }
  }
  for (const [i, p] of (svc.spec?.ports ?? []).entries()) {
    if (requested.ports.includes(p.nodePort) && !(await isFree(server.store.kv, portKey(p.nodePort)))) {
      throw allocError(svc, `spec.ports[${i}].nodePort`, p.nodePort, "provided port is already allocated");
    }
  }
}

export const serviceStrategy: Strategy = {
  prepareForUpdate(svc, old) {
    // `kubectl apply` and PUTs often omit allocated fields: keep them, as upstream does.
    const spec = svc.spec ??= {};
    if (spec.type === "ExternalName" || old.spec?.type === "ExternalName") return;
    if (!spec.clusterIP && old.spec?.clusterIP) spec.clusterIP = old.spec.clusterIP;
    if (!spec.clusterIPs && old.spec?.clusterIPs) spec.clusterIPs = structuredClone(old.spec.clusterIPs);
    if (needsNodePorts(svc)) {
      const oldPorts = new Map<string, number>();
      for (const p of old.spec?.ports ?? []) if (p.nodePort) oldPorts.set(`${p.port}/${p.protocol ?? "TCP"}`, p.nodePort);
      for (const p of spec.ports ?? []) {
        if (!p.nodePort) {
          const prev = oldPorts.get(`${p.port}/${p.protocol ?? "TCP"}`);
          if (prev) p.nodePort = prev;
        }
      }
    }
  },
  async beforeCreate(server, svc, dryRun) {
    // An existing Service of that name is a 409, before any allocation is judged.
    const res = server.resource("", "v1", "services")!;
    if (await server.store.get(res.store, svc.metadata.namespace!, svc.metadata.name!)) {
      throw alreadyExists(res.store.gr, svc.metadata.name!);
    }
    const requested = allocationsOf(svc);
    await explainConflict(server, svc, requested);
    await assign(server, svc, null);
    return dryRun ? {} : claim(svc, allocationsOf(svc), { ips: [], ports: [] });
  },
  async beforeUpdate(server, svc, old, dryRun) {
    await assign(server, svc, old);
    const want = allocationsOf(svc);
    const have = allocationsOf(old);
    const fresh = { ips: want.ips.filter((i) => !have.ips.includes(i)), ports: want.ports.filter((p) => !have.ports.includes(p)) };
    await explainConflict(server, svc, fresh);
    return dryRun ? {} : claim(svc, want, have);
  },
  onDelete(_server, svc) {
    return claim(svc, { ips: [], ports: [] }, allocationsOf(svc));
  },
};
