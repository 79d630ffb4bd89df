/**
 * The node's pod network through network Plugins (`spec.kind: network`, default the built-in
 * `bridge` component) and their IPAM delegates (`spec.kind: ipam`, default the built-in
 * `host-local`): every sandbox, OCI or Wasm, is set up by the network Plugin that applies to the
 * node, as a CRI runtime calls its CNI plugin.
 *
 * - **ADD** builds the network configuration (`{"type": <network plugin>, "bridge": <node
 *   bridge>, "ipam": {"type": <IPAM plugin>, "ranges": [[{"subnet": <pod CIDR>}]]}}`) and calls
 *   the plugin's `add` with the attachment; the plugin asks its IPAM delegate (a nested host call
 *   the node routes to the IPAM Plugin) and wires the sandbox with `host-net` (host calls the node
 *   performs, only for this attachment's netns). The first address of the result must be a usable
 *   address of the pod CIDR that no other attachment of the node holds, or the ADD is undone and
 *   fails. A failed ADD is undone with a DEL (as containerd does) and is the sandbox's error.
 * - **DEL** runs with the configuration the ADD used (recorded, as libcni's cache): the address
 *   is released by the IPAM Plugin that allocated it. Deleting what is not there succeeds.
 * - **IPAM choice.** Users' `ipam` Plugins first (by name), then the built-in. When the chosen one
 *   fails and its `failurePolicy` is `Ignore`, the built-in allocates instead (a failed DEL is
 *   logged and ignored).
 * - **STATUS** (NetworkReady): the bridge exists and the network Plugin is loaded and answers
 *   its `status`.
 * @module
 */
import { ipToNumber, nthAddress, parseCidr } from "../../control/api/cidr.ts";
import { isBuiltin } from "../../control/api/builtin_plugins.ts";
import type { PluginObject } from "../../control/api/plugins.ts";
import { toWitAttachment, type WitCniResult } from "../../plugins/network/binding.ts";
import { CniError, type CniRequest, type CniResult, type NetworkPlugin } from "./api.ts";
import { type AttachmentRecord, AttachmentRecords } from "./attachments.ts";
import { bridgeExists, setUpBridge, tearDownBridge } from "./node_bridge.ts";
import type { CallContext } from "../plugins.ts";
import { deleteSandboxNftRules } from "../hostcaps/nft_sandbox.ts";
import { netnsName } from "./netns.ts";

/** What the network needs of the node's plugins (node/plugins.ts). */
export interface NetworkPluginSource {
  /** The network Plugin that applies now. */
  network(): string | null;
  /** The `ipam` Plugins that apply, in order. */
  ipamPlugins(): PluginObject[];
  get(name: string): PluginObject | undefined;
  loaded(name: string): boolean;
  call(name: string, op: string, args: unknown[], context?: CallContext): Promise<unknown>;
  log(line: string): void;
  /** Set by the network: whether another attachment holds an address (IPAM answers are checked). */
  addressInUse?: (address: string, containerId: string) => Promise<boolean>;
}

export interface PluginNetworkOptions {
  bridge: string;
  podCIDR: string;
  /** Where the attachment records live. */
  dir: string;
  plugins: NetworkPluginSource;
}

/** The pod network of a node, through its network Plugin. */
export class PluginNetwork implements NetworkPlugin {
  readonly bridge: string;
  readonly podCIDR: string;
  readonly gateway: string;
  readonly records: AttachmentRecords;
  readonly #plugins: NetworkPluginSource;
  readonly #bits: number;
  readonly #base: number;

  constructor(opts: PluginNetworkOptions) {
    this.bridge = opts.bridge;
    this.podCIDR = opts.podCIDR;
    const r = parseCidr(opts.podCIDR);
    this.#bits = r.bits;
    this.#base = r.base;
    this.gateway = nthAddress(r, 1);
    this.records = new AttachmentRecords(opts.dir);
    this.#plugins = opts.plugins;
    opts.plugins.addressInUse = async (address, containerId) =>
      (await this.records.all()).some((r) => r.address === address && r.containerId !== containerId);
  }

  /** Creates the node's bridge with the gateway address (idempotent). */
  setUp(): Promise<void> {
    return setUpBridge(this.bridge, `${this.gateway}/${this.#bits}`);
  }

  tearDown(): Promise<void> {
    return tearDownBridge(this.bridge);
  }

  /** The network configuration an attachment is set up with. */
  #config(network: string, ipam: string): Record<string, unknown> {
    return {
      cniVersion: "1.1.0",
      name: "skiff",
      type: network,
      bridge: this.bridge,
      ipam: { type: ipam, ranges: [[{ subnet: this.podCIDR }]] },
    };
  }

  async status(): Promise<void> {
    const fail = (msg: string): never => {
      throw new CniError(
        50,
        `NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: ${msg}`,
      );
    };
    await bridgeExists(this.bridge).catch((e) => fail((e as Error).message));
    const net = this.#plugins.network();
    if (!net) return fail("no network Plugin applies to this node");
    if (!this.#plugins.loaded(net)) return fail(`network plugin "${net}" is not loaded`);
    const ipam = this.#plugins.ipamPlugins()[0]?.metadata.name ?? "none";
    try {
      await this.#plugins.call(net, "status", [JSON.stringify(this.#config(net, ipam))]);
    } catch (e) {
      fail(`network plugin "${net}": ${(e as Error).message}`);
    }
  }

  /** The addresses the node's attachments hold (address → attachment). */
  async allocations(): Promise<Map<string, string>> {
    return new Map((await this.records.all()).map((r) => [r.address, r.containerId]));
  }

  /** The address an attachment holds. */
  async find(containerId: string): Promise<string | undefined> {
    return (await this.records.get(containerId))?.address;
  }

  async add(req: CniRequest): Promise<CniResult> {
    const had = await this.records.get(req.containerId);
    if (had) return had.result;
    const network = this.#plugins.network();
    if (!network) throw new CniError(11, "no network Plugin applies to this node");
    const ipams = this.#plugins.ipamPlugins();
    if (!ipams.length) throw new CniError(11, "no ipam Plugin applies to this node");
    let ipam = ipams[0].metadata.name!;
    for (;;) {
      const config = JSON.stringify(this.#config(network, ipam));
      const ctx: CallContext = { containerId: req.containerId, netns: req.netns };
      let r: WitCniResult;
      try {
        r = await this.#plugins.call(
          network,
          "add",
          [toWitAttachment(req, JSON.parse(config))],
          ctx,
        ) as WitCniResult;
      } catch (e) {
        await this.#undo(network, req, config, ctx);
        const f = ctx.ipamFailure;
        if (f) {
          const fallback = ipams.find((p) => isBuiltin(p) && p.metadata.name !== ipam);
          if (this.#plugins.get(f.plugin)?.spec.failurePolicy === "Ignore" && fallback) {
            this.#plugins.log(
              `IPAM plugin "${f.plugin}" failed (ADD), failurePolicy Ignore: "${fallback.metadata.name}" allocates: ${f.message}`,
            );
            ipam = fallback.metadata.name!;
            continue;
          }
          throw new CniError(f.code, `IPAM plugin "${f.plugin}" failed (ADD): ${f.message}`);
        }
        throw new CniError(
          e instanceof CniError ? e.code : 999,
          `network plugin "${network}" failed (ADD): ${(e as Error).message}`,
        );
      }
      const address = r.ips[0].address.split("/")[0];
      const problem = await this.#unusable(address, req.containerId);
      if (problem) {
        await this.#undo(network, req, config, ctx);
        throw new CniError(7, `IPAM plugin "${ipam}" allocated ${r.ips[0].address}, which ${problem}`);
      }
      const result = toCniResult(r);
      await this.records.put({
        containerId: req.containerId,
        ifName: req.ifName,
        netns: req.netns,
        network,
        ipam,
        config,
        address,
        result,
        ...(ctx.nftRules ? { nftRules: true } : {}),
      });
      return result;
    }
  }

  /** Why an address cannot be a pod's (null: it can). */
  async #unusable(address: string, containerId: string): Promise<string | null> {
    const n = ipToNumber(address);
    const size = 2 ** (32 - this.#bits);
    if (n === null || n <= this.#base + 1 || n >= this.#base + size - 1) {
      return `is not a usable address of the node's pod CIDR ${this.podCIDR}`;
    }
    const holder = (await this.records.all()).find((x) =>
      x.address === address && x.containerId !== containerId
    );
    return holder ? `${holder.containerId} already holds on this node (overlapping ranges?)` : null;
  }

  /** Undoes a failed ADD (a DEL with the same configuration); errors are logged. */
  async #undo(network: string, req: CniRequest, config: string, added: CallContext): Promise<void> {
    const ctx: CallContext = { containerId: req.containerId, netns: req.netns };
    try {
      await this.#plugins.call(network, "del", [toWitAttachment(req, JSON.parse(config))], ctx);
    } catch (e) {
      this.#plugins.log(`undoing the failed ADD of ${req.containerId}: ${(e as Error).message}`);
    }
    if (added.nftRules || ctx.nftRules) await this.#deleteNftRules(req.containerId, req.netns);
  }

  /** Deletes the nftables rules the plugin added for a sandbox (host-net `add-nft-rule`); errors are logged. */
  async #deleteNftRules(containerId: string, netns: string): Promise<void> {
    try {
      await deleteSandboxNftRules(netnsName(netns), containerId);
    } catch (e) {
      this.#plugins.log(`deleting the nftables rules of ${containerId}: ${(e as Error).message}`);
    }
  }

  async del(req: CniRequest): Promise<void> {
    const rec = await this.records.get(req.containerId);
    if (!rec) return;
    await this.#del(rec, req);
    await this.records.delete(req.containerId);
  }

  async #del(rec: AttachmentRecord, req: CniRequest): Promise<void> {
    const network = this.#plugins.get(rec.network) ? rec.network : this.#plugins.network();
    if (!network) {
      throw new CniError(11, `network plugin "${rec.network}" is gone and no other applies to this node`);
    }
    const ctx: CallContext = { containerId: rec.containerId, netns: rec.netns };
    const a = toWitAttachment(
      { ...req, ifName: rec.ifName, netns: rec.netns },
      JSON.parse(rec.config),
      JSON.stringify(rec.result),
    );
    try {
      await this.#plugins.call(network, "del", [a], ctx);
    } catch (e) {
      const f = ctx.ipamFailure;
      if (f && this.#plugins.get(f.plugin)?.spec.failurePolicy === "Ignore") {
        this.#plugins.log(`IPAM plugin "${f.plugin}" failed (DEL), failurePolicy Ignore: ${f.message}`);
        return;
      }
      if (f) throw new CniError(f.code, `IPAM plugin "${f.plugin}" failed (DEL): ${f.message}`);
      throw new CniError(
        e instanceof CniError ? e.code : 999,
        `network plugin "${network}" failed (DEL): ${(e as Error).message}`,
      );
    } finally {
      if (rec.nftRules || ctx.nftRules) await this.#deleteNftRules(rec.containerId, rec.netns);
    }
  }

  async check(req: CniRequest): Promise<void> {
    const rec = await this.records.get(req.containerId);
    if (!rec) throw new CniError(3, `no attachment of ${req.containerId}`);
    const network = this.#plugins.get(rec.network) ? rec.network : this.#plugins.network();
    if (!network) throw new CniError(11, "no network Plugin applies to this node");
    const a = toWitAttachment(
      { ...req, ifName: rec.ifName, netns: rec.netns },
      JSON.parse(rec.config),
      JSON.stringify(rec.result),
    );
    try {
      await this.#plugins.call(network, "check", [a], { containerId: rec.containerId, netns: rec.netns });
    } catch (e) {
      throw new CniError(100, `network plugin "${network}" failed (CHECK): ${(e as Error).message}`);
    }
  }

  /** Nothing to do: the plugin's DEL of a namespace's last attachment removes its interface. */
  detachNamespace(_netns: string): Promise<void> {
    return Promise.resolve();
  }
}

/** The WIT result as the runtime's CNI result. Pure. */
export function toCniResult(r: WitCniResult): CniResult {
  return {
    cniVersion: r.cniVersion,
    interfaces: r.interfaces.map((i) => ({
      name: i.name,
      ...(i.mac ? { mac: i.mac } : {}),
      ...(i.sandbox ? { sandbox: i.sandbox } : {}),
    })),
    ips: r.ips.map((ip) => ({
      address: ip.address,
      ...(ip.gateway ? { gateway: ip.gateway } : {}),
      ...(ip.interface != null ? { interface: ip.interface } : {}),
    })),
    routes: r.routes.map((x) => ({ dst: x.dst, ...(x.gw ? { gw: x.gw } : {}) })),
    dns: r.dns ?? {},
  };
}
