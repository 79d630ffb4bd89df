/**
 * Built-in network plugin `bridge`, as the CNI plugin of that name with `isGateway` and `ipMasq`
 * off: each attachment gets a veth pair whose host end joins the node's bridge and whose other
 * end (`ifname`, usually `eth0`) is in the sandbox's netns, with the address its IPAM delegate
 * allocates and a default route via the range's gateway. Everything is done through host calls:
 * `skiff:host/host-net` (grant `host-net`; the node checks that only the netns of the attachment
 * being served is touched, only its bridge joined, only pod-CIDR addresses used) and the world's
 * `ipam` import (the IPAM Plugin the configuration's `ipam.type` names).
 *
 * An ADD is one `host-net.wire-veth` call (the node wires the veth pair, the address, the link
 * and the default route in one step, with rtnetlink requests of its own). Several attachments may share one netns and interface
 * (a Wasm sandbox group hosts several pods): the node finds the interface there and only adds
 * the second ADD's address; the DEL of the last one removes the interface.
 *
 * Settings (`spec.config`): `mtu` (68–65535; default: the kernel's, 1500).
 * @module
 */
import { deleteAddress, deleteLink, listAddresses, wireVeth } from "skiff:host/host-net@0.1.0";
import * as ipam from "skiff:network/ipam@0.1.0";
import type { Attachment, CniResult, ValidAttachment, VersionInfo } from "skiff:network/types@0.1.0";

let mtu = 0;

function fail(code: number, msg: string): never {
  throw { tag: "cni", val: { code, msg, details: "" } };
}

/** Runs a host call; its error becomes this interface's error variant. */
function host<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    const v = (e && typeof e === "object" && "payload" in e ? (e as { payload: unknown }).payload : e) as {
      tag?: string;
      val?: unknown;
    };
    if (v && typeof v === "object" && typeof v.tag === "string") {
      if (v.tag === "cni" || v.tag === "denied" || v.tag === "internal") throw v;
      throw { tag: "internal", val: `${what}: ${v.tag}: ${String(v.val)}` };
    }
    throw e;
  }
}

/** The host end of a sandbox's veth: `sk` + 8 hex digits of an FNV-1a hash of the netns path's last part. */
export function hostVethName(netns: string): string {
  const ns = netns.split("/").pop() ?? netns;
  let h = 0x811c9dc5;
  for (let i = 0; i < ns.length; i++) h = Math.imul(h ^ ns.charCodeAt(i), 0x01000193);
  return `sk${(h >>> 0).toString(16).padStart(8, "0")}`;
}

function bridgeOf(config: string): string {
  try {
    const c = JSON.parse(config || "{}");
    return typeof c.bridge === "string" ? c.bridge : "skiff0";
  } catch {
    fail(6, "the network configuration is not JSON");
  }
}

/** The address the ADD put on the interface, from `prevResult`. */
function previousAddress(a: Attachment): string | undefined {
  if (!a.prevResult) return undefined;
  try {
    return JSON.parse(a.prevResult)?.ips?.[0]?.address;
  } catch {
    fail(6, "prevResult is not JSON");
  }
}

export const cni = {
  configure(settings: string): void {
    const s = JSON.parse(settings || "{}");
    if (s.mtu !== undefined && !(Number.isInteger(s.mtu) && s.mtu >= 68 && s.mtu <= 65535)) {
      fail(7, `mtu must be an integer between 68 and 65535, not ${JSON.stringify(s.mtu)}`);
    }
    mtu = s.mtu ?? 0;
  },
  add(a: Attachment): CniResult {
    const bridge = bridgeOf(a.config);
    const r = host("ipam add", () => ipam.add(a));
    const ip = r.ips[0];
    if (!ip) fail(11, "the IPAM plugin allocated no address");
    const gw = ip.gateway;
    const veth = hostVethName(a.netns);
    const { mac } = host("wire-veth", () =>
      wireVeth(a.netns, {
        hostIfname: veth,
        podIfname: a.ifname,
        mtu,
        addresses: [ip.address],
        routes: gw ? [{ destination: "0.0.0.0/0", gateway: gw }] : [],
      }));
    return {
      cniVersion: "1.1.0",
      interfaces: [
        { name: bridge, mac: "", mtu: undefined, sandbox: undefined },
        { name: veth, mac: "", mtu: undefined, sandbox: undefined },
        { name: a.ifname, mac, mtu: mtu || undefined, sandbox: a.netns },
      ],
      ips: [{ address: ip.address, gateway: gw, interface: 2 }],
      routes: gw ? [{ dst: "0.0.0.0/0", gw, mtu: undefined }] : [],
      dns: r.dns ?? { nameservers: [], domain: undefined, search: [], options: [] },
    };
  },
  del(a: Attachment): void {
    const address = previousAddress(a);
    if (address) host("delete-address", () => deleteAddress(a.netns, a.ifname, address));
    if (!host("list-addresses", () => listAddresses(a.netns, a.ifname)).length) {
      host("delete-link", () => deleteLink(a.netns, a.ifname));
    }
    host("ipam del", () => ipam.del(a));
  },
  check(a: Attachment): void {
    const address = previousAddress(a);
    if (!address) fail(3, `no previous result for ${a.containerId}`);
    const have = host("list-addresses", () => listAddresses(a.netns, a.ifname));
    if (!have.includes(address)) {
      fail(3, `address ${address} of ${a.containerId} is not on ${a.ifname} in ${a.netns}`);
    }
    host("ipam check", () => ipam.check(a));
  },
  status(config: string): void {
    bridgeOf(config);
    host("ipam status", () => ipam.status(config));
  },
  gc(config: string, valid: ValidAttachment[]): void {
    host("ipam gc", () => ipam.gc(config, valid));
  },
  version(): VersionInfo {
    return { cniVersion: "1.1.0", supportedVersions: ["1.0.0", "1.1.0"] };
  },
};
