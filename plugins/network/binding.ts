/**
 * The network and IPAM kinds' guest side: {@linkcode networkOps} and {@linkcode ipamOps} run in
 * the runner on the plugin's `cni` or `ipam` export (CNI verbs over `skiff:network@0.1.0`
 * records, jco's camelCase) and refuse malformed answers; {@linkcode networkImports} is the
 * network world's `ipam` import, the IPAM delegate, served by the host (a nested host call of
 * capability `ipam`: the node calls the IPAM plugin the configuration's `ipam.type` names).
 * Attachments cross the runner pipe as JSON, so an absent option arrives as null or not at all;
 * {@linkcode toWitAttachment} is the host side's record. Pure.
 * @module
 */
import type { HostCallFn } from "../host/bindings.ts";
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

/** The attachment an IPAM delegate or network plugin gets for a sandbox: its ID, netns, interface, and the range. */
export function toWitAttachment(
  req: { containerId: string; netns: string; ifName: string; args?: Record<string, string> },
  config: Record<string, unknown>,
  prevResult?: string,
): WitAttachment {
  return {
    containerId: req.containerId,
    netns: req.netns,
    ifname: req.ifName,
    args: Object.entries(req.args ?? {}),
    config: JSON.stringify(config),
    ...(prevResult ? { prevResult } : {}),
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

/** Checks a network plugin's ADD answer: an IPAM-checked result that also lists interfaces. */
export function checkNetworkResult(r: unknown): WitCniResult {
  const res = checkIpamResult(r);
  if (!Array.isArray(res.interfaces) || res.interfaces.some((i) => typeof i?.name !== "string")) {
    throw new MalformedResult("add answered interfaces without names");
  }
  return res;
}

type Fn = (...a: unknown[]) => unknown;

/** The `cni` interface's operations (network plugins), as the runner calls them. */
export const networkOps: GuestOps = {
  configure: (p, settings: string) => (p.configure as Fn)(settings),
  add: (p, a: WitAttachment) => checkNetworkResult((p.add as Fn)(guest(a))),
  del: (p, a: WitAttachment) => (p.del as Fn)(guest(a)),
  check: (p, a: WitAttachment) => (p.check as Fn)(guest(a)),
  status: (p, config: string) => (p.status as Fn)(config),
  gc: (p, config: string, valid: { containerId: string; ifname: string }[]) => (p.gc as Fn)(config, valid),
  version: (p) => (p.version as Fn)(),
};

/**
 * The network world's `ipam` import: each verb is a nested host call (capability `ipam`); the
 * host answers with the IPAM plugin's result or its error variant.
 */
export function networkImports(hostCall: HostCallFn): Record<string, Record<string, unknown>> {
  const verb = (fn: string) => (...args: unknown[]) => hostCall("ipam", fn, args);
  return {
    "skiff:network/types": {},
    "skiff:network/ipam": {
      configure: verb("configure"),
      add: verb("add"),
      del: verb("del"),
      check: verb("check"),
      status: verb("status"),
      gc: verb("gc"),
      version: verb("version"),
    },
  };
}

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
