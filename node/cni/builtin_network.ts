/**
 * The built-in pod network without an API server: a {@linkcode NodePlugins} holding the default
 * `bridge` and `host-local` Plugin objects (control/api/builtin_plugins.ts, built from source and
 * run in runner processes exactly as on a node), and the {@linkcode PluginNetwork} over them.
 * For the runtimes' tests and the CNI benchmark.
 *
 * @example
 * ```ts ignore
 * await using net = await startBuiltinNetwork({ bridge: "sktest0", podCIDR: "198.18.252.0/22", dataDir });
 * await net.network.setUp();
 * ```
 * @module
 */
import { BUILTIN_PLUGINS, builtinPluginObject } from "../../control/api/builtin_plugins.ts";
import type { PluginObject } from "../../control/api/plugins.ts";
import { hostNet } from "../hostcaps/host_net.ts";
import { NodePlugins } from "../plugins.ts";
import { PluginNetwork } from "./plugin_network.ts";

export interface BuiltinNetworkOptions {
  bridge: string;
  podCIDR: string;
  dataDir: string;
  /** Overrides of the built-in Plugins' specs, by name (e.g. `{ bridge: { config: { mtu: 1400 } } }`). */
  specs?: Record<string, Partial<PluginObject["spec"]>>;
  buildCacheDir?: string;
  log?(line: string): void;
}

/** A started built-in network. `await using` stops its runners (the bridge stays: `network.tearDown()`). */
export interface BuiltinNetwork extends AsyncDisposable {
  network: PluginNetwork;
  plugins: NodePlugins;
}

/** Loads the built-in network Plugins (waits until they run) and makes the network over them. */
export async function startBuiltinNetwork(opts: BuiltinNetworkOptions): Promise<BuiltinNetwork> {
  const objs = BUILTIN_PLUGINS.filter((b) => b.spec.kind === "network" || b.spec.kind === "ipam").map((b) => {
    const o = builtinPluginObject(b);
    o.metadata.generation = 1;
    return { ...o, spec: { ...o.spec, ...opts.specs?.[b.name] } };
  });
  const plugins = new NodePlugins({
    plugins: objs,
    nodeName: "local",
    dataDir: `${opts.dataDir}/plugins`,
    labels: () => ({}),
    capabilities: { "host-net": (grant) => hostNet(grant, { bridge: opts.bridge, podCIDR: opts.podCIDR }) },
    buildCacheDir: opts.buildCacheDir,
    log: opts.log ?? (() => {}),
  });
  await plugins.start();
  const missing = await plugins.waitLoaded(["network", "ipam"], 60_000);
  if (missing.length) {
    const why = missing.map((n) => `${n} (${plugins.host.loadError(n) ?? "still loading"})`);
    await plugins.stop();
    throw new Error(`the built-in network plugins did not load: ${why.join(", ")}`);
  }
  const network = new PluginNetwork({
    bridge: opts.bridge,
    podCIDR: opts.podCIDR,
    dir: `${opts.dataDir}/attachments`,
    plugins,
  });
  return { network, plugins, [Symbol.asyncDispose]: () => plugins.stop() };
}
