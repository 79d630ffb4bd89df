/**
 * Hairpin mode on a bridge's ports (a pod reaching itself through a Service: the bridge must send
 * the DNATed packet back out of the port it came in by), with rtnetlink from the agent instead of
 * `ip` processes: one `AF_BRIDGE` `RTM_GETLINK` dump of the bridge ports (`bridge link show`:
 * a short message per port, with its hairpin mode) and one datagram of `RTM_SETLINK` (`AF_BRIDGE`,
 * `IFLA_PROTINFO { IFLA_BRPORT_MODE = 1 }`: what `bridge link set dev <port> hairpin on` sends)
 * for the ports not seen before whose hairpin mode is off.
 * @module
 */
import { RtSocket } from "../hostcaps/netlink.ts";
import { dumpBridgePorts, parseBridgePort, setHairpin } from "../hostcaps/rt_requests.ts";
import { linkIndex } from "../hostcaps/veth_wire.ts";

/**
 * Turns hairpin on for the ports of `bridge` whose names are not in `seen` (unless it is on
 * already: a network plugin may set it when it joins the port), and adds them to it (whether the
 * kernel took the setting or not: a port that refuses it is not asked again). Resolves to the
 * ports newly seen. Throws a `NetlinkError` when rtnetlink cannot be used at all (no FFI) or the
 * ports cannot be listed; a missing bridge has no ports.
 */
export async function hairpinNewPorts(bridge: string, seen: Set<string>): Promise<string[]> {
  using sock = RtSocket.open();
  const master = await linkIndex(sock, bridge);
  if (master === null) return [];
  const ports = (await sock.request(`RTM_GETLINK AF_BRIDGE (ports of ${bridge})`, dumpBridgePorts()))
    .map((m) => parseBridgePort(m.body))
    .filter((l): l is NonNullable<typeof l> => l !== null && l.master === master && !seen.has(l.name));
  if (!ports.length) return [];
  const off = ports.filter((p) => !p.hairpin());
  // Each port's answer is its own: one that vanished meanwhile (ENODEV) does not stop the others.
  if (off.length) await sock.transact(off.map((p) => setHairpin(p.index)));
  for (const p of ports) seen.add(p.name);
  return ports.map((p) => p.name);
}
