/**
 * Performs a checked {@linkcode WiringPlan} (node/hostcaps/veth_wiring.ts) with rtnetlink
 * requests from the agent (node/hostcaps/netlink.ts), the ones `ip` would send, without a process:
 *
 * 1. in the netns: `RTM_GETLINK` of the pod interface (there already: nothing is created);
 * 2. else, in the agent's netns, one `RTM_NEWLINK` makes the veth pair: the host end with the
 *    bridge as master and up, the pod end (its MAC, the MTU) straight into the netns
 *    (`IFLA_NET_NS_FD`); when the host end's name is taken (`EEXIST`) by a pair whose pod end is
 *    not in the netns (left by an earlier attempt), that pair is deleted and made again; when the
 *    pod end is there by now (a concurrent ADD for the same netns made it), it is used as is;
 * 3. in the netns, in one datagram: `lo` up, `RTM_NEWADDR` (replace) per address, the pod
 *    interface up (with `promote_secondaries` when created: `IFLA_AF_SPEC`), `RTM_NEWROUTE`
 *    (replace) per route.
 *
 * Nothing waits for carrier, DAD or ARP: the kernel has applied every request when it answers.
 * @module
 */
import { closeFd, NetlinkError, openNetnsFd, type Request, RtSocket } from "./netlink.ts";
import { address, deleteLink, getLink, newVethPair, route, setLinkUp } from "./rt_requests.ts";
import type { WiringPlan } from "./veth_wiring.ts";

const ENODEV = 19, EEXIST = 17;

/** The index of a link, from an `RTM_GETLINK` answer (`ifinfomsg.ifi_index`). */
export async function linkIndex(sock: RtSocket, name: string): Promise<number | null> {
  try {
    const [m] = await sock.request(`RTM_GETLINK ${name}`, getLink(name));
    return m ? new DataView(m.body.buffer, m.body.byteOffset).getInt32(4, true) : null;
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === ENODEV) return null;
    throw e;
  }
}

/** Performs `p`; resolves to whether it made the pair. Throws {@linkcode NetlinkError}. */
export async function wireVeth(p: WiringPlan): Promise<boolean> {
  const path = `/run/netns/${p.netns}`;
  using pod = RtSocket.open(path);
  let index = await linkIndex(pod, p.podIfname);
  let created = index === null;
  if (created) {
    using agent = RtSocket.open();
    const bridge = await linkIndex(agent, p.bridge);
    if (bridge === null) throw new NetlinkError(`bridge ${p.bridge}`, ENODEV);
    const fd = openNetnsFd(path);
    try {
      const add = newVethPair(p, bridge, fd);
      const [a] = await agent.transact([add], { slow: true });
      if (a.errno === EEXIST && (await linkIndex(pod, p.podIfname)) !== null) {
        created = false; // a concurrent ADD for this netns made it
      } else if (a.errno === EEXIST) {
        // A host end left by an earlier attempt (its pod end is gone with its netns, or never moved).
        await agent.transact([deleteLink(p.hostIfname)], { slow: true });
        await agent.request(`RTM_NEWLINK ${p.hostIfname}`, add, { slow: true });
      } else if (a.errno) throw new NetlinkError(`RTM_NEWLINK ${p.hostIfname}`, a.errno);
    } finally {
      closeFd(fd);
    }
    index = await linkIndex(pod, p.podIfname);
    if (index === null) throw new NetlinkError(`${p.podIfname} did not appear in ${p.netns}`, ENODEV);
  }
  const steps: [string, Request][] = [
    ["lo up", setLinkUp("lo")],
    ...p.addresses.map((
      a,
    ): [string, Request] => [`address ${a.address}/${a.prefixLength}`, address(a, index!)]),
    [`${p.podIfname} up`, setLinkUp(p.podIfname, created)],
    ...p.routes.map((r): [string, Request] => [
      `route ${r.address}/${r.prefixLength}${r.gateway ? ` via ${r.gateway}` : ""}`,
      route(r, index!),
    ]),
  ];
  const answers = await pod.transact(steps.map(([, r]) => r));
  const failed = answers.findIndex((a) => a.errno);
  if (failed >= 0) throw new NetlinkError(steps[failed][0], answers[failed].errno);
  return created;
}
