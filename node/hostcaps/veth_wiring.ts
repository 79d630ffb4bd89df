/**
 * `host-net.wire-veth`, pure: checks a sandbox interface's whole wiring (the veth pair joined to
 * the node's bridge, addresses, link up, routes) against the same bounds as the one-step verbs
 * (`create-veth`, `add-address`, `set-link-up`, `add-route`) and plans it as one shell script,
 * run by one process started in the sandbox's netns (`nsenter --net=<netns> sh -c`), so a
 * sandbox costs one process start from the agent instead of one per step:
 *
 * 1. whether `pod-ifname` exists in the netns is read from `/proc/net/dev` (a shell builtin);
 * 2. if not: one `ip -batch` in the agent's netns creates the pair (the pod end in the netns,
 *    with a fresh MAC) and joins the host end to the bridge;
 * 3. one `ip -batch` in the netns: `lo` up, `addr replace` each address, the link up, `route
 *    replace` each route (all idempotent);
 * 4. if created: `promote_secondaries` on the pod interface (several attachments may share it).
 *
 * Every word of the script is a checked interface name, address, number or a constant, so
 * nothing a plugin passes can reach the shell unquoted.
 * @module
 */
import { insideCidrs } from "../../plugins/host/capabilities.ts";

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

/** The planned script and what it needs at run time. */
export interface WiringPlan {
  /** `sh -c` script; prints `created` when it made the pair. */
  script: string;
  /** The pod end's MAC when the script creates the pair. */
  mac: string;
}

function ifname(name: unknown): string {
  if (typeof name !== "string" || !IFNAME.test(name)) {
    throw new WiringRefused("invalid", `${JSON.stringify(name)} is not an interface name`);
  }
  return name;
}

/**
 * Checks `w` and plans it for netns `ns` (a name under /run/netns); `agentNetns` is the path of
 * the agent's own netns (`/proc/<pid>/ns/net`), `mac` the MAC a new pod end gets,
 * `hostLinkExists` whether a host end of that name is left from an earlier attempt. Pure.
 */
export function planVethWiring(
  bounds: WiringBounds,
  ns: string,
  w: VethWiring,
  opts: { agentNetns: string; mac: string; hostLinkExists: boolean },
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
  const addrLines = addresses.map((a) => `addr replace ${inside("address", a, CIDR)} dev ${pod}`);
  const routeLines = routes.map((r) => {
    const dst = r?.destination;
    if (typeof dst !== "string" || !CIDR.test(dst)) {
      throw new WiringRefused("invalid", `${JSON.stringify(dst)} is not a destination in CIDR notation`);
    }
    const gw = r.gateway;
    if (gw != null) inside("gateway", gw, ADDRESS);
    else inside("link route", dst, CIDR);
    const to = dst === "0.0.0.0/0" ? "default" : dst;
    return gw != null ? `route replace ${to} via ${gw}` : `route replace ${to} dev ${pod}`;
  });
  const m = typeof w.mtu === "number" && w.mtu > 0 ? Math.min(65535, Math.max(68, Math.floor(w.mtu))) : 0;
  const mtu = m ? ` mtu ${m}` : "";
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(opts.mac) || !/^\/proc\/\d+\/ns\/net$/.test(opts.agentNetns)) {
    throw new TypeError("planVethWiring: bad mac or agent netns");
  }
  const hostLines = [
    ...(opts.hostLinkExists ? [`link del ${host}`] : []),
    `link add ${host}${mtu} type veth peer name ${pod} address ${opts.mac}${mtu} netns ${ns}`,
    `link set ${host} master ${bounds.bridge} up`,
  ];
  const podLines = ["link set lo up", ...addrLines, `link set ${pod} up`, ...routeLines];
  const heredoc = (lines: string[]) => `<<'SKIFF_EOF'\n${lines.join("\n")}\nSKIFF_EOF`;
  const script = [
    "set -e",
    "created=",
    `while read -r l _; do case "$l" in ${pod}:*) created=no;; esac; done < /proc/net/dev`,
    `if [ -z "$created" ]; then`,
    `/usr/bin/nsenter --net=${opts.agentNetns} -- /usr/sbin/ip -batch - ${heredoc(hostLines)}`,
    "created=yes",
    "fi",
    `/usr/sbin/ip -batch - ${heredoc(podLines)}`,
    // Several attachments may share the interface (Wasm sandbox groups): deleting the first
    // (primary) address must not take the others with it.
    `if [ "$created" = yes ]; then echo 1 > /proc/sys/net/ipv4/conf/${pod}/promote_secondaries; echo created; fi`,
  ].join("\n");
  return { script, mac: opts.mac };
}
