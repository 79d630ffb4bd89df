/**
 * `host-net.wire-veth`, pure: checks a sandbox interface's whole wiring (the veth pair joined to
 * the node's bridge, addresses, link up, routes) against the same bounds as the one-step verbs
 * (`create-veth`, `add-address`, `set-link-up`, `add-route`) and plans it as data, which
 * node/hostcaps/veth_wire.ts performs with a few rtnetlink requests (no process):
 *
 * 1. whether `pod-ifname` exists in the netns;
 * 2. if not: the pair, made in the agent's netns with the host end joined to the bridge and up
 *    and the pod end (a fresh MAC) in the netns (one request; a host end left by an earlier
 *    attempt goes first);
 * 3. in the netns: `lo` up, each address replaced, the link up, each route replaced (all
 *    idempotent);
 * 4. if created: `promote_secondaries` on the pod interface (several attachments may share it).
 *
 * Every value of the plan is a checked interface name, address, prefix length or number.
 * @module
 */
import { insideCidrs } from "../../plugins/host/capabilities.ts";
import type { Prefix } from "./rt_requests.ts";

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const CIDR = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;
const ADDRESS = /^\d{1,3}(\.\d{1,3}){3}$/;
const NS = /^[A-Za-z0-9_.-]{1,200}$/;
/** At most this many addresses and this many routes per call. */
export const MAX_WIRING_ITEMS = 16;

/** The WIT `veth-wiring` (jco's camelCase). */
export interface VethWiring {
  hostIfname: string;
  podIfname: string;
  mtu: number;
  addresses: string[];
  routes: { destination: string; gateway?: string | null }[];
}

/** The bounds and node facts a wiring is checked against. */
export interface WiringBounds {
  /** The node's bridge (the grant's `bridge` must be it). */
  bridge: string;
  /** The grant's `bridge` bound. */
  grantedBridge: string;
  /** The grant's `podCIDRs`. */
  cidrs: readonly string[];
}

/** A wiring outside the bounds (`denied`) or malformed (`invalid`). */
export class WiringRefused extends Error {
  override name = "WiringRefused";
  constructor(readonly reason: "denied" | "invalid", message: string) {
    super(message);
  }
}

/** The checked wiring of one sandbox interface, as veth_wire.ts performs it. */
export interface WiringPlan {
  /** The netns's name (under /run/netns). */
  netns: string;
  bridge: string;
  hostIfname: string;
  podIfname: string;
  /** 0: the kernel's default. */
  mtu: number;
  /** The pod end's MAC when the pair is made. */
  mac: string;
  addresses: Prefix[];
  /** `gateway` absent: a link route (`dev <pod-ifname>`, scope link). */
  routes: (Prefix & { gateway?: string })[];
}

function ifname(name: unknown): string {
  if (typeof name !== "string" || !IFNAME.test(name)) {
    throw new WiringRefused("invalid", `${JSON.stringify(name)} is not an interface name`);
  }
  return name;
}

/**
 * Checks `w` and plans it for netns `ns` (a name under /run/netns); `mac` is the MAC a new pod
 * end gets. Pure.
 */
export function planVethWiring(
  bounds: WiringBounds,
  ns: string,
  w: VethWiring,
  opts: { mac: string },
): WiringPlan {
  if (!NS.test(ns)) throw new WiringRefused("invalid", `${JSON.stringify(ns)} is not a netns name`);
  if (!w || typeof w !== "object") {
    throw new WiringRefused("invalid", "the wiring must be a veth-wiring record");
  }
  const host = ifname(w.hostIfname);
  const pod = ifname(w.podIfname);
  if (bounds.grantedBridge !== bounds.bridge) {
    throw new WiringRefused(
      "denied",
      `the granted bridge ${bounds.grantedBridge} is not this node's bridge ${bounds.bridge}`,
    );
  }
  const addresses = Array.isArray(w.addresses) ? w.addresses : [];
  const routes = Array.isArray(w.routes) ? w.routes : [];
  if (addresses.length > MAX_WIRING_ITEMS || routes.length > MAX_WIRING_ITEMS) {
    throw new WiringRefused(
      "invalid",
      `at most ${MAX_WIRING_ITEMS} addresses and ${MAX_WIRING_ITEMS} routes per call`,
    );
  }
  const inside = (what: string, v: unknown, form: RegExp): string => {
    if (typeof v !== "string" || !form.test(v)) {
      throw new WiringRefused(
        "invalid",
        `${JSON.stringify(v)} is not ${what === "gateway" ? "an address" : "in CIDR notation"}`,
      );
    }
    if (!insideCidrs(bounds.cidrs, v)) {
      throw new WiringRefused(
        "denied",
        `${what} ${v} is outside the granted pod CIDRs ${bounds.cidrs.join(", ")}`,
      );
    }
    return v;
  };
  const split = (cidr: string): Prefix => {
    const [address, len] = cidr.split("/");
    const prefixLength = Number(len);
    if (address.split(".").some((x) => Number(x) > 255) || prefixLength > 32) {
      throw new WiringRefused("invalid", `${JSON.stringify(cidr)} is not in CIDR notation`);
    }
    return { address, prefixLength };
  };
  const planned = {
    addresses: addresses.map((a) => split(inside("address", a, CIDR))),
    routes: routes.map((r) => {
      const dst = r?.destination;
      if (typeof dst !== "string" || !CIDR.test(dst)) {
        throw new WiringRefused("invalid", `${JSON.stringify(dst)} is not a destination in CIDR notation`);
      }
      const gw = r.gateway;
      if (gw != null) inside("gateway", gw, ADDRESS);
      else inside("link route", dst, CIDR);
      return { ...split(dst), ...(gw != null ? { gateway: split(`${gw}/32`).address } : {}) };
    }),
  };
  const mtu = typeof w.mtu === "number" && w.mtu > 0 ? Math.min(65535, Math.max(68, Math.floor(w.mtu))) : 0;
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(opts.mac)) throw new TypeError("planVethWiring: bad mac");
  return {
    netns: ns,
    bridge: bounds.bridge,
    hostIfname: host,
    podIfname: pod,
    mtu,
    mac: opts.mac,
    ...planned,
  };
}
