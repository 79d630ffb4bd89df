/**
 * The IPAM kind's guest side: {@linkcode ipamOps} run in the runner on the plugin's `ipam`
 * export (CNI verbs over `skiff:network@0.1.0` records, jco's camelCase) and refuse malformed
 * answers. Attachments cross the runner pipe as JSON, so an absent option arrives as null or
 * not at all; {@linkcode toWitAttachment} is the host side's record. Pure.
 * @module
 */
import { type GuestOps, MalformedResult } from "../host/protocol.ts";

/** The WIT `attachment`, as JSON crosses to the runner. */
export interface WitAttachment {
  containerId: string;
  netns: string;
  ifname: string;
  args: [string, string][];
  /** The network configuration as JSON (`ipam.ranges`, ...). */
  config: string;
  prevResult?: string | null;
}

/** The WIT `cni-result`. */
export interface WitCniResult {
  cniVersion: string;
  interfaces: { name: string; mac: string; mtu?: number; sandbox?: string }[];
  ips: { address: string; gateway?: string; interface?: number }[];
  routes: { dst: string; gw?: string; mtu?: number }[];
  dns: { nameservers: string[]; domain?: string; search: string[]; options: string[] };
}

/** The attachment an IPAM delegate gets for a sandbox: its ID, netns, interface, and the range. */
export function toWitAttachment(
  req: { containerId: string; netns: string; ifName: string; args?: Record<string, string> },
  config: Record<string, unknown>,
): WitAttachment {
  return {
    containerId: req.containerId,
    netns: req.netns,
    ifname: req.ifName,
    args: Object.entries(req.args ?? {}),
    config: JSON.stringify(config),
  };
}

function guest(a: WitAttachment): unknown {
  return { ...a, args: (a.args ?? []).map(([k, v]) => [k, v]), prevResult: a.prevResult ?? undefined };
}

const CIDR = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$|^[0-9a-f:]+\/\d{1,3}$/i;

/** Checks an IPAM ADD answer: at least one address, each in CIDR notation. */
export function checkIpamResult(r: unknown): WitCniResult {
  const res = r as WitCniResult;
  if (!res || typeof res !== "object" || !Array.isArray(res.ips)) throw new MalformedResult("add answered no `ips`");
  if (!res.ips.length) throw new MalformedResult("add allocated no address");
  for (const ip of res.ips) {
    if (typeof ip?.address !== "string" || !CIDR.test(ip.address)) {
      throw new MalformedResult(`add answered an address that is not in CIDR notation: ${JSON.stringify(ip?.address)}`);
    }
  }
  return {
    cniVersion: String(res.cniVersion ?? ""),
    interfaces: res.interfaces ?? [],
    ips: res.ips,
    routes: res.routes ?? [],
    dns: res.dns ?? { nameservers: [], search: [], options: [] },
  };
}

type Fn = (...a: unknown[]) => unknown;

/** The `ipam` interface's operations, as the runner calls them. */
export const ipamOps: GuestOps = {
  configure: (p, settings: string) => (p.configure as Fn)(settings),
  add: (p, a: WitAttachment) => checkIpamResult((p.add as Fn)(guest(a))),
  del: (p, a: WitAttachment) => (p.del as Fn)(guest(a)),
  check: (p, a: WitAttachment) => (p.check as Fn)(guest(a)),
  status: (p, config: string) => (p.status as Fn)(config),
  gc: (p, config: string, valid: { containerId: string; ifname: string }[]) => (p.gc as Fn)(config, valid),
  version: (p) => (p.version as Fn)(),
};
