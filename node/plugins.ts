/**
 * The node agent's plugins: Plugin objects of the node-side kinds whose `spec.nodeSelector`
 * matches this node's labels are loaded here, through the plugin host's machinery
 * (plugins/host/server.ts: pull, check, transpile once per digest, one runner process per plugin
 * with narrow Deno permissions, hot replacement, per-call deadlines, status). Only the `ipam` kind
 * is hosted so far: its plugins are the built-in bridge's IPAM delegates
 * ({@linkcode NodePlugins.ipam}). Each node writes its own entry of the Plugins' status,
 * `status.components[name=node/<node>]`.
 *
 * Selection: of the `ipam` Plugins that match the node, the first by name allocates new
 * addresses; an address is released by the Plugin that allocated it (recorded by the bridge).
 * A failed call is the sandbox's error (`FailedCreatePodSandBox`, the kubelet retries), unless
 * the Plugin's `failurePolicy` is `Ignore`: then the built-in host-local allocates instead.
 * @module
 */
import type { Client } from "../control/api/client.ts";
import { Informer } from "../control/api/informer.ts";
import { PluginCallError, type PluginObject, PLUGINS } from "../control/api/plugins.ts";
import type { KubeObject } from "../control/api/types.ts";
import { toWitAttachment, type WitCniResult } from "../plugins/network/binding.ts";
import { registryPull } from "../plugins/host/pull.ts";
import { PluginHost, type PullFn } from "../plugins/host/server.ts";
import { CniError, type CniRequest } from "./cni/api.ts";
import type { IpamDelegate, IpamDelegates } from "./cni/ipam_delegate.ts";

/** The kinds node agents host so far. */
export const NODE_HOSTED_KINDS: readonly string[] = ["ipam"];

/** Whether a Plugin's node selector matches a node's labels (absent or empty: every node). Pure. */
export function selectsNode(plugin: PluginObject, labels: Record<string, string> | undefined): boolean {
  return Object.entries(plugin.spec?.nodeSelector ?? {}).every(([k, v]) => labels?.[k] === v);
}

/** Whether this node loads a Plugin. Pure. */
export function nodeLoads(plugin: PluginObject, labels: Record<string, string> | undefined): boolean {
  return NODE_HOSTED_KINDS.includes(plugin.spec?.kind) && selectsNode(plugin, labels);
}

export interface NodePluginsOptions {
  client: Client;
  nodeName: string;
  /** Holds `cache/`, `state/` (the plugins' state stores) and `blobs/`. */
  dataDir: string;
  /** The node's labels now. */
  labels(): Record<string, string> | undefined;
  pull?: PullFn;
  log?(line: string): void;
}

/** The network configuration an IPAM delegate gets: the node's pod CIDR as its one range. */
function ipamConfig(plugin: string, subnet: string): Record<string, unknown> {
  return { cniVersion: "1.1.0", name: "skiff", type: "bridge", ipam: { type: plugin, ranges: [[{ subnet }]] } };
}

/** The node's plugins. `await using` stops every runner. */
export class NodePlugins implements IpamDelegates, AsyncDisposable {
  readonly host: PluginHost;
  readonly #opts: NodePluginsOptions;
  readonly #informer: Informer<PluginObject>;
  #started = false;

  constructor(opts: NodePluginsOptions) {
    this.#opts = opts;
    this.host = new PluginHost({
      dataDir: opts.dataDir,
      pull: opts.pull ?? registryPull(`${opts.dataDir}/blobs`),
      client: opts.client,
      componentName: `node/${opts.nodeName}`,
      accepts: (p) => nodeLoads(p, opts.labels()),
      log: (line) => this.log(line),
    });
    this.#informer = new Informer<PluginObject>(opts.client, PLUGINS);
  }

  /**
   * Starts watching Plugins; resolves once the first list is in, or after `syncTimeoutMs` (an
   * API server that refuses the list must not hold the node up). Loads continue in the background.
   */
  async start(syncTimeoutMs = 5000): Promise<void> {
    this.#informer.addHandler({
      onAdd: (p) => void this.host.apply(p),
      onUpdate: (_, p) => void this.host.apply(p),
      onDelete: (p) => void this.host.remove(p.metadata.name!),
    });
    this.#informer.start();
    this.#started = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#informer.synced(), new Promise((r) => timer = setTimeout(r, syncTimeoutMs))]);
    clearTimeout(timer);
  }

  /** The node's labels changed: load what now matches, unload what no longer does. */
  nodeChanged(): void {
    if (!this.#started) return;
    for (const p of this.#informer.list()) void this.host.apply(p);
  }

  log(line: string): void {
    (this.#opts.log ?? ((l: string) => console.error(`node ${this.#opts.nodeName}: ${l}`)))(line);
  }

  /** The `ipam` Plugins that apply to this node, by name. */
  ipamPlugins(): PluginObject[] {
    const labels = this.#opts.labels();
    return this.#informer.list().filter((p) => p.spec?.kind === "ipam" && !p.metadata.deletionTimestamp && selectsNode(p, labels))
      .sort((a, b) => a.metadata.name! < b.metadata.name! ? -1 : 1);
  }

  current(): IpamDelegate | null {
    const p = this.ipamPlugins()[0];
    return p ? this.#delegate(p.metadata.name!) : null;
  }

  /**
   * A Plugin that still selects this node (if it is not loaded yet, calls fail with CNI code 11
   * and the kubelet retries); null once it is deleted or no longer selects the node.
   */
  byName(name: string): IpamDelegate | null {
    const p = this.#informer.get(undefined, name);
    return p && p.spec?.kind === "ipam" && nodeLoads(p, this.#opts.labels()) ? this.#delegate(name) : null;
  }

  /** The IPAM delegate backed by one Plugin (its spec is read at each call: failurePolicy). */
  #delegate(name: string): IpamDelegate {
    const policy = () => this.#informer.get(undefined, name)?.spec?.failurePolicy ?? "Fail";
    const failed = (verb: string, e: unknown): CniError => {
      const message = e instanceof Error ? e.message : String(e);
      const code = e instanceof PluginCallError && (e.reason === "NotLoaded" || e.reason === "Timeout") ? 11 : 999;
      return new CniError(code, `IPAM plugin "${name}" failed (${verb}): ${message}`);
    };
    return {
      name,
      add: async (req: CniRequest, subnet: string) => {
        const version = this.host.list().find((e) => e.name === name);
        try {
          const r = await this.host.call(name, "add", [toWitAttachment(req, ipamConfig(name, subnet))]) as WitCniResult;
          const ip = r.ips[0];
          return { address: ip.address, gateway: ip.gateway ?? undefined, digest: version?.digest, generation: version?.generation };
        } catch (e) {
          if (policy() === "Ignore") {
            this.log(`IPAM plugin "${name}" failed (ADD), failurePolicy Ignore: the built-in host-local allocates: ${(e as Error).message}`);
            return null;
          }
          throw failed("ADD", e);
        }
      },
      del: async (req: CniRequest, subnet: string) => {
        try {
          await this.host.call(name, "del", [toWitAttachment(req, ipamConfig(name, subnet))]);
        } catch (e) {
          if (policy() === "Ignore") {
            this.log(`IPAM plugin "${name}" failed (DEL), failurePolicy Ignore: ${(e as Error).message}`);
            return;
          }
          throw failed("DEL", e);
        }
      },
    };
  }

  async stop(): Promise<void> {
    if (this.#started) await this.#informer.stop();
    await this.host[Symbol.asyncDispose]();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
