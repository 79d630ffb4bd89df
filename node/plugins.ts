/**
 * The node agent's plugins: Plugin objects of the node-side kinds (`network`, `ipam`, `storage`,
 * `runtime`) whose `spec.nodeSelector` matches this node's labels are loaded here, through the
 * plugin host's machinery (plugins/host/server.ts: pull, check, transpile once per digest, one
 * runner process per plugin with narrow Deno permissions, hot replacement, per-call deadlines,
 * status). Each node writes its own entry of the Plugins' status,
 * `status.components[name=node/<node>]`.
 *
 * - **Built-ins.** An image `builtin:<name>` (control/api/builtin_plugins.ts) is built from the
 *   repository's source (plugins/host/build.ts, cached by content hash) and then loaded exactly
 *   as a pulled image; its digest is the sha256 of the component.
 * - **Host calls.** The runners' node-side capabilities (`host-net`, ...) are performed here, by
 *   the implementations the agent passes in `capabilities` (bounds checked there); the network
 *   world's `ipam` import is served here too: the IPAM Plugin the configuration's `ipam.type`
 *   names is called (another runner).
 * - **Which plugin applies.** Of a kind's Plugins that select this node, users' Plugins first (by
 *   name), then the built-ins ({@linkcode NodePlugins.ordered}).
 * @module
 */
import type { Client } from "../control/api/client.ts";
import { builtinFor, isBuiltin } from "../control/api/builtin_plugins.ts";
import { Informer } from "../control/api/informer.ts";
import {
  type Capability,
  PluginCallError,
  type PluginKind,
  type PluginObject,
  PLUGINS,
} from "../control/api/plugins.ts";
import type { WitAttachment } from "../plugins/network/binding.ts";
import { buildPlugin } from "../plugins/host/build.ts";
import { hostCallHandler, type HostCapability, type HostFunctions } from "../plugins/host/host_calls.ts";
import { registryPull } from "./registry/plugin_pull.ts";
import { HostCallError } from "../plugins/host/runner_client.ts";
import { PluginHost, type PullFn } from "../plugins/host/server.ts";

/** The kinds node agents host. */
export const NODE_HOSTED_KINDS: readonly string[] = ["network", "ipam", "storage", "runtime"];

/** The repository root (built-ins' sources are relative to it). */
const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

/** Whether a Plugin's node selector matches a node's labels (absent or empty: every node). Pure. */
export function selectsNode(plugin: PluginObject, labels: Record<string, string> | undefined): boolean {
  return Object.entries(plugin.spec?.nodeSelector ?? {}).every(([k, v]) => labels?.[k] === v);
}

/** Whether this node loads a Plugin. Pure. */
export function nodeLoads(plugin: PluginObject, labels: Record<string, string> | undefined): boolean {
  return NODE_HOSTED_KINDS.includes(plugin.spec?.kind) && selectsNode(plugin, labels);
}

/** Users' Plugins first (by name), then the built-ins (by name). Pure. */
export function pluginOrder(a: PluginObject, b: PluginObject): number {
  const ba = isBuiltin(a) ? 1 : 0;
  const bb = isBuiltin(b) ? 1 : 0;
  if (ba !== bb) return ba - bb;
  return a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0;
}

/** What the node knows about a call to a network plugin: which attachment it serves. */
export interface CallContext {
  containerId?: string;
  netns?: string;
  /** Set when the network plugin's IPAM delegate failed during the call. */
  ipamFailure?: { plugin: string; verb: string; message: string; code: number };
  [key: string]: unknown;
}

export interface NodePluginsOptions {
  /** Watches Plugins and writes their status; without it, `plugins` is the fixed set to load. */
  client?: Client;
  /** A fixed set of Plugins (no API server: benchmarks, runtime tests). */
  plugins?: PluginObject[];
  nodeName: string;
  /** Holds `cache/`, `state/` (the plugins' state stores) and `blobs/`. */
  dataDir: string;
  /** The node's labels now. */
  labels(): Record<string, string> | undefined;
  pull?: PullFn;
  /** Node-side capability implementations (bound to a grant by the factory). */
  capabilities?: Partial<Record<Capability, HostCapability>>;
  /** Node facts merged under a Plugin's `spec.config` (storage plugins: `nodeId`, `root`). */
  settings?(plugin: PluginObject): Record<string, unknown> | undefined;
  /** Where built-ins are built (default plugins/host/build.ts's, `tests/.cache/plugins`). */
  buildCacheDir?: string;
  log?(line: string): void;
}

/** The node's plugins. `await using` stops every runner. */
export class NodePlugins implements AsyncDisposable {
  readonly host: PluginHost;
  readonly #opts: NodePluginsOptions;
  readonly #informer: Informer<PluginObject> | null;
  #started = false;
  /** Node-side capabilities, and world imports per kind; read at each host call (see {@linkcode provide}). */
  readonly #capabilities: Partial<Record<string, HostCapability>> = {};
  readonly #imports: Partial<Record<string, Record<string, HostFunctions>>> = {};
  /**
   * Whether another attachment of the node holds an address (set by the node's network): an IPAM
   * answer with such an address is released and asked again (at most 8 times), so that IPAM
   * Plugins with overlapping ranges (a user's and the built-in) do not hand out one address twice.
   */
  addressInUse?: (address: string, containerId: string) => Promise<boolean>;

  constructor(opts: NodePluginsOptions) {
    this.#opts = opts;
    Object.assign(this.#capabilities, opts.capabilities);
    const pull = opts.pull ?? registryPull(`${opts.dataDir}/blobs`);
    this.host = new PluginHost({
      dataDir: opts.dataDir,
      pull: (image, signal) => builtinFor(image) ? this.#build(image) : pull(image, signal),
      client: opts.client,
      componentName: `node/${opts.nodeName}`,
      accepts: (p) => nodeLoads(p, opts.labels()),
      hostCalls: (p) =>
        hostCallHandler(
          p,
          this.#capabilities,
          p.spec.kind === "network" ? { ipam: this.#ipamImport() } : this.#imports[p.spec.kind] ??= {},
        ),
      settings: opts.settings,
      log: (line) => this.log(line),
    });
    this.#informer = opts.client ? new Informer<PluginObject>(opts.client, PLUGINS) : null;
  }

  async #build(image: string): Promise<{ digest: string; bytes: Uint8Array }> {
    const b = builtinFor(image)!;
    const t0 = performance.now();
    const built = await buildPlugin({
      kind: b.spec.kind,
      source: `${ROOT}/${b.source}`,
      cacheDir: this.#opts.buildCacheDir,
    });
    if (built.built) this.log(`built ${image} (${b.source}) in ${Math.round(performance.now() - t0)} ms`);
    return { digest: built.digest, bytes: built.bytes };
  }

  /**
   * Starts watching Plugins (or loads the fixed set); resolves once the first list is in, or
   * after `syncTimeoutMs` (an API server that refuses the list must not hold the node up). Loads
   * continue in the background: see {@linkcode waitLoaded}.
   */
  async start(syncTimeoutMs = 5000): Promise<void> {
    this.#started = true;
    if (!this.#informer) {
      for (const p of this.#opts.plugins ?? []) void this.host.apply(p);
      return;
    }
    this.#informer.addHandler({
      onAdd: (p) => void this.host.apply(p),
      onUpdate: (_, p) => void this.host.apply(p),
      onDelete: (p) => void this.host.remove(p.metadata.name!),
    });
    this.#informer.start();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#informer.synced(), new Promise((r) => timer = setTimeout(r, syncTimeoutMs))]);
    clearTimeout(timer);
  }

  /** The node's labels changed: load what now matches, unload what no longer does. */
  nodeChanged(): void {
    if (!this.#started) return;
    for (const p of this.#all()) void this.host.apply(p);
  }

  log(line: string): void {
    (this.#opts.log ?? ((l: string) => console.error(`node ${this.#opts.nodeName}: ${l}`)))(line);
  }

  #all(): PluginObject[] {
    return this.#informer ? this.#informer.list() : this.#opts.plugins ?? [];
  }

  /** A Plugin by name, if it applies to this node. */
  get(name: string): PluginObject | undefined {
    const p = this.#informer
      ? this.#informer.get(undefined, name)
      : this.#opts.plugins?.find((x) => x.metadata.name === name);
    return p && !p.metadata.deletionTimestamp && nodeLoads(p, this.#opts.labels()) ? p : undefined;
  }

  /** A kind's Plugins that apply to this node, in order: users' first (by name), then the built-ins. */
  ordered(kind: PluginKind): PluginObject[] {
    const labels = this.#opts.labels();
    return this.#all().filter((p) =>
      p.spec?.kind === kind && !p.metadata.deletionTimestamp && selectsNode(p, labels)
    ).sort(pluginOrder);
  }

  /** Whether a Plugin's runner is up (some generation of it serves calls). */
  loaded(name: string): boolean {
    return this.host.list().some((e) => e.name === name && e.ready);
  }

  /** The network Plugin that applies to this node (its name), if any. */
  network(): string | null {
    return this.ordered("network")[0]?.metadata.name ?? null;
  }

  /** The `ipam` Plugins that apply to this node, in order. */
  ipamPlugins(): PluginObject[] {
    return this.ordered("ipam");
  }

  /**
   * Waits until, for each of `kinds`, the Plugin in use and the built-ins are loaded (or
   * `timeoutMs` passed); resolves to the names still not loaded.
   */
  async waitLoaded(kinds: PluginKind[], timeoutMs: number): Promise<string[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const names = new Set(kinds.flatMap((k) => {
        const o = this.ordered(k);
        return [...o.slice(0, 1), ...o.filter(isBuiltin)].map((p) => p.metadata.name!);
      }));
      const missing = [...names].filter((n) => !this.loaded(n));
      // A generation that failed to load is retried with back-off: no point in waiting for it.
      if (!missing.length || Date.now() >= until || missing.every((n) => this.host.loadError(n))) {
        return missing;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Serves more host calls from now on: capabilities (e.g. `host-process`, which needs the OCI
   * runtime's mount namespace) and a kind's world imports (the runtime world's `node-images`).
   * Runners already started see them at their next host call.
   */
  provide(
    kind: PluginKind,
    calls: { capabilities?: Record<string, HostCapability>; imports?: Record<string, HostFunctions> },
  ): void {
    Object.assign(this.#capabilities, calls.capabilities);
    Object.assign(this.#imports[kind] ??= {}, calls.imports);
  }

  /** The runtime Plugin that applies to this node (its name), if any. */
  runtime(): string | null {
    return this.ordered("runtime")[0]?.metadata.name ?? null;
  }

  /** Calls a Plugin's operation; `context` reaches its nested host calls. Throws PluginCallError. */
  call(name: string, op: string, args: unknown[], context?: CallContext): Promise<unknown> {
    return this.host.call(name, op, args, context);
  }

  /**
   * The network world's `ipam` import, served for network plugins: calls the IPAM Plugin named
   * by the configuration's `ipam.type`, for the attachment being served only.
   */
  #ipamImport(): HostFunctions {
    const verb = (v: string) => async (args: unknown[], context: unknown): Promise<unknown> => {
      const ctx = context as CallContext | undefined;
      const a = args[0] as WitAttachment;
      if (["add", "del", "check"].includes(v) && (!ctx?.containerId || a?.containerId !== ctx.containerId)) {
        throw new HostCallError({
          tag: "denied",
          val: `IPAM calls are only for the attachment being served (${ctx?.containerId ?? "none"})`,
        });
      }
      let type: string | undefined;
      try {
        type = JSON.parse(typeof a === "string" ? a : a?.config ?? "{}")?.ipam?.type;
      } catch { /* below */ }
      const cniErr = (code: number, msg: string) =>
        new HostCallError({ tag: "cni", val: { code, msg, details: "" } });
      if (!type) throw cniErr(7, "the network configuration names no ipam.type");
      const plugin = this.get(type);
      if (!plugin || plugin.spec.kind !== "ipam") {
        if (v === "del") {
          this.log(
            `IPAM plugin "${type}" is gone from this node: the address of ${a.containerId} stays allocated in its store`,
          );
          return null;
        }
        throw cniErr(7, `IPAM plugin "${type}" does not apply to this node`);
      }
      try {
        for (let attempt = 0;; attempt++) {
          const r = await this.call(type, v, args) as { ips?: { address: string }[] } | null;
          const address = v === "add" ? r?.ips?.[0]?.address?.split("/")[0] : undefined;
          if (!address || attempt >= 8 || !(await this.addressInUse?.(address, a.containerId))) return r;
          this.log(
            `IPAM plugin "${type}" allocated ${address}, which another attachment of the node holds; asking again`,
          );
          // Released, then asked again: a round-robin IPAM (host-local) moves on to the next address.
          await this.call(type, "del", args);
        }
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        const code = e instanceof PluginCallError && (e.reason === "NotLoaded" || e.reason === "Timeout")
          ? 11
          : 999;
        if (ctx) ctx.ipamFailure = { plugin: type, verb: v, message, code };
        throw cniErr(code, `IPAM plugin "${type}" failed (${v.toUpperCase()}): ${message}`);
      }
    };
    return Object.fromEntries(["add", "del", "check", "status", "gc", "version"].map((v) => [v, verb(v)]));
  }

  async stop(): Promise<void> {
    if (this.#started) await this.#informer?.stop();
    await this.host[Symbol.asyncDispose]();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
