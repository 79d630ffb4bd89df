/**
 * The node's pod network, a CNI-style bridge plugin: the bridge (`skiff0`) holds the gateway,
 * the first address of the node's pod CIDR; each sandbox network namespace gets a veth pair
 * whose host end joins the bridge and whose other end is `eth0` inside, with a default route
 * via the gateway; each attachment (`containerId`) gets one address from host-local IPAM on that
 * `eth0`. The host reaches pod IPs through the bridge's connected route.
 *
 * Forwarding stays off (globally and on the bridge): pods reach each other on the bridge (L2)
 * and the host directly, and nothing leaves the machine. Services (a later issue) will turn on
 * forwarding for the bridge only.
 *
 * @example
 * ```ts
 * const net = new BridgeNetwork({ bridge: "skiff0", podCIDR: "198.18.4.0/22", ipamDir });
 * await net.setUp();
 * const r = await net.add({ containerId: "s1", netns: "/run/netns/skiff-s1", ifName: "eth0" });
 * ```
 * @module
 */
import { type Cidr, ipToNumber, parseCidr } from "../../control/api/cidr.ts";
import { CniError, type CniRequest, type CniResult, type NetworkPlugin } from "./api.ts";
import { HostLocalIpam } from "./host_local.ts";
import { DelegatedAllocations, type IpamDelegates } from "./ipam_delegate.ts";
import { ip, ipBatch, IpError, ipJson, isExists, isMissing } from "./ip.ts";

export interface BridgeNetworkOptions {
  bridge: string;
  podCIDR: string;
  /** Where IPAM keeps its allocation files. */
  ipamDir: string;
  /**
   * IPAM plugins: when one applies, new addresses come from it instead of the built-in
   * host-local; what it allocated is released by it (the record is in `<ipamDir>/delegated/`).
   */
  ipamPlugins?: IpamDelegates;
}

/** Netns path → name (`/run/netns/<name>`). */
export function netnsName(path: string): string {
  const m = path.match(/^\/run\/netns\/([^/]+)$/) ?? path.match(/^\/var\/run\/netns\/([^/]+)$/);
  if (!m) throw new CniError(7, `network namespace path ${path} is not under /run/netns`);
  return m[1];
}

/** The host end of a sandbox's veth: `sk` + 8 hex digits of a hash of the netns name. */
export function hostVethName(ns: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < ns.length; i++) h = Math.imul(h ^ ns.charCodeAt(i), 0x01000193);
  return `sk${(h >>> 0).toString(16).padStart(8, "0")}`;
}

export class BridgeNetwork implements NetworkPlugin {
  readonly bridge: string;
  readonly podCIDR: string;
  readonly ipam: HostLocalIpam;
  /** Addresses allocated by IPAM plugins, and by which. */
  readonly delegated: DelegatedAllocations;
  readonly #plugins?: IpamDelegates;
  readonly #range: Cidr;
  readonly #bits: number;
  /** Namespaces known to hold our interface (saves an `ip` run per pod); cleared on detach. */
  readonly #attached = new Set<string>();

  constructor(opts: BridgeNetworkOptions) {
    this.bridge = opts.bridge;
    this.podCIDR = opts.podCIDR;
    this.ipam = new HostLocalIpam(opts.ipamDir, opts.podCIDR);
    this.delegated = new DelegatedAllocations(`${opts.ipamDir}/delegated`);
    this.#plugins = opts.ipamPlugins;
    this.#range = parseCidr(opts.podCIDR);
    this.#bits = this.#range.bits;
  }

  get gateway(): string {
    return this.ipam.gateway;
  }

  /** Creates the bridge with the gateway address (idempotent). */
  async setUp(): Promise<void> {
    try {
      await ip(["link", "add", this.bridge, "type", "bridge"]);
    } catch (e) {
      if (!isExists(e)) throw e;
    }
    const gw = `${this.gateway}/${this.#bits}`;
    const addrs = await ipJson<{ addr_info?: { local: string; prefixlen: number }[] }[]>([
      "addr",
      "show",
      "dev",
      this.bridge,
    ]);
    const have = (addrs[0]?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`);
    const lines = have.filter((a) => a !== gw && a.includes(".")).map((a) =>
      `addr del ${a} dev ${this.bridge}`
    );
    if (!have.includes(gw)) lines.push(`addr add ${gw} dev ${this.bridge}`);
    lines.push(`link set ${this.bridge} up`);
    await ipBatch(lines);
  }

  /** Deletes the bridge (the veths attached to it go with their namespaces). */
  async tearDown(): Promise<void> {
    try {
      await ip(["link", "del", this.bridge]);
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
  }

  async status(): Promise<void> {
    try {
      await ip(["link", "show", this.bridge]);
    } catch (e) {
      throw new CniError(11, `bridge ${this.bridge} is missing`, e instanceof IpError ? e.stderr : String(e));
    }
  }

  async add(req: CniRequest): Promise<CniResult> {
    const ns = netnsName(req.netns);
    const address = await this.#allocate(req);
    const cidr = `${address}/${this.#bits}`;
    try {
      const key = `${ns}/${req.ifName}`;
      if (!this.#attached.has(key) && !(await this.#hasInterface(ns, req.ifName))) {
        const veth = hostVethName(ns);
        await ipBatch([
          `link del ${veth}`,
        ], { force: true }).catch(() => {});
        await ipBatch([
          `link add ${veth} type veth peer name ${req.ifName} netns ${ns}`,
          `link set ${veth} master ${this.bridge} up`,
        ]);
        // Several pods may share this interface: deleting the first (primary) address must not
        // take the others with it, hence promote_secondaries.
        await ipBatch([
          `link set lo up`,
          `addr add ${cidr} dev ${req.ifName}`,
          `link set ${req.ifName} up`,
          `route replace default via ${this.gateway} dev ${req.ifName}`,
        ], { ns, sysctls: { [`net.ipv4.conf.${req.ifName}.promote_secondaries`]: "1" } });
        this.#attached.add(key);
      } else {
        this.#attached.add(key);
        try {
          await ip(["-n", ns, "addr", "add", cidr, "dev", req.ifName]);
        } catch (e) {
          if (!isExists(e)) throw e;
        }
      }
    } catch (e) {
      await this.#release(req).catch(() => {});
      if (e instanceof IpError) {
        throw new CniError(100, `could not attach ${req.containerId} to ${this.bridge}`, e.message);
      }
      throw e;
    }
    return {
      cniVersion: "1.0.0",
      interfaces: [
        { name: this.bridge },
        { name: hostVethName(ns) },
        { name: req.ifName, sandbox: req.netns },
      ],
      ips: [{ address: cidr, gateway: this.gateway, interface: 2 }],
      routes: [{ dst: "0.0.0.0/0", gw: this.gateway }],
      dns: {},
    };
  }

  /** The address `containerId` holds, from an IPAM plugin or the built-in host-local. */
  async find(containerId: string): Promise<string | undefined> {
    return (await this.delegated.get(containerId))?.address ?? await this.ipam.find(containerId);
  }

  /** An address for the attachment: the one it has, else from the current IPAM plugin, else host-local. */
  async #allocate(req: CniRequest): Promise<string> {
    const had = await this.find(req.containerId);
    if (had) return had;
    const plugin = this.#plugins?.current();
    const got = plugin ? await plugin.add(req, this.podCIDR) : null;
    if (!plugin || !got) {
      return await this.ipam.allocate(req.containerId, async () => new Set((await this.delegated.all()).map((r) => r.address)));
    }
    const address = got.address.split("/")[0];
    const n = ipToNumber(address);
    const size = 2 ** (32 - this.#bits);
    if (n === null || n <= this.#range.base + 1 || n >= this.#range.base + size - 1) {
      await plugin.del(req, this.podCIDR).catch(() => {});
      throw new CniError(
        7,
        `IPAM plugin "${plugin.name}" allocated ${got.address}, which is not a usable address of the node's pod CIDR ${this.podCIDR}`,
      );
    }
    const holder = (await this.ipam.allocations()).get(address) ??
      (await this.delegated.all()).find((r) => r.address === address && r.containerId !== req.containerId)?.containerId;
    if (holder) {
      await plugin.del(req, this.podCIDR).catch(() => {});
      throw new CniError(
        7,
        `IPAM plugin "${plugin.name}" allocated ${address}, which ${holder} already holds on this node (overlapping ranges?)`,
      );
    }
    await this.delegated.put({ ...got, address, plugin: plugin.name, containerId: req.containerId, ifName: req.ifName });
    return address;
  }

  /** Releases the attachment's address where it was allocated (idempotent). */
  async #release(req: CniRequest): Promise<void> {
    const rec = await this.delegated.get(req.containerId);
    if (rec) {
      const plugin = this.#plugins?.byName(rec.plugin);
      if (plugin) await plugin.del({ ...req, ifName: rec.ifName }, this.podCIDR);
      else {
        this.#plugins?.log?.(
          `IPAM plugin "${rec.plugin}" is gone from this node: ${rec.address} of ${req.containerId} stays allocated in its store`,
        );
      }
      await this.delegated.delete(req.containerId);
    }
    await this.ipam.release(req.containerId);
  }

  async del(req: CniRequest): Promise<void> {
    const address = await this.find(req.containerId);
    if (address && await exists(req.netns)) {
      try {
        const ns = netnsName(req.netns);
        await ip(["-n", ns, "addr", "del", `${address}/${this.#bits}`, "dev", req.ifName]);
      } catch (e) {
        // Gone with its namespace, or never added: what matters is that the address is released.
        if (!(e instanceof IpError) && !(e instanceof CniError)) throw e;
      }
    }
    await this.#release(req);
  }

  /** Removes a sandbox namespace's veth pair (when its last attachment is gone). */
  async detachNamespace(netns: string): Promise<void> {
    const ns = netnsName(netns);
    for (const k of [...this.#attached]) if (k.startsWith(`${ns}/`)) this.#attached.delete(k);
    try {
      await ip(["link", "del", hostVethName(ns)]);
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
  }

  async check(req: CniRequest): Promise<void> {
    const address = await this.find(req.containerId);
    if (!address) throw new CniError(100, `no address allocated for ${req.containerId}`);
    const ns = netnsName(req.netns);
    const addrs = await ipJson<{ addr_info?: { local: string }[] }[]>([
      "-n",
      ns,
      "addr",
      "show",
      "dev",
      req.ifName,
    ]).catch(() => []);
    if (!(addrs[0]?.addr_info ?? []).some((a) => a.local === address)) {
      throw new CniError(100, `address ${address} of ${req.containerId} is not on ${req.ifName} in ${ns}`);
    }
  }

  async #hasInterface(ns: string, ifName: string): Promise<boolean> {
    try {
      await ip(["-n", ns, "link", "show", ifName]);
      return true;
    } catch (e) {
      if (isMissing(e)) return false;
      throw e;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
