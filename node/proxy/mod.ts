/**
 * The service proxy (the kube-proxy role): watches Services, EndpointSlices and this node's pods,
 * computes the model (model.ts) and the pods' host ports (host_ports.ts), and programs them —
 * with nftables when the kernel can (an incremental transaction per change), else with the
 * userspace fallback (Services only, no host ports), which the node reports in its
 * `UserspaceServiceProxy` condition. Changes are coalesced: one sync runs at a time and
 * a change during a sync triggers exactly one more.
 *
 * @example
 * ```ts ignore
 * const proxy = await ServiceProxy.start({ nodeName, bridge: "skiff0", gateway, informers });
 * await proxy.stop(); // removes every rule, route and sysctl it set
 * ```
 * @module
 */
import type { Informer } from "../../control/api/informer.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { type ServicePort, serviceModel, slicesByService } from "./model.ts";
import { hostPortPlan } from "./host_ports.ts";
import { nftInstalled } from "./nft.ts";
import { NftProxier, type ProxyBackend } from "./nft_proxier.ts";
import { UserspaceProxier } from "./userspace.ts";
import { abSwitch } from "../ab_switch.ts";

export type { ServicePort } from "./model.ts";
export { tableName } from "./nft_rules.ts";

/** The informers the network components share. */
export interface NetworkInformers {
  services: Informer<KubeObject>;
  slices: Informer<KubeObject>;
  pods: Informer<KubeObject>;
  runtimeClasses: Informer<KubeObject>;
}

/** A node condition the proxy reports. */
export interface ProxyCondition {
  type: string;
  status: "True" | "False";
  reason: string;
  message: string;
}

export interface ServiceProxyOptions {
  nodeName: string;
  bridge: string;
  gateway: string;
  informers: NetworkInformers;
  /** `auto` (default): nftables when it works, else userspace. */
  mode?: "auto" | "nftables" | "userspace";
  clusterCIDR?: string;
  log?: (line: string) => void;
}

/** Pods of this node that share a network namespace: Wasm pods, one namespace per Kubernetes namespace. */
export function hairpinGroups(
  pods: Iterable<KubeObject>,
  nodeName: string,
  handlerOf: (runtimeClass: string) => string | undefined,
): { groups: Map<string, string[]>; groupOf: Map<string, string> } {
  const groups = new Map<string, string[]>();
  const groupOf = new Map<string, string>();
  for (const p of pods) {
    if (p.spec?.nodeName !== nodeName || p.spec?.hostNetwork) continue;
    const rc = p.spec?.runtimeClassName;
    if (!rc || handlerOf(rc) !== "wasm") continue;
    const ips = (p.status?.podIPs ?? []).map((x: { ip: string }) => x.ip).filter(Boolean);
    if (!ips.length && p.status?.podIP) ips.push(p.status.podIP);
    if (!ips.length) continue;
    const g = `wasm:${p.metadata.namespace}`;
    const list = groups.get(g) ?? [];
    list.push(...ips);
    groups.set(g, list);
    for (const ip of ips) groupOf.set(ip, g);
  }
  for (const list of groups.values()) list.sort();
  return { groups, groupOf };
}

/**
 * What the proxy reads of a pod (hairpinGroups, hostPortPlan), as a string: "" for a pod that
 * contributes nothing (another node's, `hostNetwork`, or without an address yet). A pod update
 * that leaves it unchanged (a condition, a container's state, the binding of a pod with no
 * address) needs no sync. Pure.
 */
export function proxyView(p: KubeObject | undefined, nodeName: string): string {
  if (!local(p, nodeName)) return "";
  const ips = podAddresses(p);
  if (!ips.length) return "";
  const hostPorts = (p.spec?.containers ?? []).flatMap((c: { ports?: unknown[] }) => c.ports ?? [])
    .filter((x: { hostPort?: number }) => x.hostPort);
  const m = p.metadata ?? {};
  return JSON.stringify([
    m.namespace,
    m.name,
    m.creationTimestamp,
    p.spec?.runtimeClassName,
    ips,
    p.status?.phase === "Succeeded" || p.status?.phase === "Failed",
    hostPorts,
  ]);
}

/** Whether `p` is a pod of this node on the pod network. Pure. */
function local(p: KubeObject | undefined, nodeName: string): p is KubeObject {
  return !!p && p.spec?.nodeName === nodeName && !p.spec?.hostNetwork;
}

/** A pod's addresses (`status.podIPs`, `status.podIP`). Pure. */
function podAddresses(p: KubeObject): string[] {
  const ips: string[] = (p.status?.podIPs ?? []).map((x: { ip?: string }) => x?.ip).filter(Boolean);
  if (p.status?.podIP) ips.push(p.status.podIP);
  return ips;
}

/** The addresses of this node's pods (those with a {@linkcode proxyView}). */
function localPodIPs(pods: Iterable<KubeObject>, nodeName: string): Set<string> {
  const out = new Set<string>();
  for (const p of pods) if (local(p, nodeName)) for (const ip of podAddresses(p)) out.add(ip);
  return out;
}

export class ServiceProxy {
  readonly opts: ServiceProxyOptions;
  #backend!: ProxyBackend;
  #fallbackReason = "";
  #running?: Promise<void>;
  #dirty = false;
  #stopped = false;
  #lastPorts: ServicePort[] = [];
  /** `SKIFF_PROXY_POD_FILTER=0`: every update of this node's pods syncs, every sync looks for ports. */
  readonly #everyUpdate = abSwitch("SKIFF_PROXY_POD_FILTER") === "0";
  /** This node's pod addresses at the last hairpin pass (undefined: none yet). */
  #hairpinIPs?: Set<string>;
  /** Host-port conflicts already logged (each once). */
  #conflictsLogged = new Set<string>();
  #listeners = new Set<() => void>();
  /** Syncs done and their total time. */
  readonly stats = { syncs: 0, syncMs: 0, errors: 0 };

  private constructor(opts: ServiceProxyOptions) {
    this.opts = opts;
  }

  get mode(): "nftables" | "userspace" {
    return this.#backend.mode;
  }

  get backend(): ProxyBackend {
    return this.#backend;
  }

  /** The ports programmed by the last sync. */
  get ports(): ServicePort[] {
    return this.#lastPorts;
  }

  /** The `UserspaceServiceProxy` node condition. */
  condition(): ProxyCondition {
    return this.mode === "userspace"
      ? {
        type: "UserspaceServiceProxy",
        status: "True",
        reason: "NftablesUnavailable",
        message: `Services are proxied in user space: ${this.#fallbackReason}`,
      }
      : {
        type: "UserspaceServiceProxy",
        status: "False",
        reason: "NftablesProxy",
        message: `Services are programmed with nftables (table ip ${(this.#backend as NftProxier).table})`,
      };
  }

  static async start(opts: ServiceProxyOptions): Promise<ServiceProxy> {
    const p = new ServiceProxy(opts);
    const mode = opts.mode ?? "auto";
    const log = opts.log ?? ((l: string) => console.error(l));
    if (mode !== "userspace") {
      try {
        if (!nftInstalled()) throw new Error("nft is not installed (apt-get install nftables)");
        p.#backend = await NftProxier.start({
          bridge: opts.bridge,
          gateway: opts.gateway,
          clusterCIDR: opts.clusterCIDR,
          log,
        });
      } catch (e) {
        if (mode === "nftables") throw e;
        p.#fallbackReason = (e as Error).message;
        log(`proxy: nftables unavailable (${p.#fallbackReason}); falling back to the userspace proxy`);
      }
    } else p.#fallbackReason = "the userspace mode was asked for";
    p.#backend ??= await UserspaceProxier.start({ bridge: opts.bridge, gateway: opts.gateway, log });
    const kick = () => p.#schedule();
    const { services, slices, pods } = opts.informers;
    for (const inf of [services, slices]) inf.addHandler({ onAdd: kick, onUpdate: kick, onDelete: kick });
    // Only changes of what the proxy reads of this node's pods (SKIFF_PROXY_POD_FILTER=0: every
    // update of one of them syncs, as before).
    const node = opts.nodeName;
    const everyUpdate = p.#everyUpdate;
    const mine = (o: KubeObject) => o.spec?.nodeName === node;
    pods.addHandler({
      onAdd: (o) => proxyView(o, node) !== "" && kick(),
      onUpdate: (a, b) =>
        (everyUpdate ? mine(a) || mine(b) : proxyView(a, node) !== proxyView(b, node)) && kick(),
      onDelete: (o) => (everyUpdate ? mine(o) : proxyView(o, node) !== "") && kick(),
    });
    p.#schedule();
    return p;
  }

  /** Resolves after the next sync that starts after this call. */
  nextSync(): Promise<void> {
    return new Promise((resolve) => {
      const l = () => {
        this.#listeners.delete(l);
        resolve();
      };
      this.#listeners.add(l);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#dirty = true;
      return;
    }
    this.#running = (async () => {
      do {
        this.#dirty = false;
        const waiting = [...this.#listeners];
        await this.#sync();
        for (const l of waiting) l();
      } while (this.#dirty && !this.#stopped);
    })().finally(() => (this.#running = undefined));
  }

  async #sync(): Promise<void> {
    const t0 = performance.now();
    const { services, slices, pods, runtimeClasses } = this.opts.informers;
    const handlerOf = (rc: string) => runtimeClasses.get(undefined, rc)?.handler ?? (rc === "wasm" ? "wasm" : undefined);
    const { groups, groupOf } = hairpinGroups(pods.list(), this.opts.nodeName, handlerOf);
    const ports = serviceModel(services.list(), slicesByService(slices.list()), {
      nodeName: this.opts.nodeName,
      peersOf: (ip) => groupOf.get(ip),
    });
    const hostPorts = hostPortPlan(pods.list(), this.opts.nodeName);
    for (const c of hostPorts.conflicts) {
      const k = `${c.pod} ${c.protocol}/${c.hostIP ?? "0.0.0.0"}:${c.hostPort}`;
      if (this.#conflictsLogged.has(k)) continue;
      this.#conflictsLogged.add(k);
      (this.opts.log ?? console.error)(
        `proxy: hostPort ${c.protocol}/${c.hostIP ?? "0.0.0.0"}:${c.hostPort} of pod ${c.pod} not published: held by ${c.holder}`,
      );
    }
    // Bridge ports appear with new pods: look for them (hairpin) only when this node has a pod
    // address it had not at the last look, and at the first sync.
    const ips = localPodIPs(pods.list(), this.opts.nodeName);
    const before = this.#hairpinIPs;
    const hairpin = !before || this.#everyUpdate || [...ips].some((ip) => !before.has(ip));
    try {
      await this.#backend.sync(ports, groups, hostPorts.mappings, { hairpin });
      if (hairpin) this.#hairpinIPs = ips;
      this.#lastPorts = ports;
    } catch (e) {
      this.stats.errors++;
      (this.opts.log ?? console.error)(`proxy: sync failed: ${(e as Error).message}`);
    }
    this.stats.syncs++;
    this.stats.syncMs += performance.now() - t0;
  }

  /** Stops syncing and removes every rule, address, route and sysctl the proxy set. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
    await this.#backend.stop();
  }
}
