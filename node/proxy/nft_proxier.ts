/**
 * The kernel service proxy: the nftables program of nft_rules.ts in the host, kept in step with
 * the model by incremental transactions. Start-up builds the table (replacing a stale one a
 * crashed agent left), turns on forwarding and route_localnet for the bridge only and adds the
 * guard routes; stop removes the table and puts every setting back.
 * @module
 */
import type { ServicePort } from "./model.ts";
import type { HostPortMapping } from "./host_ports.ts";
import { nftApply, nftDeleteTable, NftError } from "./nft.ts";
import { baseScript, desiredState, emptyState, type NftState, planUpdate, tableName } from "./nft_rules.ts";
import { HostChanges, readSysctl } from "./host.ts";

/** What the proxy drives: the kernel (nftables) or the userspace fallback. */
export interface ProxyBackend {
  readonly mode: "nftables" | "userspace";
  /**
   * Programs `ports` and the pods' host ports; `groups` maps hairpin groups to their addresses.
   * `hairpin: false`: no new pod since the last sync, so no new bridge port to look for.
   */
  sync(
    ports: ServicePort[],
    groups: Map<string, string[]>,
    hostPorts?: HostPortMapping[],
    opts?: { hairpin?: boolean },
  ): Promise<void>;
  stop(): Promise<void>;
}

export interface NftProxierOptions {
  bridge: string;
  gateway: string;
  /** The pod range of the cluster (default 198.18.0.0/16). */
  clusterCIDR?: string;
  log?: (line: string) => void;
}

export class NftProxier implements ProxyBackend {
  readonly mode = "nftables" as const;
  readonly table: string;
  readonly #opts: NftProxierOptions;
  readonly #host: HostChanges;
  #state: NftState = emptyState();
  /** Transactions applied (incremental), and full rebuilds after a failed one. */
  readonly stats = { transactions: 0, rebuilds: 0, lines: 0 };

  private constructor(opts: NftProxierOptions) {
    this.#opts = opts;
    this.table = tableName(opts.bridge);
    this.#host = new HostChanges(opts.bridge);
  }

  #base(): string[] {
    return baseScript({
      table: this.table,
      bridge: this.#opts.bridge,
      clusterCIDR: this.#opts.clusterCIDR ?? "198.18.0.0/16",
    });
  }

  /** Builds the table and the host settings; throws (leaving nothing behind) when the kernel cannot. */
  static async start(opts: NftProxierOptions): Promise<NftProxier> {
    const p = new NftProxier(opts);
    try {
      await nftApply(p.#base());
      const b = opts.bridge;
      p.#host.sysctl(`net.ipv4.conf.${b}.forwarding`, "1");
      p.#host.sysctl(`net.ipv4.conf.${b}.route_localnet`, "1");
      // Pods' packets to a cluster IP are routed back out of the bridge they came in by: no ICMP
      // redirects for them (a redirect would send the pod to an address nobody answers on the link).
      p.#host.sysctl(`net.ipv4.conf.${b}.send_redirects`, "0");
      const brnf = readSysctl("net.bridge.bridge-nf-call-iptables");
      if (brnf === "0") p.#host.sysctl("net.bridge.bridge-nf-call-iptables", "1");
      else if (brnf === undefined) {
        opts.log?.("proxy: br_netfilter is not loaded; a pod reaching a Service served on its own bridge may fail");
      }
      await p.#host.guardRoutes(opts.gateway);
    } catch (e) {
      await p.stop().catch(() => {});
      throw e;
    }
    return p;
  }

  async sync(
    ports: ServicePort[],
    groups: Map<string, string[]>,
    hostPorts: HostPortMapping[] = [],
    opts: { hairpin?: boolean } = {},
  ): Promise<void> {
    const next = desiredState(ports, groups, hostPorts);
    const plan = planUpdate(this.table, this.#state, next);
    if (plan.length) {
      try {
        await nftApply(plan);
        this.stats.transactions++;
        this.stats.lines += plan.length;
      } catch (e) {
        // The kernel's table is not what we think: rebuild it whole, once.
        this.#opts.log?.(`proxy: incremental update failed (${(e as NftError).message}); rebuilding the table`);
        await nftApply([...this.#base(), ...planUpdate(this.table, emptyState(), next)]);
        this.stats.rebuilds++;
      }
      this.#state = next;
    }
    if (opts.hairpin !== false) await this.#host.hairpin();
  }

  async stop(): Promise<void> {
    let first: unknown;
    try {
      await nftDeleteTable("ip", this.table);
    } catch (e) {
      first = e;
    }
    try {
      await this.#host.revert();
    } catch (e) {
      first ??= e;
    }
    this.#state = emptyState();
    if (first) throw first;
  }
}
