/**
 * The network conformance suite's environment (plugins/network/conformance.ts) on this machine:
 * a real bridge and real network namespaces, and a network component run as node agents run it —
 * in a runner, its `host-net` calls performed by the node's implementation ({@linkcode hostNet}),
 * its `ipam` import served by the built-in `host-local` component in a runner of its own. Used by
 * the tests and by `./skiff plugin test` for network plugins. Needs root and iproute2.
 * @module
 */
import { BUILTIN_PLUGINS, builtinPluginObject } from "../../control/api/builtin_plugins.ts";
import type { PluginObject } from "../../control/api/plugins.ts";
import type { Case, NewImpl } from "../../plugins/host/conformance.ts";
import { networkCases, type NetworkEnv } from "../../plugins/network/conformance.ts";
import { ipJson } from "../cni/ip.ts";
import { createNetns, deleteNetns, netnsName } from "../cni/netns.ts";
import { setUpBridge, tearDownBridge } from "../cni/node_bridge.ts";
import { NodePlugins } from "../plugins.ts";
import { hostNet } from "./host_net.ts";

const SUBNET = "198.18.246.0/24";
const IMAGE = "conformance:under-test";

/** The suite for a network component, with its environment; dispose it to remove what it made. */
export interface NetworkSuite extends AsyncDisposable {
  cases: Case[];
  newImpl: NewImpl;
}

/** The IPv4 addresses (CIDR notation) of an interface inside a netns (none when it is missing). */
export async function netnsAddresses(netns: string, ifname: string): Promise<string[]> {
  try {
    const out = await ipJson<{ addr_info?: { family: string; local: string; prefixlen: number }[] }[]>(
      ["-n", netnsName(netns), "addr", "show", "dev", ifname],
    );
    return (out[0]?.addr_info ?? []).filter((a) => a.family === "inet").map((a) =>
      `${a.local}/${a.prefixlen}`
    );
  } catch {
    return [];
  }
}

/** Sets up the bridge and returns the suite over a network component's bytes. */
export async function networkSuite(
  bytes: () => Promise<Uint8Array>,
  opts: { buildCacheDir?: string } = {},
): Promise<NetworkSuite> {
  const tag = `skcf${Deno.pid % 10000}`;
  const bridge = `${tag}b`;
  const made = new Set<string>();
  const env: NetworkEnv = {
    bridge,
    subnet: SUBNET,
    outside: "198.18.247.0/24",
    netns(id) {
      made.add(`${tag}-${id}`);
      return createNetns(`${tag}-${id}`);
    },
    addresses: netnsAddresses,
  };
  const dir = await Deno.makeTempDir({ prefix: "skiff-network-conformance-" });
  await setUpBridge(bridge, "198.18.246.1/24");
  let n = 0;
  const newImpl: NewImpl = async (settings = "{}") => {
    const ipam = builtinPluginObject(BUILTIN_PLUGINS.find((b) => b.name === "host-local")!);
    const underTest: PluginObject = {
      metadata: { name: "under-test", generation: 1 },
      spec: {
        kind: "network",
        image: IMAGE,
        config: JSON.parse(settings),
        grants: [{ capability: "host-net" }, { capability: "state" }, { capability: "log" }],
        timeoutSeconds: 10,
      },
    };
    ipam.metadata.generation = 1;
    const plugins = new NodePlugins({
      plugins: [underTest, ipam],
      nodeName: "conformance",
      dataDir: `${dir}/${n++}`,
      labels: () => ({}),
      pull: async (image) => {
        if (image !== IMAGE) throw new Error(`no image ${image} here`);
        const b = await bytes();
        return { digest: "", bytes: b };
      },
      capabilities: { "host-net": (grant) => hostNet(grant, { bridge, podCIDR: SUBNET }) },
      buildCacheDir: opts.buildCacheDir,
      log: () => {},
    });
    await plugins.start();
    const missing = await plugins.waitLoaded(["network", "ipam"], 60_000);
    if (missing.length) {
      const why = missing.map((m) => `${m} (${plugins.host.loadError(m) ?? "still loading"})`).join(", ");
      await plugins.stop();
      throw new Error(`did not load: ${why}`);
    }
    return {
      call: (op, ...args) => {
        const a = args[0] as { containerId?: string; netns?: string } | undefined;
        return plugins.call("under-test", op, args, { containerId: a?.containerId, netns: a?.netns });
      },
      [Symbol.asyncDispose]: () => plugins.stop(),
    };
  };
  return {
    cases: networkCases("network", env),
    newImpl,
    async [Symbol.asyncDispose]() {
      for (const name of made) await deleteNetns(name);
      await tearDownBridge(bridge);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
