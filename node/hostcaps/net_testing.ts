/**
 * What the host-net tests read back from a pod's network namespace (test support): a link's IPv4
 * addresses and its `promote_secondaries` sysctl, as `ip` and the kernel report them.
 * @module
 */
import { ipJson } from "../cni/ip.ts";
import { netnsPath } from "../cni/netns.ts";

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
