/**
 * The `host-net` capability, performed by the node agent for a network plugin's runner (nested
 * host calls): veth pairs joined to the node's bridge, addresses, routes and links inside the
 * netns of the sandbox being set up. Bounds, checked here before anything runs:
 *
 * - `netns`: every call names a netns, which must be the one of the attachment the plugin is
 *   serving now (the call's context, set by the node; none: every call is denied);
 * - `bridge`: veths join the node's bridge; a grant naming another bridge is denied;
 * - `podCIDRs` (default: the node's pod CIDR): addresses, gateways of routes and destinations of
 *   link routes must lie inside ({@linkcode insideCidrs});
 * - interface names are Linux names (1–15 of `[A-Za-z0-9_.-]`);
 * - `wire-veth` does what `create-veth`, `add-address`, `set-link-up` and `add-route` do, with
 *   the same checks (node/hostcaps/veth_wiring.ts), by rtnetlink requests from the agent, with
 *   no process (node/hostcaps/veth_wire.ts);
 * - `add-nft-rule`: into table `ip <table>` (bound `table`, default `skiff`) of the netns of the
 *   sandbox being served, only words of a closed vocabulary, only addresses inside `nftCIDRs`
 *   (default: the pod CIDRs and the service CIDR), tagged with the sandbox's id
 *   (node/hostcaps/nft_rule.ts); the node deletes them on the sandbox's DEL.
 * @module
 */
import type { Grant } from "../../control/api/plugins.ts";
import { insideCidrs } from "../../plugins/host/capabilities.ts";
import { hostDenied, hostFailed, type HostFunctions, hostInvalid } from "../../plugins/host/host_calls.ts";
import { netnsName, netnsPath } from "../cni/netns.ts";
import { NftError } from "../proxy/nft.ts";
import { addSandboxNftRule } from "./nft_sandbox.ts";
import { NftRuleRefused, planNftRule } from "./nft_rule.ts";
import { closeFd, NetlinkError, openNetnsFd, RTM_DELADDR, RTM_NEWADDR, RtSocket } from "./netlink.ts";
import {
  address,
  deleteLink,
  dumpAddresses,
  newVethPair,
  parseAddress,
  type Prefix,
  promoteSecondaries,
  route,
  setLinkUp,
} from "./rt_requests.ts";
import { linkIndex, wireVeth } from "./veth_wire.ts";
import { planVethWiring, type VethWiring, WiringRefused } from "./veth_wiring.ts";

/** What a network call is for: set by the node with each call to a network plugin. */
export interface NetworkCallContext {
  containerId: string;
  netns: string;
  /** Set by `add-nft-rule`: the sandbox has rules to delete on its DEL. */
  nftRules?: boolean;
}

/** The node facts the bounds need. */
export interface HostNetNode {
  bridge: string;
  podCIDR: string;
  /** The cluster's service CIDR (default {@linkcode DEFAULT_SERVICE_CIDR}, the API server's default). */
  serviceCIDR?: string;
}

/** The API server's default service CIDR. */
export const DEFAULT_SERVICE_CIDR = "198.19.0.0/16";

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const ENOENT = 2, ENODEV = 19, EEXIST = 17, EADDRNOTAVAIL = 99;

/** `a.b.c.d[/n]` (checked inside the pod CIDRs already) split; no prefix length: /32. */
function prefix(cidr: string): Prefix {
  const [address, len = "32"] = cidr.split("/");
  return { address, prefixLength: Number(len) };
}

/** A random locally administered unicast MAC for a pod interface. */
function podMac(): string {
  const b = crypto.getRandomValues(new Uint8Array(6));
  b[0] = (b[0] & 0xfc) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

function ifname(name: unknown): string {
  if (typeof name !== "string" || !IFNAME.test(name)) {
    throw hostInvalid(`${JSON.stringify(name)} is not an interface name`);
  }
  return name;
}

/** The `host-net` functions bound to one grant. */
export function hostNet(grant: Grant, node: HostNetNode): HostFunctions {
  const bridge = typeof grant.bounds?.bridge === "string" ? grant.bounds.bridge : node.bridge;
  const cidrs = Array.isArray(grant.bounds?.podCIDRs) ? grant.bounds.podCIDRs.map(String) : [node.podCIDR];
  const nftBounds = {
    table: typeof grant.bounds?.table === "string" ? grant.bounds.table : "skiff",
    cidrs: Array.isArray(grant.bounds?.nftCIDRs)
      ? grant.bounds.nftCIDRs.map(String)
      : [...cidrs, node.serviceCIDR ?? DEFAULT_SERVICE_CIDR],
  };
  /** The netns name, if the path is the current attachment's. */
  const ns = (path: unknown, context: unknown): string => {
    const ctx = context as NetworkCallContext | undefined;
    if (typeof path !== "string") throw hostInvalid("netns must be a path");
    if (!ctx?.netns) throw hostDenied("host-net is only available while a sandbox is set up or torn down");
    if (path !== ctx.netns) {
      throw hostDenied(`netns ${path} is not the one of the sandbox being set up (${ctx.netns})`);
    }
    try {
      return netnsName(path);
    } catch (e) {
      throw hostInvalid((e as Error).message);
    }
  };
  const inside = (what: string, cidr: unknown): string => {
    if (typeof cidr !== "string") throw hostInvalid(`${what} must be a string`);
    if (!insideCidrs(cidrs, cidr)) {
      throw hostDenied(`${what} ${cidr} is outside the granted pod CIDRs ${cidrs.join(", ")}`);
    }
    return cidr;
  };
  const act = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      if (e instanceof NetlinkError) throw hostFailed(e.message);
      throw e;
    }
  };
  /**
   * Runs `f` with an rtnetlink socket in netns `name`. `gone`: the answer when the netns is gone
   * (the deletions and listings: a DEL after the sandbox's netns went succeeds, as CNI asks).
   */
  const inNetns = <T>(name: string, f: (s: RtSocket) => Promise<T>, gone?: { answer: T }): Promise<T> =>
    act(async () => {
      let sock;
      try {
        sock = RtSocket.open(netnsPath(name));
      } catch (e) {
        if (gone && e instanceof NetlinkError && e.errno === ENOENT) return gone.answer;
        throw e;
      }
      using s = sock;
      return await f(s);
    });
  /** The index of `dev` in the socket's netns; `ENODEV` when missing (and not `optional`). */
  const index = async (s: RtSocket, dev: string, optional = false): Promise<number | null> => {
    const i = await linkIndex(s, dev);
    if (i === null && !optional) throw new NetlinkError(`Cannot find device "${dev}"`, ENODEV);
    return i;
  };
  return {
    "create-veth": ([netns, hostIf, podIf, mtu], ctx) => {
      const name = ns(netns, ctx);
      const host = ifname(hostIf);
      const pod_ = ifname(podIf);
      if (bridge !== node.bridge) {
        throw hostDenied(`the granted bridge ${bridge} is not this node's bridge ${node.bridge}`);
      }
      const m = typeof mtu === "number" && mtu > 0 ? Math.min(65535, Math.max(68, Math.floor(mtu))) : 0;
      return act(async () => {
        const mac = podMac();
        const path = netnsPath(name);
        using agent = RtSocket.open();
        using pod = RtSocket.open(path);
        const master = await linkIndex(agent, bridge);
        if (master === null) throw new NetlinkError(`bridge ${bridge}`, ENODEV);
        const fd = openNetnsFd(path);
        try {
          const add = newVethPair({ hostIfname: host, podIfname: pod_, mtu: m, mac }, master, fd);
          const [a] = await agent.transact([add], { slow: true });
          if (a.errno === EEXIST) {
            // A pair left by an earlier attempt (either end; the names are the plugin's, per netns): replace it.
            await pod.transact([deleteLink(pod_)], { slow: true });
            await agent.transact([deleteLink(host)], { slow: true });
            await agent.request(`RTM_NEWLINK ${host}`, add, { slow: true });
          } else if (a.errno) throw new NetlinkError(`RTM_NEWLINK ${host}`, a.errno);
        } finally {
          closeFd(fd);
        }
        // Several attachments may share the interface (Wasm sandbox groups): deleting the first
        // (primary) address must not take the others with it, hence promote_secondaries (the
        // interface stays down: `set-link-up` brings it up).
        await pod.request("lo up", setLinkUp("lo"));
        await pod.request(`${pod_} promote_secondaries`, promoteSecondaries(pod_));
        return mac;
      });
    },
    "wire-veth": async ([netns, wiring], ctx) => {
      const name = ns(netns, ctx);
      const w = wiring as VethWiring;
      let plan;
      try {
        plan = planVethWiring({ bridge: node.bridge, grantedBridge: bridge, cidrs }, name, w, {
          mac: podMac(),
        });
      } catch (e) {
        if (!(e instanceof WiringRefused)) throw e;
        throw e.reason === "denied" ? hostDenied(e.message) : hostInvalid(e.message);
      }
      let created;
      try {
        created = await wireVeth(plan);
      } catch (e) {
        if (e instanceof NetlinkError) throw hostFailed(`wiring ${name} failed: ${e.message}`);
        throw e;
      }
      return { mac: created ? plan.mac : "", created };
    },
    "add-address": ([netns, ifn, cidr], ctx) => {
      const name = ns(netns, ctx);
      const dev = ifname(ifn);
      const addr = prefix(inside("address", cidr));
      return inNetns(name, async (s) => {
        const [a] = await s.transact([address(addr, (await index(s, dev))!, RTM_NEWADDR, { add: true })]);
        if (a.errno && a.errno !== EEXIST) throw new NetlinkError(`address ${cidr} on ${dev}`, a.errno);
      });
    },
    "delete-address": ([netns, ifn, cidr], ctx) => {
      const name = ns(netns, ctx);
      const dev = ifname(ifn);
      const addr = prefix(inside("address", cidr));
      return inNetns(name, async (s) => {
        const i = await index(s, dev, true);
        if (i === null) return;
        const [a] = await s.transact([address(addr, i, RTM_DELADDR)]);
        if (a.errno && a.errno !== EADDRNOTAVAIL) {
          throw new NetlinkError(`deleting ${cidr} from ${dev}`, a.errno);
        }
      }, { answer: undefined });
    },
    "list-addresses": ([netns, ifn], ctx) => {
      const name = ns(netns, ctx);
      const dev = ifname(ifn);
      return inNetns(name, async (s) => {
        const i = await index(s, dev, true);
        if (i === null) return [];
        const answers = await s.request("listing addresses", dumpAddresses());
        return answers.map((m) => parseAddress(m.body)).filter((a) => a?.index === i).map((a) => a!.cidr);
      }, { answer: [] as string[] });
    },
    "add-route": ([netns, dst, gw], ctx) => {
      const name = ns(netns, ctx);
      if (typeof dst !== "string" || !/^[\d.]+\/\d+$/.test(dst)) {
        throw hostInvalid(`${JSON.stringify(dst)} is not a destination in CIDR notation`);
      }
      if (gw != null) inside("gateway", gw);
      else inside("link route", dst);
      const r = { ...prefix(dst), ...(gw != null ? { gateway: prefix(String(gw)).address } : {}) };
      return inNetns(name, (s) => s.request(`route ${dst}`, route(r, 0)).then(() => {}));
    },
    "set-link-up": ([netns, ifn], ctx) => {
      const name = ns(netns, ctx);
      const dev = ifname(ifn);
      return inNetns(name, (s) => s.request(`${dev} up`, setLinkUp(dev)).then(() => {}));
    },
    "delete-link": ([netns, ifn], ctx) => {
      const name = ns(netns, ctx);
      const dev = ifname(ifn);
      return inNetns(name, async (s) => {
        const [a] = await s.transact([deleteLink(dev)], { slow: true });
        if (a.errno && a.errno !== ENODEV) throw new NetlinkError(`deleting ${dev}`, a.errno);
      }, { answer: undefined });
    },
    "add-nft-rule": ([chain, rule], ctx) => {
      const c = ctx as NetworkCallContext | undefined;
      if (!c?.netns || !c.containerId) {
        throw hostDenied("host-net is only available while a sandbox is set up or torn down");
      }
      const name = ns(c.netns, c);
      let plan;
      try {
        plan = planNftRule(nftBounds, c.containerId, chain, rule);
      } catch (e) {
        if (!(e instanceof NftRuleRefused)) throw e;
        throw e.reason === "denied" ? hostDenied(e.message) : hostInvalid(e.message);
      }
      return (async () => {
        try {
          await addSandboxNftRule(name, nftBounds.table, plan);
        } catch (e) {
          if (e instanceof NftError) throw hostFailed(e.message);
          throw e;
        }
        c.nftRules = true;
      })();
    },
  };
}
