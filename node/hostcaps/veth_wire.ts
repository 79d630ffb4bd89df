/**
 * Performs a checked {@linkcode WiringPlan} (node/hostcaps/veth_wiring.ts) with rtnetlink
 * requests from the agent (node/hostcaps/netlink.ts), the ones `ip` would send, without a process:
 *
 * 1. in the agent's netns, one datagram: `RTM_NEWLINK` makes the veth pair (the host end with the
 *    bridge as master and up, the pod end with its MAC and MTU straight into the netns,
 *    `IFLA_NET_NS_FD`), then turns hairpin mode on for the host end (`ip link set dev <host>
 *    type bridge_slave hairpin on`, as the CNI bridge plugin's `hairpinMode`). The pod end is not
 *    looked for first: when it is there (an earlier or concurrent ADD for the netns; several
 *    attachments may share it) the request fails with `EEXIST`, changes nothing, and it is used
 *    as is; when only the host end's name is taken (a pair left by an earlier attempt) that pair
 *    is deleted and made again. The bridge's index is looked up once per bridge (again when a
 *    request fails because the bridge was made again);
 * 2. in the netns: `RTM_GETLINK` of the pod interface (its index);
 * 3. in the netns, in one datagram: `lo` up, `RTM_NEWADDR` (replace) per address, the pod
 *    interface up (with `promote_secondaries` when created: `IFLA_AF_SPEC`), `RTM_NEWROUTE`
 *    (replace) per route.
 *
 * Nothing waits for carrier, DAD or ARP: the kernel has applied every request when it answers.
 * @module
 */
import { closeFd, NetlinkError, openNetnsFd, type Request, RtSocket } from "./netlink.ts";
import {
  address,
  deleteLink,
  getLink,
  newVethPair,
  route,
  setHairpinByName,
  setLinkUp,
} from "./rt_requests.ts";
import type { WiringPlan } from "./veth_wiring.ts";

const ENODEV = 19, EEXIST = 17, EINVAL = 22, EOPNOTSUPP = 95;

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

/**
 * Bridge indexes already looked up (a bridge keeps its index; one made again gets a new one, and
 * a request naming the old one fails: then it is looked up again).
 */
const bridgeIndexes = new Map<string, number>();

async function bridgeIndex(sock: RtSocket, bridge: string, fresh: boolean): Promise<number> {
  const known = fresh ? undefined : bridgeIndexes.get(bridge);
  if (known !== undefined) return known;
  const i = await linkIndex(sock, bridge);
  if (i === null) {
    bridgeIndexes.delete(bridge);
    throw new NetlinkError(`bridge ${bridge}`, ENODEV);
  }
  bridgeIndexes.set(bridge, i);
  return i;
}

/** Performs `p`; resolves to whether it made the pair. Throws {@linkcode NetlinkError}. */
export async function wireVeth(p: WiringPlan): Promise<boolean> {
  const path = `/run/netns/${p.netns}`;
  using pod = RtSocket.open(path);
  let created = true;
  {
    // The pair is made without asking first whether the pod end is there: when it is, the
    // request fails (EEXIST) and changes nothing, and the pod end is used as is.
    using agent = RtSocket.open();
    const fd = openNetnsFd(path);
    try {
      // The port's hairpin mode in the same datagram (a pod reaching itself through a Service).
      const make = async (fresh: boolean) =>
        (await agent.transact([
          newVethPair(p, await bridgeIndex(agent, p.bridge, fresh), fd),
          setHairpinByName(p.hostIfname),
        ], { slow: true }))[0].errno;
      // A bridge made again since its index was looked up: EINVAL (no such master) or EOPNOTSUPP.
      const attempt = async () => {
        const errno = await make(false);
        return errno === EINVAL || errno === EOPNOTSUPP ? await make(true) : errno;
      };
      let errno;
      try {
        errno = await attempt();
      } catch (e) {
        // No bridge: an interface already there is still used as is (as before any request).
        if (!(e instanceof NetlinkError && e.errno === ENODEV)) throw e;
        if ((await linkIndex(pod, p.podIfname)) === null) throw e;
        errno = EEXIST;
      }
      if (errno === EEXIST && (await linkIndex(pod, p.podIfname)) !== null) {
        created = false; // there already (an earlier ADD, or a concurrent one, for this netns)
      } else if (errno === EEXIST) {
        // A host end left by an earlier attempt (its pod end is gone with its netns, or never moved).
        await agent.transact([deleteLink(p.hostIfname)], { slow: true });
        errno = await attempt();
      }
      if (errno && created) throw new NetlinkError(`RTM_NEWLINK ${p.hostIfname}`, errno);
    } finally {
      closeFd(fd);
    }
  }
  const index = await linkIndex(pod, p.podIfname);
  if (index === null) throw new NetlinkError(`${p.podIfname} did not appear in ${p.netns}`, ENODEV);
  const steps: [string, Request][] = [
    ["lo up", setLinkUp("lo")],
    ...p.addresses.map((
      a,
    ): [string, Request] => [`address ${a.address}/${a.prefixLength}`, address(a, index)]),
    [`${p.podIfname} up`, setLinkUp(p.podIfname, created)],
    ...p.routes.map((r): [string, Request] => [
      `route ${r.address}/${r.prefixLength}${r.gateway ? ` via ${r.gateway}` : ""}`,
      route(r, index),
    ]),
  ];
  const answers = await pod.transact(steps.map(([, r]) => r));
  const failed = answers.findIndex((a) => a.errno);
  if (failed >= 0) throw new NetlinkError(steps[failed][0], answers[failed].errno);
  return created;
}
