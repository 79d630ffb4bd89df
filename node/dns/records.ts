/**
 * The cluster's DNS records, as the Kubernetes DNS specification and CoreDNS's `kubernetes`
 * plugin define them, kept current from Service and EndpointSlice events (no polling):
 *
 * - `<svc>.<ns>.svc.<zone>` A: the cluster IP; for a headless Service the ready endpoints' IPs;
 *   for an ExternalName Service a CNAME to `spec.externalName`.
 * - `_<port>._<proto>.<svc>.<ns>.svc.<zone>` SRV for each named port: `0 100 <port> <svc>...`
 *   (ClusterIP), or one per ready endpoint `0 <weight> <port> <host>.<svc>...` (headless) with
 *   the endpoints' A records as additionals.
 * - `<host>.<svc>.<ns>.svc.<zone>` A for each ready endpoint of a headless Service: the
 *   endpoint's `hostname` (a StatefulSet pod: `web-0.web.default.svc.cluster.local`) or its IP
 *   with dashes.
 * - `a-b-c-d.<ns>.pod.<zone>` A `a.b.c.d` (CoreDNS `pods insecure`, kubeadm's default).
 * - PTR for cluster IPs and headless endpoints; `dns-version.<zone>` TXT `1.1.0`.
 *
 * Pure: {@linkcode ClusterRecords.lookup} answers one question from the index.
 * @module
 */
import { ipInCidr, parseCidr } from "../../control/api/cidr.ts";
import type { KubeObject } from "../../control/api/types.ts";

/** A DNS resource record as dns-packet encodes it. */
export interface DnsRecord {
  name: string;
  type: "A" | "CNAME" | "SRV" | "PTR" | "TXT" | "SOA" | "NS";
  ttl: number;
  class: "IN";
  // deno-lint-ignore no-explicit-any
  data: any;
}

/** The answer to one question. */
export interface Lookup {
  /** `NOERROR` (with or without answers) or `NXDOMAIN`; `undefined` when the name is outside the cluster. */
  rcode?: "NOERROR" | "NXDOMAIN";
  answers: DnsRecord[];
  additionals: DnsRecord[];
  /** The zone's SOA on negative answers. */
  authorities: DnsRecord[];
  /** An ExternalName target outside the cluster zone that the caller may resolve further. */
  chase?: string;
}

interface ServiceEntry {
  clusterIP?: string;
  headless: boolean;
  externalName?: string;
  ports: { name: string; protocol: string; port: number }[];
}

interface EndpointEntry {
  ip: string;
  hostname?: string;
  ready: boolean;
}

interface SliceEntry {
  service: string; // ns/name
  ports: { name: string; protocol: string; port: number }[];
  endpoints: EndpointEntry[];
}

export const DNS_SCHEMA_VERSION = "1.1.0";

function dashed(ip: string): string {
  return ip.replaceAll(".", "-");
}

function isIPv4(s: string): boolean {
  const p = s.split(".");
  return p.length === 4 && p.every((x) => /^\d{1,3}$/.test(x) && Number(x) <= 255);
}

/** The DNS records of a cluster zone. */
export class ClusterRecords {
  readonly zone: string;
  readonly ttl: number;
  readonly #services = new Map<string, ServiceEntry>();
  readonly #slices = new Map<string, SliceEntry>();
  /** ns/name → slice keys. */
  readonly #slicesOf = new Map<string, Set<string>>();
  readonly #namespaces = new Map<string, number>();
  readonly #reverseCidrs;
  #serial = 1;

  /**
   * `reverseCidrs`: address ranges whose reverse names are answered here, never forwarded
   * (default: the pod and service ranges, 198.18.0.0/16 and 198.19.0.0/16).
   */
  constructor(opts: { zone?: string; ttl?: number; reverseCidrs?: string[] } = {}) {
    this.zone = (opts.zone ?? "cluster.local").toLowerCase().replace(/\.$/, "");
    this.ttl = opts.ttl ?? 5;
    this.#reverseCidrs = (opts.reverseCidrs ?? ["198.18.0.0/16", "198.19.0.0/16"]).map(parseCidr);
  }

  /** Bumped on every change (the SOA serial). */
  get serial(): number {
    return this.#serial;
  }

  setService(svc: KubeObject): void {
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const spec = svc.spec ?? {};
    const entry: ServiceEntry = {
      headless: spec.clusterIP === "None",
      clusterIP: spec.clusterIP && spec.clusterIP !== "None" ? spec.clusterIP : undefined,
      externalName: spec.type === "ExternalName" ? String(spec.externalName ?? "").replace(/\.$/, "") : undefined,
      ports: (spec.ports ?? []).map((p: { name?: string; protocol?: string; port: number }) => ({
        name: p.name ?? "",
        protocol: p.protocol ?? "TCP",
        port: p.port,
      })),
    };
    if (!this.#services.has(key)) this.#countNamespace(svc.metadata.namespace!, 1);
    this.#services.set(key, entry);
    this.#serial++;
  }

  deleteService(svc: KubeObject): void {
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    if (this.#services.delete(key)) this.#countNamespace(svc.metadata.namespace!, -1);
    this.#serial++;
  }

  #countNamespace(ns: string, d: number) {
    const n = (this.#namespaces.get(ns) ?? 0) + d;
    if (n <= 0) this.#namespaces.delete(ns);
    else this.#namespaces.set(ns, n);
  }

  setSlice(slice: KubeObject): void {
    const key = `${slice.metadata.namespace}/${slice.metadata.name}`;
    this.deleteSlice(slice);
    const svcName = slice.metadata.labels?.["kubernetes.io/service-name"];
    if (!svcName || (slice.addressType && slice.addressType !== "IPv4")) return;
    const service = `${slice.metadata.namespace}/${svcName}`;
    const entry: SliceEntry = {
      service,
      ports: (slice.ports ?? []).map((p: { name?: string; protocol?: string; port?: number }) => ({
        name: p.name ?? "",
        protocol: p.protocol ?? "TCP",
        port: p.port ?? 0,
      })),
      endpoints: (slice.endpoints ?? []).flatMap((
        e: { addresses?: string[]; hostname?: string; conditions?: { ready?: boolean } },
      ) =>
        (e.addresses ?? []).map((ip) => ({
          ip,
          hostname: e.hostname,
          ready: e.conditions?.ready !== false,
        }))
      ),
    };
    this.#slices.set(key, entry);
    let set = this.#slicesOf.get(service);
    if (!set) this.#slicesOf.set(service, set = new Set());
    set.add(key);
    this.#serial++;
  }

  deleteSlice(slice: KubeObject): void {
    const key = `${slice.metadata.namespace}/${slice.metadata.name}`;
    const old = this.#slices.get(key);
    if (!old) return;
    this.#slices.delete(key);
    const set = this.#slicesOf.get(old.service);
    set?.delete(key);
    if (set && set.size === 0) this.#slicesOf.delete(old.service);
    this.#serial++;
  }

  /** Ready endpoints of a service (deduplicated by IP), with the ports their slices name. */
  #endpoints(service: string): { ep: EndpointEntry; ports: SliceEntry["ports"] }[] {
    const out: { ep: EndpointEntry; ports: SliceEntry["ports"] }[] = [];
    const seen = new Set<string>();
    for (const k of this.#slicesOf.get(service) ?? []) {
      const s = this.#slices.get(k)!;
      for (const ep of s.endpoints) {
        if (!ep.ready || seen.has(ep.ip)) continue;
        seen.add(ep.ip);
        out.push({ ep, ports: s.ports });
      }
    }
    return out;
  }

  /** Whether `name` is in the cluster zone (or a reverse zone of a cluster address). */
  inZone(name: string): boolean {
    const n = name.toLowerCase().replace(/\.$/, "");
    return n === this.zone || n.endsWith(`.${this.zone}`);
  }

  /** SOA of the zone. */
  soa(): DnsRecord {
    return {
      name: this.zone,
      type: "SOA",
      ttl: this.ttl,
      class: "IN",
      data: {
        mname: `ns.dns.${this.zone}`,
        rname: `hostmaster.${this.zone}`,
        serial: this.#serial >>> 0,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: this.ttl,
      },
    };
  }

  #rr(name: string, type: DnsRecord["type"], data: unknown): DnsRecord {
    return { name, type, ttl: this.ttl, class: "IN", data };
  }

  /**
   * Answers `qname`/`qtype` from the zone, or returns `{ rcode: undefined }` for names outside it
   * (to be forwarded). Owner names keep the question's spelling.
   */
  lookup(qname: string, qtype: string): Lookup {
    const out: Lookup = { rcode: "NOERROR", answers: [], additionals: [], authorities: [] };
    const name = qname.replace(/\.$/, "");
    const lower = name.toLowerCase();
    if (lower.endsWith(".in-addr.arpa")) return this.#reverse(name, lower, qtype);
    if (!this.inZone(lower)) return { answers: [], additionals: [], authorities: [] };
    const nxdomain = (): Lookup => ({ rcode: "NXDOMAIN", answers: [], additionals: [], authorities: [this.soa()] });
    const nodata = (): Lookup => ({ ...out, authorities: [this.soa()] });
    const labels = lower === this.zone ? [] : lower.slice(0, -(this.zone.length + 1)).split(".");
    if (labels.length === 0) {
      if (qtype === "SOA" || qtype === "ANY") out.answers.push({ ...this.soa(), name });
      if (qtype === "NS" || qtype === "ANY") out.answers.push(this.#rr(name, "NS", `ns.dns.${this.zone}`));
      return out.answers.length ? out : nodata();
    }
    if (labels.length === 1 && labels[0] === "dns-version") {
      if (qtype !== "TXT" && qtype !== "ANY") return nodata();
      out.answers.push(this.#rr(name, "TXT", [DNS_SCHEMA_VERSION]));
      return out;
    }
    const kind = labels.at(-1);
    if (kind === "pod") {
      if (labels.length === 1) return nodata();
      if (labels.length === 2) return this.#namespaces.has(labels[0]) ? nodata() : nxdomain();
      if (labels.length !== 3) return nxdomain();
      const ip = labels[0].replaceAll("-", ".");
      if (!isIPv4(ip)) return nxdomain();
      if (qtype === "A" || qtype === "ANY") out.answers.push(this.#rr(name, "A", ip));
      return out.answers.length ? out : nodata();
    }
    if (kind !== "svc") return nxdomain();
    if (labels.length === 1) return nodata();
    const ns = labels.at(-2)!;
    if (labels.length === 2) return this.#namespaces.has(ns) ? nodata() : nxdomain();
    const svcName = labels.at(-3)!;
    const key = `${ns}/${svcName}`;
    const svc = this.#services.get(key);
    if (!svc) return nxdomain();
    const svcFqdn = `${svcName}.${ns}.svc.${this.zone}`;
    const rest = labels.slice(0, -3);
    if (rest.length === 0) return this.#serviceRecords(name, qtype, svc, key, svcFqdn, out) ? out : nodata();
    if (rest.length === 2 && rest[0].startsWith("_") && rest[1].startsWith("_")) {
      const emit = qtype === "SRV" || qtype === "ANY";
      if (!this.#srv(name, svc, key, svcFqdn, rest, out, emit)) return nxdomain();
      return out.answers.length ? out : nodata();
    }
    if (rest.length === 1 && svc.headless) {
      const host = rest[0];
      const hit = this.#endpoints(key).filter(({ ep }) => (ep.hostname ?? dashed(ep.ip)).toLowerCase() === host);
      if (!hit.length) return nxdomain();
      if (qtype === "A" || qtype === "ANY") for (const { ep } of hit) out.answers.push(this.#rr(name, "A", ep.ip));
      return out.answers.length ? out : nodata();
    }
    return nxdomain();
  }

  /** Records at the Service's own name; false when there are none (NODATA). */
  #serviceRecords(
    name: string,
    qtype: string,
    svc: ServiceEntry,
    key: string,
    fqdn: string,
    out: Lookup,
  ): boolean {
    if (svc.externalName) {
      out.answers.push(this.#rr(name, "CNAME", svc.externalName));
      if (qtype === "CNAME") return true;
      const target = svc.externalName.toLowerCase();
      if (this.inZone(target) && target !== name.toLowerCase()) {
        const more = this.lookup(svc.externalName, qtype);
        out.answers.push(...more.answers);
      } else if (!this.inZone(target)) out.chase = svc.externalName;
      return true;
    }
    if (qtype === "SRV") {
      for (const p of svc.ports) {
        if (!p.name) continue;
        const rest = [`_${p.name}`, `_${p.protocol.toLowerCase()}`];
        this.#srv(`${rest.join(".")}.${name}`, svc, key, fqdn, rest, out, true);
      }
      return out.answers.length > 0;
    }
    if (qtype !== "A" && qtype !== "ANY") return false;
    if (svc.clusterIP) out.answers.push(this.#rr(name, "A", svc.clusterIP));
    else if (svc.headless) for (const { ep } of this.#endpoints(key)) out.answers.push(this.#rr(name, "A", ep.ip));
    return out.answers.length > 0;
  }

  /** SRV records for `_<port>._<proto>`; false when the port does not exist (NXDOMAIN). */
  #srv(
    name: string,
    svc: ServiceEntry,
    key: string,
    fqdn: string,
    rest: string[],
    out: Lookup,
    emit: boolean,
  ): boolean {
    const portName = rest[0].slice(1);
    const proto = rest[1].slice(1).toUpperCase();
    const port = svc.ports.find((p) => p.name.toLowerCase() === portName && p.protocol === proto);
    if (!port || svc.externalName) return false;
    if (!emit) return true;
    if (!svc.headless) {
      out.answers.push(this.#rr(name, "SRV", { priority: 0, weight: 100, port: port.port, target: fqdn }));
      if (svc.clusterIP) out.additionals.push(this.#rr(fqdn, "A", svc.clusterIP));
      return true;
    }
    const eps = this.#endpoints(key);
    const weight = eps.length ? Math.floor(100 / eps.length) : 100;
    for (const { ep, ports } of eps) {
      const target = `${ep.hostname ?? dashed(ep.ip)}.${fqdn}`;
      const p = ports.find((x) => x.name.toLowerCase() === portName && x.protocol === proto);
      out.answers.push(this.#rr(name, "SRV", { priority: 0, weight, port: p?.port ?? port.port, target }));
      out.additionals.push(this.#rr(target, "A", ep.ip));
    }
    return true;
  }

  /** PTR for cluster IPs and headless endpoints; outside the cluster's addresses: not ours. */
  #reverse(name: string, lower: string, qtype: string): Lookup {
    const parts = lower.slice(0, -".in-addr.arpa".length).split(".");
    const ip = parts.length === 4 ? parts.reverse().join(".") : "";
    const names: string[] = [];
    if (ip) {
      for (const [key, svc] of this.#services) {
        const [ns, svcName] = key.split("/");
        const fqdn = `${svcName}.${ns}.svc.${this.zone}`;
        if (svc.clusterIP === ip) names.push(fqdn);
        if (svc.headless) {
          for (const { ep } of this.#endpoints(key)) {
            if (ep.ip === ip) names.push(`${ep.hostname ?? dashed(ep.ip)}.${fqdn}`);
          }
        }
      }
    }
    if (!names.length) {
      if (ip && this.#reverseCidrs.some((c) => ipInCidr(ip, c))) {
        return { rcode: "NXDOMAIN", answers: [], additionals: [], authorities: [this.soa()] };
      }
      return { answers: [], additionals: [], authorities: [] };
    }
    const out: Lookup = { rcode: "NOERROR", answers: [], additionals: [], authorities: [] };
    if (qtype === "PTR" || qtype === "ANY") for (const n of names) out.answers.push(this.#rr(name, "PTR", n));
    else out.authorities.push(this.soa());
    return out;
  }
}
