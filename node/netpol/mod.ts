/**
 * NetworkPolicy enforcement on a node: watches NetworkPolicies, pods and namespaces, compiles
 * them for the node's pods (policy.ts) and programs nftables (nft_policy.ts) incrementally — in
 * the host for every pod, and inside each Wasm sandbox network namespace for the traffic between
 * the pods sharing it. Wasm pods send their `wasi:http` requests from their own pod address, so
 * the same rules apply to them as to containers; `wasi:sockets` is denied to components
 * altogether.
 *
 * Needs nftables; without it the node logs that policies are not enforced.
 * @module
 */
import type { Informer } from "../../control/api/informer.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { listNetns } from "../cni/netns.ts";
import { hairpinGroups } from "../proxy/mod.ts";
import { nftApply, nftDeleteTable, nftInstalled } from "../proxy/nft.ts";
import { emptyState, type NftState, planUpdate } from "../proxy/nft_rules.ts";
import { hostBaseScript, hostTableName, NETNS_TABLE, netnsBaseScript, policyState } from "./nft_policy.ts";
import { compilePolicies, type PodPolicy } from "./policy.ts";

export { compilePolicies, type PodPolicy } from "./policy.ts";
export { hostTableName, NETNS_TABLE } from "./nft_policy.ts";

export interface NetworkPolicyOptions {
  nodeName: string;
  bridge: string;
  /** The cluster DNS address (always reachable). */
  dnsAddress: string;
  policies: Informer<KubeObject>;
  pods: Informer<KubeObject>;
  namespaces: Informer<KubeObject>;
  runtimeClasses: Informer<KubeObject>;
  /** The network namespace of the Wasm pods of a Kubernetes namespace (see node/cri/wasm). */
  wasmNetns?: (namespace: string) => string;
  log?: (line: string) => void;
}

export class NetworkPolicyEnforcer {
  readonly opts: NetworkPolicyOptions;
  readonly table: string;
  #host: NftState = emptyState();
  readonly #netns = new Map<string, NftState>();
  #running?: Promise<void>;
  #dirty = false;
  #stopped = false;
  #enabled = false;
  #compiled: PodPolicy[] = [];
  /** The last sync saw no NetworkPolicy and left every table it programs empty. */
  #unisolated = false;
  #waiters: (() => void)[] = [];
  readonly stats = { syncs: 0, syncMs: 0, errors: 0 };

  private constructor(opts: NetworkPolicyOptions) {
    this.opts = opts;
    this.table = hostTableName(opts.bridge);
  }

  /** Whether policies are enforced (nftables works). */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** The policies as last compiled, per local pod (none while no NetworkPolicy exists). */
  get compiled(): PodPolicy[] {
    return this.#compiled;
  }

  static async start(opts: NetworkPolicyOptions): Promise<NetworkPolicyEnforcer> {
    const e = new NetworkPolicyEnforcer(opts);
    const log = opts.log ?? ((l: string) => console.error(l));
    try {
      if (!nftInstalled()) throw new Error("nft is not installed");
      await nftApply(hostBaseScript(e.table, opts.dnsAddress));
      e.#enabled = true;
    } catch (err) {
      log(`netpol: NetworkPolicies are NOT enforced on this node: ${(err as Error).message}`);
    }
    const kick = () => e.#schedule();
    for (const inf of [opts.policies, opts.pods, opts.namespaces]) {
      inf.addHandler({ onAdd: kick, onUpdate: kick, onDelete: kick });
    }
    e.#schedule();
    return e;
  }

  /** Resolves once a sync that started after this call is done. */
  nextSync(): Promise<void> {
    return new Promise((r) => {
      this.#waiters.push(r);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#stopped || !this.#enabled) {
      for (const w of this.#waiters.splice(0)) w();
      return;
    }
    if (this.#running) {
      this.#dirty = true;
      return;
    }
    this.#running = (async () => {
      do {
        this.#dirty = false;
        const waiting = this.#waiters.splice(0);
        await this.#sync().catch((err) => {
          this.stats.errors++;
          (this.opts.log ?? console.error)(`netpol: sync failed: ${(err as Error).message}`);
        });
        for (const w of waiting) w();
      } while (this.#dirty && !this.#stopped);
    })().finally(() => (this.#running = undefined));
  }

  async #sync(): Promise<void> {
    const t0 = performance.now();
    const o = this.opts;
    const policies = o.policies.list();
    if (!policies.length && this.#unisolated) {
      // No NetworkPolicy now nor at the last sync, whose tables are therefore empty: a pod
      // change isolates no one (a pod start no longer costs a compile over every pod). A sandbox
      // netns made meanwhile has no table, or a stale one of a namespace deleted and made again:
      // the next sync with policies gives every netns its table afresh.
      this.#netns.clear();
      this.#compiled = [];
      this.stats.syncs++;
      this.stats.syncMs += performance.now() - t0;
      return;
    }
    const pods = o.pods.list();
    this.#compiled = compilePolicies(policies, pods, o.namespaces.list(), o.nodeName);
    const next = policyState(this.#compiled);
    const plan = planUpdate(this.table, this.#host, next);
    if (plan.length) {
      try {
        await nftApply(plan);
      } catch {
        await nftApply([...hostBaseScript(this.table, o.dnsAddress), ...planUpdate(this.table, emptyState(), next)]);
      }
      this.#host = next;
    }
    const netnsDone = o.wasmNetns ? await this.#syncNetns(pods) : true;
    this.#unisolated = !policies.length && netnsDone;
    this.stats.syncs++;
    this.stats.syncMs += performance.now() - t0;
  }

  /**
   * One table per Wasm sandbox namespace that exists, for the traffic between its pods; resolves
   * to whether every one was programmed.
   */
  async #syncNetns(pods: KubeObject[]): Promise<boolean> {
    const o = this.opts;
    const handlerOf = (rc: string) => o.runtimeClasses.get(undefined, rc)?.handler ?? (rc === "wasm" ? "wasm" : undefined);
    const { groups } = hairpinGroups(pods, o.nodeName, handlerOf);
    const existing = new Set(listNetns(""));
    const wanted = new Map<string, Set<string>>();
    for (const [g, ips] of groups) wanted.set(o.wasmNetns!(g.slice("wasm:".length)), new Set(ips));
    for (const ns of [...this.#netns.keys()]) if (!existing.has(ns)) this.#netns.delete(ns);
    let done = true;
    for (const [ns, ips] of wanted) {
      if (!existing.has(ns)) continue;
      const next = policyState(this.#compiled, ips);
      let prev = this.#netns.get(ns);
      try {
        if (!prev) {
          await nftApply(netnsBaseScript(), { ns });
          prev = emptyState();
        }
        await nftApply(planUpdate(NETNS_TABLE, prev, next), { ns });
        this.#netns.set(ns, next);
      } catch (err) {
        this.#netns.delete(ns);
        done = false;
        (o.log ?? console.error)(`netpol: programming netns ${ns} failed: ${(err as Error).message}`);
      }
    }
    return done;
  }

  /** Stops and removes every table it made. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
    if (!this.#enabled) return;
    let first: unknown;
    try {
      await nftDeleteTable("ip", this.table);
    } catch (e) {
      first = e;
    }
    const existing = new Set(listNetns(""));
    for (const ns of this.#netns.keys()) {
      if (existing.has(ns)) await nftDeleteTable("ip", NETNS_TABLE, { ns }).catch(() => {});
    }
    this.#netns.clear();
    if (first) throw first;
  }
}
