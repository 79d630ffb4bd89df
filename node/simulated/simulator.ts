/**
 * Simulated nodes, in the manner of KWOK: one process registers many Nodes, keeps their
 * kube-node-lease Leases renewed (every 10 s, jittered, spread over the interval so renewals go out
 * in small batches), re-posts their status when the control plane marked them otherwise or every
 * five minutes, marks pods bound to them Running and Ready after a delay (with an IP from the
 * node's podCIDR), and deletes pods that are being gracefully deleted, as a kubelet does once it
 * has stopped them. Nothing runs. One pod informer and one node informer serve every node.
 *
 * @example
 * ```ts
 * await using sim = new NodeSimulator(client, { count: 1000, readyDelayMs: 500 });
 * await sim.start();
 * sim.pause("sim-0"); // stops heartbeating, as if its kubelet died
 * ```
 * @module
 */
import { type Client, R } from "../../control/api/client.ts";
import { Informer } from "../../control/api/informer.ts";
import { isApiError } from "../../control/api/status.ts";
import { type KubeObject, objectKey } from "../../control/api/types.ts";
import { runWorkers, WorkQueue } from "../../control/api/workqueue.ts";
import {
  DEFAULT_SHAPE,
  isRunningAndReady,
  leaseObject,
  microTime,
  NODE_LEASE_NAMESPACE,
  nodeIPFor,
  nodeObject,
  type NodeShape,
  nodeStatus,
  PodCidrAllocator,
  PodIPAllocator,
  runningPodStatus,
} from "./objects.ts";

export interface SimulatorOptions {
  /** How many nodes. */
  count: number;
  /** Node names are `<prefix><i>` (default `sim-`). */
  namePrefix?: string;
  /** Delay between a pod being bound and it being reported Running/Ready, ms (default 0). */
  readyDelayMs?: number;
  shape?: NodeShape;
  /** Lease renew interval, ms (default 10 s, as the kubelet: a quarter of the 40 s lease). */
  leaseIntervalMs?: number;
  /** `leaseDurationSeconds` written on the Leases (default 40). */
  leaseDurationSeconds?: number;
  /** How often an unchanged node status is posted anyway, ms (default 5 min). */
  statusReportMs?: number;
  /** Writes in flight at once (default 32). */
  concurrency?: number;
  now?: () => number;
}

interface SimNode {
  name: string;
  uid: string;
  podCIDR: string;
  ip: string;
  ips: PodIPAllocator;
  lease: KubeObject | null;
  nextRenewAt: number;
  lastStatusAt: number;
  paused: boolean;
}

/** Runs `fn` for every item with at most `n` in flight. */
async function eachLimited<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (i < items.length) await fn(items[i++]);
  }));
}

export class NodeSimulator {
  readonly #client: Client;
  readonly #opts: Required<SimulatorOptions>;
  readonly #nodes = new Map<string, SimNode>();
  readonly #nodeInformer: Informer;
  readonly #podInformer: Informer;
  readonly #queue = new WorkQueue<string>({ baseDelayMs: 50, maxDelayMs: 5_000 });
  /** Pod key → [uid, when first seen bound to one of our nodes]. */
  readonly #firstSeen = new Map<string, [string, number]>();
  /** Pod key → [node, IP] handed out. */
  readonly #podIPs = new Map<string, [string, string]>();
  readonly #abort = new AbortController();
  #ticker: ReturnType<typeof setInterval> | null = null;
  #tickRunning = false;
  #workers: Promise<void> | null = null;

  constructor(client: Client, opts: SimulatorOptions) {
    this.#client = client;
    this.#opts = {
      namePrefix: "sim-",
      readyDelayMs: 0,
      shape: DEFAULT_SHAPE,
      leaseIntervalMs: 10_000,
      leaseDurationSeconds: 40,
      statusReportMs: 300_000,
      concurrency: 32,
      now: Date.now,
      ...opts,
    };
    this.#nodeInformer = new Informer(client, R.nodes);
    this.#podInformer = new Informer(client, R.pods);
  }

  /** The simulated node names. */
  get names(): string[] {
    return [...this.#nodes.keys()];
  }

  /** Registers the nodes and their Leases, then starts heartbeats and pod handling. */
  async start(): Promise<void> {
    const { count, namePrefix, concurrency } = this.#opts;
    const names = Array.from({ length: count }, (_, i) => `${namePrefix}${i}`);
    const existing = new Map<string, KubeObject>();
    const cidrs = new PodCidrAllocator();
    for (const n of (await this.#client.list(R.nodes)).items) {
      existing.set(n.metadata.name!, n);
      if (n.spec?.podCIDR) cidrs.reserve(n.spec.podCIDR);
    }
    const interval = this.#opts.leaseIntervalMs;
    const start = this.#opts.now();
    await eachLimited(names.map((name, i) => [name, i] as const), concurrency, async ([name, i]) => {
      const node = await this.#register(name, existing.get(name), cidrs);
      // Spread first renewals over the interval so they go out a few at a time.
      node.nextRenewAt = start + Math.floor((i / Math.max(1, count)) * interval);
    });
    this.#wirePods();
    this.#nodeInformer.addHandler({
      onUpdate: (_, n) => this.#checkNode(n),
    });
    this.#nodeInformer.start();
    this.#podInformer.start();
    await Promise.all([this.#nodeInformer.synced(), this.#podInformer.synced()]);
    this.#workers = runWorkers(
      this.#queue,
      Math.max(1, Math.min(concurrency, 16)),
      (key) => this.#reconcilePod(key),
      (key, e) => {
        console.error(`simulated nodes: pod ${key}: ${(e as Error)?.message ?? e}`);
      },
    );
    const tick = Math.max(50, Math.min(1_000, Math.floor(interval / 10)));
    this.#ticker = setInterval(() => this.#tick(), tick);
  }

  async #register(name: string, existing: KubeObject | undefined, cidrs: PodCidrAllocator): Promise<SimNode> {
    const now = this.#opts.now();
    let obj: KubeObject;
    let podCIDR: string;
    if (existing) {
      podCIDR = existing.spec?.podCIDR ?? cidrs.allocate();
      const index = cidrs.indexOf(podCIDR) ?? 0;
      obj = await this.#client.updateStatus(R.nodes, {
        ...existing,
        status: nodeStatus(name, nodeIPFor(index), this.#opts.shape, now, existing),
      });
    } else {
      podCIDR = cidrs.allocate();
      const index = cidrs.indexOf(podCIDR)!;
      obj = await this.#client.create(
        R.nodes,
        nodeObject(name, podCIDR, nodeIPFor(index), this.#opts.shape, now),
      );
    }
    const ip = nodeIPFor(cidrs.indexOf(podCIDR) ?? 0);
    const node: SimNode = {
      name,
      uid: obj.metadata.uid!,
      podCIDR,
      ip,
      ips: new PodIPAllocator(podCIDR),
      lease: null,
      nextRenewAt: now,
      lastStatusAt: now,
      paused: false,
    };
    this.#nodes.set(name, node);
    const lease = leaseObject(obj, now, this.#opts.leaseDurationSeconds);
    try {
      node.lease = await this.#client.create(R.leases, lease);
    } catch (e) {
      if (!isApiError(e, 409)) throw e;
      const cur = await this.#client.get(R.leases, NODE_LEASE_NAMESPACE, name);
      node.lease = await this.#client.update(R.leases, {
        ...cur,
        metadata: { ...cur.metadata, ownerReferences: lease.metadata.ownerReferences },
        spec: lease.spec,
      });
    }
    return node;
  }

  /** Stops heartbeats, status posts and pod handling for a node, as if its kubelet died. */
  pause(name: string): void {
    const n = this.#nodes.get(name);
    if (n) n.paused = true;
  }

  /** Resumes a paused node: it renews its Lease and reposts its status at the next tick. */
  resume(name: string): void {
    const n = this.#nodes.get(name);
    if (!n || !n.paused) return;
    n.paused = false;
    n.nextRenewAt = 0;
    n.lastStatusAt = 0;
    for (const pod of this.#podInformer.list()) {
      if (pod.spec?.nodeName === name) this.#queue.add(objectKey(pod));
    }
  }

  #wirePods() {
    const consider = (pod: KubeObject) => {
      const node = this.#nodes.get(pod.spec?.nodeName ?? "");
      if (!node) return;
      const key = objectKey(pod);
      if (pod.status?.podIP && !this.#podIPs.has(key) && !pod.spec?.hostNetwork) {
        node.ips.reserve(pod.status.podIP);
        this.#podIPs.set(key, [node.name, pod.status.podIP]);
      }
      this.#queue.add(key);
    };
    this.#podInformer.addHandler({
      onAdd: consider,
      onUpdate: (_, p) => consider(p),
      onDelete: (pod) => {
        const key = objectKey(pod);
        this.#release(key);
        this.#firstSeen.delete(key);
      },
    });
  }

  #release(key: string) {
    const held = this.#podIPs.get(key);
    if (!held) return;
    this.#podIPs.delete(key);
    this.#nodes.get(held[0])?.ips.release(held[1]);
  }

  async #reconcilePod(key: string): Promise<void> {
    const pod = this.#podInformer.getByKey(key);
    if (!pod) return;
    const node = this.#nodes.get(pod.spec?.nodeName ?? "");
    if (!node || node.paused) return;
    const ns = pod.metadata.namespace!, name = pod.metadata.name!;
    if (pod.metadata.deletionTimestamp) {
      try {
        await this.#client.delete(R.pods, ns, name, {
          gracePeriodSeconds: 0,
          preconditions: { uid: pod.metadata.uid },
        });
      } catch (e) {
        if (!isApiError(e, 404) && !isApiError(e, 409)) throw e;
      }
      return;
    }
    const phase = pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed" || isRunningAndReady(pod)) return;
    const now = this.#opts.now();
    let seen = this.#firstSeen.get(key);
    if (!seen || seen[0] !== pod.metadata.uid) this.#firstSeen.set(key, seen = [pod.metadata.uid!, now]);
    const due = seen[1] + this.#opts.readyDelayMs;
    if (now < due) return this.#queue.addAfter(key, due - now);
    let ip = pod.spec?.hostNetwork ? node.ip : this.#podIPs.get(key)?.[1];
    if (!ip) {
      ip = node.ips.allocate() ?? undefined;
      if (!ip) throw new Error(`node ${node.name} has no pod IP left in ${node.podCIDR}`);
      this.#podIPs.set(key, [node.name, ip]);
    }
    try {
      await this.#client.updateStatus(R.pods, { ...pod, status: runningPodStatus(pod, ip, node.ip, now) });
    } catch (e) {
      if (isApiError(e, 404)) return;
      throw e; // a conflict: retried with back-off once the informer has the newer pod
    }
  }

  /** Reposts the node's status when the control plane changed Ready (e.g. to Unknown). */
  #checkNode(obj: KubeObject) {
    const node = this.#nodes.get(obj.metadata.name!);
    if (!node || node.paused) return;
    const ready = (obj.status?.conditions ?? []).find((c: { type: string }) => c.type === "Ready");
    if (ready?.status !== "True") node.lastStatusAt = 0;
  }

  async #tick(): Promise<void> {
    if (this.#tickRunning || this.#abort.signal.aborted) return;
    this.#tickRunning = true;
    try {
      const now = this.#opts.now();
      const { leaseIntervalMs, statusReportMs, concurrency } = this.#opts;
      const due = [...this.#nodes.values()].filter((n) => !n.paused && n.nextRenewAt <= now);
      const stale = [...this.#nodes.values()].filter((n) =>
        !n.paused && n.lastStatusAt + statusReportMs <= now
      );
      await eachLimited(due, concurrency, async (n) => {
        n.nextRenewAt = now + leaseIntervalMs * (1 + Math.random() * 0.04);
        await this.#renew(n);
      });
      await eachLimited(stale, concurrency, async (n) => {
        n.lastStatusAt = now;
        await this.#postStatus(n);
      });
    } finally {
      this.#tickRunning = false;
    }
  }

  async #renew(n: SimNode): Promise<void> {
    if (this.#abort.signal.aborted) return;
    try {
      const base = n.lease ?? await this.#client.get(R.leases, NODE_LEASE_NAMESPACE, n.name);
      n.lease = await this.#client.update(R.leases, {
        ...base,
        spec: { ...base.spec, holderIdentity: n.name, renewTime: microTime(this.#opts.now()) },
      });
    } catch (e) {
      if (isApiError(e, 404)) {
        const node = this.#nodeInformer.get(undefined, n.name);
        n.lease = node
          ? await this.#client.create(
            R.leases,
            leaseObject(node, this.#opts.now(), this.#opts.leaseDurationSeconds),
          ).catch(() => null)
          : null;
      } else {
        n.lease = null; // conflict or transient: read it afresh next time
        n.nextRenewAt = this.#opts.now() + 200;
      }
    }
  }

  async #postStatus(n: SimNode): Promise<void> {
    if (this.#abort.signal.aborted) return;
    const cur = this.#nodeInformer.get(undefined, n.name);
    if (!cur) return;
    try {
      await this.#client.updateStatus(R.nodes, {
        ...cur,
        status: nodeStatus(n.name, n.ip, this.#opts.shape, this.#opts.now(), cur),
      });
    } catch {
      n.lastStatusAt = 0; // try again next tick
    }
  }

  /** Stops every loop and informer (the nodes stay registered). */
  async stop(): Promise<void> {
    this.#abort.abort();
    if (this.#ticker !== null) clearInterval(this.#ticker);
    this.#ticker = null;
    this.#queue.shutdown();
    while (this.#tickRunning) await new Promise((r) => setTimeout(r, 10));
    await this.#workers;
    await Promise.all([this.#nodeInformer.stop(), this.#podInformer.stop()]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
