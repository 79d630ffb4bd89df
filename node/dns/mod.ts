/**
 * The cluster DNS (the kube-dns add-on, as CoreDNS's `kubernetes` and `forward` plugins): a
 * server on the node's bridge gateway address, UDP and TCP port 53, answering the cluster zone
 * from Service and EndpointSlice watches (an event updates the records at once: no polling) and
 * forwarding other names to the node's resolvers.
 *
 * @example
 * ```ts ignore
 * await using dns = await startClusterDns({ services, slices, hostname: "198.18.0.1", upstreams: [] });
 * ```
 * @module
 */
import type { Informer } from "../../control/api/informer.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { Forwarder, type Upstream, upstreamsFromResolvConf } from "./forward.ts";
import { DnsHandler } from "./handler.ts";
import { ClusterRecords } from "./records.ts";
import { DnsServer } from "./server.ts";

export { ClusterRecords } from "./records.ts";
export { DnsHandler } from "./handler.ts";
export { Forwarder, type Upstream, upstreamsFromResolvConf } from "./forward.ts";
export {
  candidateNames,
  type ClusterDnsSettings,
  type DnsConfig,
  parseResolvConf,
  podDnsConfig,
  resolvConf,
} from "./pod_dns.ts";

export interface ClusterDnsOptions {
  services: Informer<KubeObject>;
  slices: Informer<KubeObject>;
  /** Where to listen (the bridge gateway). */
  hostname: string;
  /** Default 53. */
  port?: number;
  /** Default `cluster.local`. */
  zone?: string;
  /**
   * Resolvers for names outside the cluster. Default: the nameservers of `/etc/resolv.conf`
   * (never this server itself). An empty list makes such names fail with SERVFAIL.
   */
  upstreams?: Upstream[];
  /** Per-upstream timeout (default 2 s). */
  upstreamTimeoutMs?: number;
}

/** The running cluster DNS. */
export class ClusterDns implements AsyncDisposable {
  readonly records: ClusterRecords;
  readonly handler: DnsHandler;
  readonly server: DnsServer;
  readonly upstreams: Upstream[];

  private constructor(records: ClusterRecords, handler: DnsHandler, server: DnsServer, upstreams: Upstream[]) {
    this.records = records;
    this.handler = handler;
    this.server = server;
    this.upstreams = upstreams;
  }

  /** `ip:port` of the server. */
  get address(): Upstream {
    return { ip: this.server.hostname, port: this.server.port };
  }

  static async start(opts: ClusterDnsOptions): Promise<ClusterDns> {
    const records = new ClusterRecords({ zone: opts.zone });
    let open = true;
    opts.services.addHandler({
      onAdd: (o) => open && records.setService(o),
      onUpdate: (_, o) => open && records.setService(o),
      onDelete: (o) => open && records.deleteService(o),
    });
    opts.slices.addHandler({
      onAdd: (o) => open && records.setSlice(o),
      onUpdate: (_, o) => open && records.setSlice(o),
      onDelete: (o) => open && records.deleteSlice(o),
    });
    const self = { ip: opts.hostname, port: opts.port ?? 53 };
    const upstreams = opts.upstreams ?? upstreamsFromResolvConf(readResolvConf(), [self]);
    const forwarder = new Forwarder({ upstreams, timeoutMs: opts.upstreamTimeoutMs });
    const handler = new DnsHandler({ records, forwarder });
    let server: DnsServer;
    try {
      server = await DnsServer.start({ hostname: opts.hostname, port: opts.port ?? 53, handler });
    } catch (e) {
      open = false;
      throw e;
    }
    const dns = new ClusterDns(records, handler, server, upstreams);
    dns.#stop = () => {
      open = false;
    };
    return dns;
  }

  #stop = () => {};

  async close(): Promise<void> {
    this.#stop();
    await this.server.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Starts the cluster DNS. */
export function startClusterDns(opts: ClusterDnsOptions): Promise<ClusterDns> {
  return ClusterDns.start(opts);
}

function readResolvConf(): string {
  try {
    return Deno.readTextFileSync("/etc/resolv.conf");
  } catch {
    return "";
  }
}
