/**
 * Built-in IPAM plugin `host-local`, as the CNI plugin of that name: allocates one address per
 * attachment (container ID + interface) from the range the network configuration names
 * (`ipam.ranges[0][0].subnet`, on Skiff nodes the node's pod CIDR), round-robin from where the
 * last allocation stopped, skipping the network address, the gateway (the first address, unless
 * `ipam.ranges[0][0].gateway` says otherwise) and the broadcast address. Allocations live in the
 * plugin's state store (`skiff:host/state`, grant `state`), so they survive restarts, instance
 * recycles and upgrades of the Plugin:
 *
 * - `a/<container-id>/<ifname>` → the address;
 * - `ip/<address>` → `<container-id>/<ifname>`;
 * - `last` → the last address handed out.
 *
 * Settings (`spec.config`): `range`: `all` (default), `lower-half` or `upper-half` of the subnet
 * (two Plugins, or two generations of one, can split a node's range); `rangeStart` / `rangeEnd`
 * in the network configuration are honoured as host-local does.
 * @module
 */
import { delete as remove, get, listKeys, set } from "skiff:host/state@0.1.0";
import type { Attachment, CniResult, ValidAttachment, VersionInfo } from "skiff:network/types@0.1.0";

type Part = "all" | "lower-half" | "upper-half";
let part: Part = "all";

// QuickJS has no TextEncoder: keys and values are ASCII.
const enc = { encode: (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0)) };
const dec = { decode: (b: Uint8Array) => String.fromCharCode(...b) };

function fail(code: number, msg: string): never {
  throw { tag: "cni", val: { code, msg, details: "" } };
}

function ipToNum(s: string): number {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (!m) fail(7, `${s} is not an IPv4 address`);
  const p = m.slice(1).map(Number);
  if (p.some((x) => x > 255)) fail(7, `${s} is not an IPv4 address`);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

function numToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

interface Range {
  bits: number;
  gateway: number;
  first: number;
  last: number;
}

/** The usable addresses of the configuration's first range, cut to this plugin's part. */
function range(config: string): Range {
  let c: { ipam?: { ranges?: { subnet?: string; gateway?: string; rangeStart?: string; rangeEnd?: string }[][] } };
  try {
    c = JSON.parse(config || "{}");
  } catch {
    fail(6, "the network configuration is not JSON");
  }
  const r = c.ipam?.ranges?.[0]?.[0];
  if (!r?.subnet) fail(7, "the network configuration has no ipam.ranges[0][0].subnet");
  const [addr, lenText] = r.subnet.split("/");
  const bits = Number(lenText);
  if (!(bits >= 8 && bits <= 30)) fail(7, `subnet ${r.subnet}: the prefix must be between /8 and /30`);
  const size = 2 ** (32 - bits);
  const base = ipToNum(addr) - (ipToNum(addr) % size);
  const gateway = r.gateway ? ipToNum(r.gateway) : base + 1;
  let first = r.rangeStart ? ipToNum(r.rangeStart) : base + 1;
  let last = r.rangeEnd ? ipToNum(r.rangeEnd) : base + size - 2;
  const mid = base + size / 2;
  if (part === "lower-half") last = Math.min(last, mid - 1);
  if (part === "upper-half") first = Math.max(first, mid);
  if (last < first) fail(7, `subnet ${r.subnet} has no addresses in ${part}`);
  return { bits, gateway, first, last };
}

const key = (a: Attachment) => `a/${a.containerId}/${a.ifname}`;
const text = (k: string) => {
  const v = get(k);
  return v ? dec.decode(v) : undefined;
};

function result(ip: string, r: Range): CniResult {
  const gw = numToIp(r.gateway);
  return {
    cniVersion: "1.1.0",
    interfaces: [],
    ips: [{ address: `${ip}/${r.bits}`, gateway: gw, interface: undefined }],
    routes: [{ dst: "0.0.0.0/0", gw, mtu: undefined }],
    dns: { nameservers: [], domain: undefined, search: [], options: [] },
  };
}

function release(k: string): void {
  const ip = text(k);
  if (ip !== undefined) remove(`ip/${ip}`);
  remove(k);
}

export const ipam = {
  configure(settings: string): void {
    const s = JSON.parse(settings || "{}");
    const want = s.range ?? "all";
    if (!["all", "lower-half", "upper-half"].includes(want)) {
      fail(7, `range must be all, lower-half or upper-half, not ${JSON.stringify(want)}`);
    }
    part = want;
  },
  add(a: Attachment): CniResult {
    const r = range(a.config);
    const k = key(a);
    const have = text(k);
    if (have !== undefined) return result(have, r);
    const count = r.last - r.first + 1;
    const prev = text("last");
    const prevNum = prev === undefined ? -1 : ipToNum(prev);
    const start = prevNum >= r.first && prevNum < r.last ? prevNum + 1 - r.first : 0;
    for (let i = 0; i < count; i++) {
      const n = r.first + ((start + i) % count);
      if (n === r.gateway) continue;
      const ip = numToIp(n);
      if (get(`ip/${ip}`) != null) continue;
      set(`ip/${ip}`, enc.encode(`${a.containerId}/${a.ifname}`));
      set(k, enc.encode(ip));
      set("last", enc.encode(ip));
      return result(ip, r);
    }
    fail(11, `no IP addresses available in range ${numToIp(r.first)}-${numToIp(r.last)}`);
  },
  del(a: Attachment): void {
    release(key(a));
  },
  check(a: Attachment): void {
    if (text(key(a)) === undefined) fail(3, `no address allocated for ${a.containerId}/${a.ifname}`);
  },
  status(config: string): void {
    range(config);
  },
  gc(_config: string, valid: ValidAttachment[]): void {
    const keep = new Set(valid.map((v) => `a/${v.containerId}/${v.ifname}`));
    for (const k of listKeys("a/")) if (!keep.has(k)) release(k);
  },
  version(): VersionInfo {
    return { cniVersion: "1.1.0", supportedVersions: ["1.0.0", "1.1.0"] };
  },
};
