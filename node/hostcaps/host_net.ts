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
 *   the same checks, in one process started from the agent (node/hostcaps/veth_wiring.ts);
 * - `add-nft-rule`: into table `ip <table>` (bound `table`, default `skiff`) of the netns of the
 *   sandbox being served, only words of a closed vocabulary, only addresses inside `nftCIDRs`
 *   (default: the pod CIDRs and the service CIDR), tagged with the sandbox's id
 *   (node/hostcaps/nft_rule.ts); the node deletes them on the sandbox's DEL.
 * @module
 */
import type { Grant } from "../../control/api/plugins.ts";
import { insideCidrs } from "../../plugins/host/capabilities.ts";
import { hostDenied, hostFailed, type HostFunctions, hostInvalid } from "../../plugins/host/host_calls.ts";
import { ip, ipBatch, IpError, ipJson, isExists, isMissing } from "../cni/ip.ts";
import { netnsName } from "../cni/netns.ts";
import { NftError } from "../proxy/nft.ts";
import { addSandboxNftRule } from "./nft_sandbox.ts";
import { NftRuleRefused, planNftRule } from "./nft_rule.ts";
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

/** Whether a link exists in the agent's netns (sysfs: no process). */
function linkExists(name: string): boolean {
  try {
    Deno.statSync(`/sys/class/net/${name}`);
    return true;
  } catch {
    return false;
  }
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

/** Runs a wiring script in netns `name`; resolves to its stdout. */
async function runWiring(name: string, script: string): Promise<string> {
  const out = await new Deno.Command("/usr/bin/nsenter", {
    args: [`--net=/run/netns/${name}`, "--", "/bin/sh", "-c", script],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (out.code !== 0) {
    throw hostFailed(`wiring ${name} failed (${out.code}): ${dec.decode(out.stderr).trim().slice(0, 2000)}`);
  }
  return dec.decode(out.stdout);
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
      if (e instanceof IpError) throw hostFailed(e.message);
      throw e;
    }
  };
  return {
    "create-veth": ([netns, hostIf, podIf, mtu], ctx) => {
      const name = ns(netns, ctx);
      const host = ifname(hostIf);
      const pod = ifname(podIf);
      if (bridge !== node.bridge) {
        throw hostDenied(`the granted bridge ${bridge} is not this node's bridge ${node.bridge}`);
      }
      const m = typeof mtu === "number" && mtu > 0 ? Math.min(65535, Math.max(68, Math.floor(mtu))) : 0;
      return act(async () => {
        // A veth left by an earlier attempt goes first (its name is the plugin's choice, per netns).
        if (linkExists(host)) await ip(["link", "del", host]).catch(() => {});
        const mac = podMac();
        const add = [
          `link add ${host}${m ? ` mtu ${m}` : ""} type veth peer name ${pod} address ${mac}${
            m ? ` mtu ${m}` : ""
          } netns ${name}`,
          `link set ${host} master ${bridge} up`,
        ];
        try {
          await ipBatch(add);
        } catch (e) {
          if (!isExists(e)) throw e;
          // The pod end exists in the netns already (an earlier attempt): replace it.
          await ipBatch([`link del ${pod}`], { ns: name, force: true }).catch(() => {});
          await ipBatch([`link del ${host}`], { force: true }).catch(() => {});
          await ipBatch(add);
        }
        // Several attachments may share the interface (Wasm sandbox groups): deleting the first
        // (primary) address must not take the others with it, hence promote_secondaries.
        await ipBatch([`link set lo up`], {
          ns: name,
          sysctls: { [`net.ipv4.conf.${pod}.promote_secondaries`]: "1" },
        });
        return mac;
      });
    },
    "wire-veth": async ([netns, wiring], ctx) => {
      const name = ns(netns, ctx);
      const w = wiring as VethWiring;
      let plan;
      try {
        plan = planVethWiring({ bridge: node.bridge, grantedBridge: bridge, cidrs }, name, w, {
          agentNetns: `/proc/${Deno.pid}/ns/net`,
          mac: podMac(),
          hostLinkExists: typeof w?.hostIfname === "string" && linkExists(w.hostIfname),
        });
      } catch (e) {
        if (!(e instanceof WiringRefused)) throw e;
        throw e.reason === "denied" ? hostDenied(e.message) : hostInvalid(e.message);
      }
      const created = (await runWiring(name, plan.script)).includes("created");
      return { mac: created ? plan.mac : "", created };
    },
    "add-address": ([netns, ifn, cidr], ctx) => {
      const name = ns(netns, ctx);
      const dev = ifname(ifn);
      const addr = inside("address", cidr);
      return act(async () => {
        try {
          await ip(["-n", name, "addr", "add", addr, "dev", dev]);
        } catch (e) {
          if (!isExists(e)) throw e;
        }
      });
    },
    "delete-address": ([netns, ifn, cidr], ctx) => {
      const name = ns(netns, ctx);
      const dev = ifname(ifn);
      const addr = inside("address", cidr);
      return act(async () => {
        try {
          await ip(["-n", name, "addr", "del", addr, "dev", dev]);
        } catch (e) {
          if (!isMissing(e)) throw e;
        }
      });
    },
    "list-addresses": ([netns, ifn], ctx) => {
      const name = ns(netns, ctx);
      const dev = ifname(ifn);
      return act(async () => {
        try {
          const out = await ipJson<{ addr_info?: { family: string; local: string; prefixlen: number }[] }[]>(
            ["-n", name, "addr", "show", "dev", dev],
          );
          return (out[0]?.addr_info ?? []).filter((a) => a.family === "inet").map((a) =>
            `${a.local}/${a.prefixlen}`
          );
        } catch (e) {
          if (isMissing(e)) return [];
          throw e;
        }
      });
    },
    "add-route": ([netns, dst, gw], ctx) => {
      const name = ns(netns, ctx);
      if (typeof dst !== "string" || !/^[\d.]+\/\d+$/.test(dst)) {
        throw hostInvalid(`${JSON.stringify(dst)} is not a destination in CIDR notation`);
      }
      if (gw != null) inside("gateway", gw);
      else inside("link route", dst);
      const to = dst === "0.0.0.0/0" ? "default" : dst;
      return act(() =>
        ip(["-n", name, "route", "replace", to, ...(gw != null ? ["via", String(gw)] : [])]).then(() => {})
      );
    },
    "set-link-up": ([netns, ifn], ctx) => {
      const name = ns(netns, ctx);
      const dev = ifname(ifn);
      return act(() => ip(["-n", name, "link", "set", dev, "up"]).then(() => {}));
    },
    "delete-link": ([netns, ifn], ctx) => {
      const name = ns(netns, ctx);
      const dev = ifname(ifn);
      return act(async () => {
        try {
          await ip(["-n", name, "link", "del", dev]);
        } catch (e) {
          if (!isMissing(e)) throw e;
        }
      });
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
