/**
 * The node's heartbeats, as the kubelet's: the Lease `kube-node-lease/<node>` renewed every
 * `leaseIntervalMs` (10 s; duration 40 s), and the node status posted when it changed (checked
 * every `statusCheckMs`, 10 s) or at least every `statusReportMs` (1 min).
 * @module
 */
import type { NodeStatus } from "kubernetes-types/core/v1.d.ts";
import { type Client, R } from "../../control/api/client.ts";
import { isApiError } from "../../control/api/status.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { type NodeFacts, nodeStatus, nodeStatusChanged } from "./node_object.ts";
import { NODE_LEASE_NAMESPACE } from "./register.ts";

export interface HeartbeatOptions {
  leaseIntervalMs?: number;
  leaseDurationSeconds?: number;
  statusCheckMs?: number;
  statusReportMs?: number;
  now?: () => number;
}

/** A MicroTime (`2006-01-02T15:04:05.000000Z`). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export class Heartbeat implements AsyncDisposable {
  readonly #client: Client;
  readonly #node: KubeObject;
  readonly #facts: () => Promise<NodeFacts>;
  readonly #opts: Required<HeartbeatOptions>;
  #lastStatus: NodeStatus | undefined;
  #lastPosted = 0;
  #timers: ReturnType<typeof setInterval>[] = [];
  #busy = Promise.resolve();

  /** @param facts reads the current facts (memory, disk, readiness) at each check */
  constructor(
    client: Client,
    node: KubeObject,
    facts: () => Promise<NodeFacts>,
    opts: HeartbeatOptions = {},
  ) {
    this.#client = client;
    this.#node = node;
    this.#facts = facts;
    this.#lastStatus = node.status;
    this.#opts = {
      leaseIntervalMs: opts.leaseIntervalMs ?? 10_000,
      leaseDurationSeconds: opts.leaseDurationSeconds ?? 40,
      statusCheckMs: opts.statusCheckMs ?? 10_000,
      statusReportMs: opts.statusReportMs ?? 60_000,
      now: opts.now ?? Date.now,
    };
  }

  /** Renews the lease and posts the status once, then keeps doing it. */
  async start(): Promise<void> {
    this.#lastPosted = this.#opts.now();
    await this.renewLease();
    this.#timers.push(setInterval(() => this.#serial(() => this.renewLease()), this.#opts.leaseIntervalMs));
    this.#timers.push(setInterval(() => this.#serial(() => this.updateStatus()), this.#opts.statusCheckMs));
  }

  #serial(fn: () => Promise<void>) {
    this.#busy = this.#busy.then(fn).catch((e) =>
      console.error(`node heartbeat failed; will retry: ${e?.message ?? e}`)
    );
  }

  /** Creates or renews `kube-node-lease/<node>`. */
  async renewLease(): Promise<void> {
    const name = this.#node.metadata.name!;
    const now = microTime(this.#opts.now());
    const spec = {
      holderIdentity: name,
      leaseDurationSeconds: this.#opts.leaseDurationSeconds,
      renewTime: now,
    };
    try {
      await this.#client.patch(R.leases, NODE_LEASE_NAMESPACE, name, { spec });
    } catch (e) {
      if (!isApiError(e, 404)) throw e;
      await this.#client.create(R.leases, {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: {
          name,
          namespace: NODE_LEASE_NAMESPACE,
          ownerReferences: [{ apiVersion: "v1", kind: "Node", name, uid: this.#node.metadata.uid! }],
        },
        spec: { ...spec, acquireTime: now },
      });
    }
  }

  /** Posts the status when it changed or the report interval has passed. */
  async updateStatus(force = false): Promise<void> {
    const facts = await this.#facts();
    const status = nodeStatus(facts, this.#lastStatus);
    const due = facts.now - this.#lastPosted >= this.#opts.statusReportMs;
    if (!force && !due && !nodeStatusChanged(this.#lastStatus, status)) return;
    await this.#client.patch(R.nodes, "", this.#node.metadata.name!, { status }, "merge", "status");
    this.#lastStatus = status;
    this.#lastPosted = facts.now;
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    await this.#busy;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
