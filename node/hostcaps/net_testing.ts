/**
 * Test support for the host-net tests: a bridge and pod netns to wire ({@linkcode withSandboxNet}),
 * and what they read back: a link's IPv4 addresses and its `promote_secondaries` sysctl, as `ip`
 * and the kernel report them.
 * @module
 */
import { ipJson } from "../cni/ip.ts";
import { createNetns, deleteNetns, netnsPath } from "../cni/netns.ts";
import { setUpBridge, tearDownBridge } from "../cni/node_bridge.ts";
import { hostNet } from "./host_net.ts";

/** A test's bridge, pod netns and `host-net` capability bounded to them. */
export interface SandboxNet {
  bridge: string;
  /** The netns's name (for `ip -n`). */
  ns: string;
  /** The netns's path (what host-net verbs take). */
  netns: string;
  net: ReturnType<typeof hostNet>;
  ctx: { containerId: string; netns: string };
}

/**
 * Runs `fn` with a bridge `<tag>b` holding the gateway of the /24 `<prefix>.0` and a netns
 * `<tag>-ns`, and removes both afterwards (whatever `fn` left in them goes with them).
 */
export async function withSandboxNet(
  tag: string,
  prefix: string,
  fn: (s: SandboxNet) => Promise<void>,
): Promise<void> {
  const bridge = `${tag}b`, ns = `${tag}-ns`;
  await setUpBridge(bridge, `${prefix}.1/24`);
  try {
    const netns = await createNetns(ns);
    const net = hostNet({ capability: "host-net" }, { bridge, podCIDR: `${prefix}.0/24` });
    await fn({ bridge, ns, netns, net, ctx: { containerId: "c1", netns } });
  } finally {
    await deleteNetns(ns).catch(() => {});
    await tearDownBridge(bridge);
  }
}

/** The IPv4 addresses of `dev` in the netns `ns`, in the kernel's order. */
export async function ipv4Addresses(ns: string, dev: string): Promise<string[]> {
  const links = await ipJson<{ addr_info: { local: string }[] }[]>([
    "-4",
    "-n",
    ns,
    "addr",
    "show",
    "dev",
    dev,
  ]);
  return links[0]?.addr_info.map((a) => a.local) ?? [];
}

/** `net.ipv4.conf.<dev>.promote_secondaries` in the netns `ns`, as the kernel prints it. */
export async function promoteSecondaries(ns: string, dev: string): Promise<string> {
  const out = await new Deno.Command("/usr/bin/nsenter", {
    args: [`--net=${netnsPath(ns)}`, "--", "/bin/cat", `/proc/sys/net/ipv4/conf/${dev}/promote_secondaries`],
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}
