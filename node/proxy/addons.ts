/**
 * The node's network add-ons, started together on one set of shared informers: the service
 * proxy (kube-proxy's role), NetworkPolicy enforcement, the cluster DNS on the bridge gateway,
 * and the Ingress controller (when ports are given). The node agent starts them once its bridge
 * exists and stops them before removing it; stopping removes every nftables table, route,
 * address and sysctl they set.
 *
 * Under RBAC the proxy, DNS and NetworkPolicy act as the node, with the ClusterRoles
 * `system:node-proxier` and `system:skiff-node-network` (rbac.ts); the Ingress controller acts as
 * its own ServiceAccount (`ingress.credentials`), with informers and a client of its own, so the
 * node's credential never needs to read Secrets.
 * @module
 */
import { Client, R } from "../../control/api/client.ts";
import { InformerFactory } from "../../control/api/informer.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { ClusterDns, type Upstream } from "../dns/mod.ts";
import { IngressController, NET } from "../ingress/mod.ts";
import { NetworkPolicyEnforcer } from "../netpol/mod.ts";
import { type NetworkInformers, type ProxyCondition, ServiceProxy } from "./mod.ts";

/** What to run, and how. */
export interface NetworkAddonOptions {
  /** Service proxy mode (default `auto`: nftables, else userspace). */
  proxyMode?: "auto" | "nftables" | "userspace";
  /** The cluster DNS; `false` turns it off. */
  dns?: false | {
    /** Default 53. */
    port?: number;
    /** Default: the node's /etc/resolv.conf nameservers. */
    upstreams?: Upstream[];
    zone?: string;
  };
  /** The Ingress controller: runs when a port is given. */
  ingress?: {
    httpPort?: number;
    httpsPort?: number;
    /** Listen address (default: the node's address). */
    hostname?: string;
    /**
     * The controller's own credential (default: the node's client, e.g. in a development cluster
     * without RBAC). `server` defaults to the node's API server.
     */
    credentials?: { server?: string; token: string | (() => string); caCert?: string };
  };
  /** NetworkPolicy enforcement (default true). */
  networkPolicy?: boolean;
  /** The cluster's pod range (default 198.18.0.0/16). */
  clusterCIDR?: string;
}

export interface NetworkAddonContext {
  client: Client;
  nodeName: string;
  /** The node's InternalIP. */
  nodeAddress: string;
  bridge: string;
  /** The bridge's address: the pods' gateway and the cluster DNS address. */
  gateway: string;
  /** The network namespace of a namespace's Wasm pods. */
  wasmNetns?: (namespace: string) => string;
  log?: (line: string) => void;
}

const SYNC_WAIT_MS = 10_000;

/** The running add-ons. */
export class NetworkAddons implements AsyncDisposable {
  readonly informers: InformerFactory;
  /** The Ingress controller's informers and client, under its own credential. */
  #ingressInformers?: InformerFactory;
  #ingressClient?: Client;
  proxy?: ServiceProxy;
  netpol?: NetworkPolicyEnforcer;
  dns?: ClusterDns;
  ingress?: IngressController;
  readonly #log: (line: string) => void;

  private constructor(informers: InformerFactory, log: (line: string) => void) {
    this.informers = informers;
    this.#log = log;
  }

  /** The node conditions the add-ons report. */
  conditions(): ProxyCondition[] {
    return this.proxy ? [this.proxy.condition()] : [];
  }

  static async start(ctx: NetworkAddonContext, opts: NetworkAddonOptions = {}): Promise<NetworkAddons> {
    const log = ctx.log ?? ((l: string) => console.error(l));
    const f = new InformerFactory(ctx.client);
    const shared: NetworkInformers = {
      services: f.get<KubeObject>(R.services),
      slices: f.get<KubeObject>(R.endpointslices),
      pods: f.get<KubeObject>(R.pods),
      runtimeClasses: f.get<KubeObject>(R.runtimeclasses),
    };
    const a = new NetworkAddons(f, log);
    try {
      a.proxy = await ServiceProxy.start({
        nodeName: ctx.nodeName,
        bridge: ctx.bridge,
        gateway: ctx.gateway,
        informers: shared,
        mode: opts.proxyMode,
        clusterCIDR: opts.clusterCIDR,
        log,
      });
      if (opts.networkPolicy !== false) {
        a.netpol = await NetworkPolicyEnforcer.start({
          nodeName: ctx.nodeName,
          bridge: ctx.bridge,
          dnsAddress: ctx.gateway,
          policies: f.get(NETWORK_POLICIES),
          pods: shared.pods,
          namespaces: f.get(R.namespaces),
          runtimeClasses: shared.runtimeClasses,
          wasmNetns: ctx.wasmNetns,
          log,
        });
      }
      if (opts.dns !== false) {
        try {
          a.dns = await ClusterDns.start({
            services: shared.services,
            slices: shared.slices,
            hostname: ctx.gateway,
            port: opts.dns?.port,
            upstreams: opts.dns?.upstreams,
            zone: opts.dns?.zone,
          });
        } catch (e) {
          log(`dns: the cluster DNS did not start on ${ctx.gateway}: ${(e as Error).message}`);
        }
      }
      const ing = opts.ingress;
      if (ing && (ing.httpPort !== undefined || ing.httpsPort !== undefined)) {
        try {
          const own = ing.credentials;
          const client = own
            ? (a.#ingressClient = new Client({
              server: own.server ?? ctx.client.server,
              token: own.token,
              caCerts: own.caCert ? [own.caCert] : undefined,
              userAgent: "skiff-ingress-controller",
            }))
            : ctx.client;
          const fi = a.#ingressInformers = new InformerFactory(client);
          a.ingress = await IngressController.start({
            client,
            ingresses: fi.get(NET.ingresses),
            ingressClasses: fi.get(NET.ingressclasses),
            services: shared.services,
            slices: shared.slices,
            secrets: fi.get(R.secrets, { fieldSelector: "type=kubernetes.io/tls" }),
            hostname: ing.hostname ?? ctx.nodeAddress,
            statusAddress: ctx.nodeAddress,
            httpPort: ing.httpPort,
            httpsPort: ing.httpsPort,
            log,
          });
        } catch (e) {
          // A port in use must not take the node down: say so and run without Ingress.
          log(`ingress: the controller did not start: ${(e as Error).message}`);
        }
      }
      // Start the informers; wait (a bounded time) for their first lists, so the first rules
      // are complete. Without read access (RBAC) they keep retrying and the add-ons catch up.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all([f.start().catch(() => {}), a.#ingressInformers?.start().catch(() => {})]),
        new Promise((r) => (timer = setTimeout(r, SYNC_WAIT_MS))),
      ]);
      clearTimeout(timer);
    } catch (e) {
      await a.stop().catch(() => {});
      throw e;
    }
    return a;
  }

  /** Stops everything, removing every rule, route, address and sysctl. */
  async stop(): Promise<void> {
    const errors: unknown[] = [];
    const step = async (f: () => Promise<void> | undefined) => {
      try {
        await f();
      } catch (e) {
        errors.push(e);
      }
    };
    await step(() => this.ingress?.close());
    await step(() => this.dns?.close());
    await step(() => this.netpol?.stop());
    await step(() => this.proxy?.stop());
    await step(() => this.informers.stop());
    await step(() => this.#ingressInformers?.stop());
    this.#ingressClient?.close();
    if (errors.length) {
      this.#log(`network add-ons: ${errors.length} step(s) failed while stopping: ${errors.map((e) => (e as Error).message).join("; ")}`);
      throw errors[0];
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

const NETWORK_POLICIES = { group: "networking.k8s.io", version: "v1", plural: "networkpolicies", namespaced: true };

/** Starts the add-ons. */
export function startNetworkAddons(ctx: NetworkAddonContext, opts?: NetworkAddonOptions): Promise<NetworkAddons> {
  return NetworkAddons.start(ctx, opts);
}
