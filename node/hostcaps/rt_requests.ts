/**
 * The rtnetlink requests the node's `host-net` verbs send (what `ip link`, `ip addr` and `ip
 * route` would send), as data for node/hostcaps/netlink.ts. Pure.
 * @module
 */
import {
  type Attr,
  attr,
  decodeAttrs,
  encodeAttrs,
  ifinfomsg,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  type Request,
  RTM_DELLINK,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTM_SETLINK,
} from "./netlink.ts";

/** A veth pair as {@linkcode newVethPair} makes it. */
export interface VethPair {
  hostIfname: string;
  podIfname: string;
  /** 0: the kernel's default. */
  mtu: number;
  mac: string;
}

/** An IPv4 address or destination, split. */
export interface Prefix {
  address: string;
  prefixLength: number;
}

const IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_MASTER = 10, IFLA_LINKINFO = 18;
const IFLA_AF_SPEC = 26, IFLA_NET_NS_FD = 28, IFLA_INFO_KIND = 1, IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1, IFLA_INET_CONF = 1, IPV4_DEVCONF_PROMOTE_SECONDARIES = 20;
const IFA_ADDRESS = 1, IFA_LOCAL = 2, RTA_DST = 1, RTA_OIF = 4, RTA_GATEWAY = 5;
const AF_INET = 2, IFF_UP = 1;
const RT_TABLE_MAIN = 254, RTPROT_BOOT = 3, RT_SCOPE_UNIVERSE = 0, RT_SCOPE_LINK = 253, RTN_UNICAST = 1;

/** `RTM_GETLINK` of a link by name. Pure. */
export function getLink(name: string): Request {
  return { type: RTM_GETLINK, flags: 0, header: ifinfomsg(), attrs: [attr.str(IFLA_IFNAME, name)] };
}

/** `RTM_DELLINK` of a link by name. Pure. */
export function deleteLink(name: string): Request {
  return { type: RTM_DELLINK, flags: 0, header: ifinfomsg(), attrs: [attr.str(IFLA_IFNAME, name)] };
}

/**
 * `RTM_NEWLINK` of the pair: `ip link add <host> [mtu] master <bridge> up type veth peer name
 * <pod> address <mac> [mtu] netns <fd>`. Pure.
 */
export function newVethPair(p: VethPair, bridgeIndex: number, netnsFd: number): Request {
  const mtu = p.mtu ? [attr.u32(IFLA_MTU, p.mtu)] : [];
  const peer: Attr[] = [
    attr.str(IFLA_IFNAME, p.podIfname),
    attr.mac(IFLA_ADDRESS, p.mac),
    ...mtu,
    attr.u32(IFLA_NET_NS_FD, netnsFd),
  ];
  return {
    type: RTM_NEWLINK,
    flags: NLM_F_CREATE | NLM_F_EXCL,
    header: ifinfomsg(0, IFF_UP, IFF_UP),
    attrs: [
      attr.str(IFLA_IFNAME, p.hostIfname),
      ...mtu,
      attr.u32(IFLA_MASTER, bridgeIndex),
      {
        type: IFLA_LINKINFO,
        value: [
          attr.str(IFLA_INFO_KIND, "veth"),
          // VETH_INFO_PEER carries a whole `ifinfomsg` before the peer's attributes.
          { type: IFLA_INFO_DATA, value: [{ type: VETH_INFO_PEER, value: withHeader(ifinfomsg(), peer) }] },
        ],
      },
    ],
  };
}

function withHeader(header: Uint8Array, attrs: Attr[]): Uint8Array {
  const body = encodeAttrs(attrs);
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return out;
}

/** `IFLA_AF_SPEC` setting the interface's `net.ipv4.conf.<if>.promote_secondaries` to 1. */
const PROMOTE: Attr = {
  type: IFLA_AF_SPEC,
  value: [{
    type: AF_INET,
    value: [{ type: IFLA_INET_CONF, value: [attr.u32(IPV4_DEVCONF_PROMOTE_SECONDARIES, 1)] }],
  }],
};

/** `RTM_SETLINK` of a link by name: up, and `promote_secondaries` when asked. Pure. */
export function setLinkUp(name: string, promoteSecondaries = false): Request {
  return {
    type: RTM_SETLINK,
    flags: 0,
    header: ifinfomsg(0, IFF_UP, IFF_UP),
    attrs: [attr.str(IFLA_IFNAME, name), ...(promoteSecondaries ? [PROMOTE] : [])],
  };
}

/** `RTM_SETLINK` of a link by name: `promote_secondaries` only (its state unchanged). Pure. */
export function promoteSecondaries(name: string): Request {
  return { type: RTM_SETLINK, flags: 0, header: ifinfomsg(), attrs: [attr.str(IFLA_IFNAME, name), PROMOTE] };
}

/** `struct ifaddrmsg`. Pure. */
export function ifaddrmsg(prefixLength: number, index: number, scope = RT_SCOPE_UNIVERSE): Uint8Array {
  const b = new Uint8Array(8);
  b[0] = AF_INET;
  b[1] = prefixLength;
  b[3] = scope;
  new DataView(b.buffer).setUint32(4, index, true);
  return b;
}

/**
 * `RTM_NEWADDR` (`ip addr replace <a> dev <index>`; `{ add: true }`: `ip addr add`, which fails
 * with `EEXIST` when it is there) or, with `type` `RTM_DELADDR`, its deletion. Pure.
 */
export function address(a: Prefix, index: number, type = RTM_NEWADDR, opts: { add?: boolean } = {}): Request {
  return {
    type,
    flags: type === RTM_NEWADDR ? NLM_F_CREATE | (opts.add ? NLM_F_EXCL : NLM_F_REPLACE) : 0,
    header: ifaddrmsg(a.prefixLength, index),
    attrs: [attr.ipv4(IFA_LOCAL, a.address), attr.ipv4(IFA_ADDRESS, a.address)],
  };
}

/**
 * `RTM_NEWROUTE` (`ip route replace <dst> via <gw>` or `... dev <index>`, table main; index 0:
 * the kernel picks the device, as `ip route replace <dst> via <gw>` lets it). Pure.
 */
export function route(r: Prefix & { gateway?: string }, index: number): Request {
  const h = new Uint8Array(12);
  h[0] = AF_INET;
  h[1] = r.prefixLength;
  h[4] = RT_TABLE_MAIN;
  h[5] = RTPROT_BOOT;
  h[6] = r.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  h[7] = RTN_UNICAST;
  return {
    type: RTM_NEWROUTE,
    flags: NLM_F_CREATE | NLM_F_REPLACE,
    header: h,
    attrs: [
      ...(r.prefixLength ? [attr.ipv4(RTA_DST, r.address)] : []),
      ...(r.gateway ? [attr.ipv4(RTA_GATEWAY, r.gateway)] : []),
      ...(index ? [attr.u32(RTA_OIF, index)] : []),
    ],
  };
}

/** `RTM_GETADDR` of every IPv4 address of the netns (a dump; the answer is filtered by index). Pure. */
export function dumpAddresses(): Request {
  return { type: RTM_GETADDR, flags: NLM_F_DUMP, header: ifaddrmsg(0, 0) };
}

/** An `RTM_NEWADDR` message of a dump as `<address>/<prefix>` and its interface index. Pure. */
export function parseAddress(body: Uint8Array): { index: number; cidr: string } | null {
  if (body.length < 8 || body[0] !== AF_INET) return null;
  const index = new DataView(body.buffer, body.byteOffset).getUint32(4, true);
  const attrs = decodeAttrs(body, 8);
  const a = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
  return a && a.length === 4 ? { index, cidr: `${[...a].join(".")}/${body[1]}` } : null;
}

const AF_BRIDGE = 7, IFLA_PROTINFO = 12, IFLA_BRPORT_MODE = 4, NLA_F_NESTED = 0x8000;

const IFLA_INFO_SLAVE_KIND = 4, IFLA_INFO_SLAVE_DATA = 5;

/**
 * `RTM_NEWLINK` of an existing bridge port by name, with `IFLA_INFO_SLAVE_DATA {
 * IFLA_BRPORT_MODE = 1 }`: hairpin on (`ip link set dev <port> type bridge_slave hairpin on`).
 * Unlike {@linkcode setHairpin} it needs no index, so it can follow the request that makes the
 * port in one datagram. Pure.
 */
export function setHairpinByName(name: string): Request {
  return {
    type: RTM_NEWLINK,
    flags: 0,
    header: ifinfomsg(),
    attrs: [
      attr.str(IFLA_IFNAME, name),
      {
        type: IFLA_LINKINFO,
        value: [
          attr.str(IFLA_INFO_SLAVE_KIND, "bridge"),
          { type: IFLA_INFO_SLAVE_DATA, value: [{ type: IFLA_BRPORT_MODE, value: Uint8Array.of(1) }] },
        ],
      },
    ],
  };
}

/**
 * `RTM_GETLINK` dump, family `AF_BRIDGE`: one short message per bridge port of the netns, every
 * bridge's (`bridge link show`), with the port's settings in `IFLA_PROTINFO`. Pure.
 */
export function dumpBridgePorts(): Request {
  const header = ifinfomsg();
  header[0] = AF_BRIDGE;
  return { type: RTM_GETLINK, flags: NLM_F_DUMP, header };
}

/**
 * A bridge port of an `AF_BRIDGE` dump: index, name and bridge index; `hairpin()` reads its
 * hairpin mode from `IFLA_PROTINFO` (decoded only when asked: a dump lists every bridge's ports).
 * Pure.
 */
export function parseBridgePort(
  body: Uint8Array,
): { index: number; name: string; master: number; hairpin(): boolean } | null {
  if (body.length < 16) return null;
  const attrs = decodeAttrs(body, 16);
  const name = attrs.get(IFLA_IFNAME), master = attrs.get(IFLA_MASTER);
  if (!name) return null;
  return {
    index: new DataView(body.buffer, body.byteOffset).getInt32(4, true),
    name: new TextDecoder().decode(name).replace(/\0.*$/, ""),
    master: master?.length === 4 ? new DataView(master.buffer, master.byteOffset).getUint32(0, true) : 0,
    hairpin() {
      const protinfo = attrs.get(IFLA_PROTINFO);
      return protinfo !== undefined && decodeAttrs(protinfo, 0).get(IFLA_BRPORT_MODE)?.[0] === 1;
    },
  };
}

/**
 * `RTM_SETLINK` of a bridge port, family `AF_BRIDGE`, nested `IFLA_PROTINFO { IFLA_BRPORT_MODE }`:
 * hairpin on or off (`bridge link set dev <port> hairpin on`). The kernel finds the port by index
 * only. Pure.
 */
export function setHairpin(index: number, on = true): Request {
  const header = ifinfomsg(index);
  header[0] = AF_BRIDGE;
  return {
    type: RTM_SETLINK,
    flags: 0,
    header,
    attrs: [{
      type: IFLA_PROTINFO | NLA_F_NESTED,
      value: [{ type: IFLA_BRPORT_MODE, value: Uint8Array.of(on ? 1 : 0) }],
    }],
  };
}
