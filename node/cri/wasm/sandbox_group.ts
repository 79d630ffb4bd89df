/**
 * A sandbox group: the pods of one Kubernetes namespace on this node. They share one network
 * namespace (`/run/netns/<netns>`, one veth into the bridge, one address per pod) and run in
 * sandbox processes (shards, see sandbox_shard.ts) of at most `maxPerSandbox` containers each,
 * all inside that network namespace. Pods of different namespaces never share a process: a
 * guest that spins or exhausts its sandbox's memory takes down at most one shard of its own
 * namespace, whose other containers the shard restarts transparently ("collateral" exits).
 * Capping the containers per process also keeps each process's garbage collector fast: past a
 * few hundred proxy instances one process stalls for seconds (see docs in the report).
 * @module
 */
import type { ContainerSpec } from "../../../wasm/host/spec.ts";
import type { SandboxPermissions } from "../../../wasm/sandbox/flags.ts";
import { createNetns, deleteNetns, netnsPath, nsenterArgv } from "../../cni/netns.ts";
import { type GroupEvents, SandboxShard } from "./sandbox_shard.ts";
import type { Semaphore } from "./semaphore.ts";
import type { ShimContainer } from "./shim_protocol.ts";

export type { GroupEvents };

export interface GroupOptions {
  /** Group name (the namespace). */
  name: string;
  /** The network namespace's name. */
  netns: string;
  /** The group's directory; shard `k` keeps its shim in `<dir>/shard-<k>`. */
  dir: string;
  permissions: SandboxPermissions;
  deadlineMs: number;
  heapLimitMiB?: number;
  /** Containers per sandbox process (default 200). */
  maxPerSandbox?: number;
  /** The node-wide limit of container starts in flight. */
  starts: Semaphore;
}

/** A container a shim still knows about after an agent restart. */
export interface AdoptedContainer extends ShimContainer {
  /** Whether its shim runs and this agent is connected to it. */
  attached: boolean;
}

export class SandboxGroup {
  readonly opts: GroupOptions;
  readonly #events: GroupEvents;
  readonly #shards: SandboxShard[] = [];
  readonly #shardOf = new Map<string, SandboxShard>();

  constructor(opts: GroupOptions, events: GroupEvents) {
    this.opts = opts;
    // A container that ended leaves its shard's count (placement counts are kept here, at once,
    // so concurrent starts cannot overfill a sandbox whose shim is still starting).
    this.#events = {
      started: events.started,
      startFailed: (id, message) => {
        this.#shardOf.delete(id);
        events.startFailed(id, message);
      },
      exited: (id, exit, at) => {
        this.#shardOf.delete(id);
        events.exited(id, exit, at);
      },
    };
  }

  /** Containers placed in `shard`. */
  #load(shard: SandboxShard): number {
    let n = 0;
    for (const s of this.#shardOf.values()) if (s === shard) n++;
    return n;
  }

  get netnsPath(): string {
    return netnsPath(this.opts.netns);
  }

  async createNetns(): Promise<string> {
    return await createNetns(this.opts.netns);
  }

  #shard(index: number): SandboxShard {
    while (this.#shards.length <= index) {
      const k = this.#shards.length;
      this.#shards.push(
        new SandboxShard({
          name: `${this.opts.name}-${k}`,
          wrap: nsenterArgv(this.opts.netns),
          dir: `${this.opts.dir}/shard-${k}`,
          permissions: this.opts.permissions,
          deadlineMs: this.opts.deadlineMs,
          heapLimitMiB: this.opts.heapLimitMiB,
          starts: this.opts.starts,
        }, this.#events),
      );
    }
    return this.#shards[index];
  }

  /** Reattaches to the shims a previous agent left; the containers they know, by ID. */
  async reattach(): Promise<Map<string, AdoptedContainer>> {
    const out = new Map<string, AdoptedContainer>();
    let dirs: number[] = [];
    try {
      dirs = [...Deno.readDirSync(this.opts.dir)]
        .map((e) => e.name.match(/^shard-(\d+)$/)?.[1])
        .filter((k): k is string => k !== undefined)
        .map(Number);
    } catch { /* none */ }
    for (const k of dirs) {
      const shard = this.#shard(k);
      const { attached, state } = await shard.reattach();
      for (const [id, c] of Object.entries(state?.containers ?? {})) {
        out.set(id, { ...c, attached });
        if (attached && c.state === "running") this.#shardOf.set(id, shard);
      }
    }
    return out;
  }

  /** Records a running container found by `reattach` (so stops and respawns reach it). */
  adopt(id: string, spec: ContainerSpec, logPath: string): void {
    const shard = this.#shardOf.get(id);
    shard?.specs.set(id, { spec, logPath });
  }

  /** Starts the first sandbox ahead of the first container (cuts a pod's start-up latency). */
  warm(): void {
    if (this.#shardOf.size === 0) this.#shard(0).warm();
  }

  /** Starts a container in a sandbox with room (a new one when all are full). */
  async start(spec: ContainerSpec, logPath: string): Promise<void> {
    let shard = this.#shardOf.get(spec.id);
    if (!shard) {
      const max = this.opts.maxPerSandbox ?? 200;
      let k = this.#shards.findIndex((s) => this.#load(s) < max);
      if (k < 0) k = this.#shards.length;
      shard = this.#shard(k);
      this.#shardOf.set(spec.id, shard);
    }
    try {
      await shard.start(spec, logPath);
    } catch (e) {
      this.#shardOf.delete(spec.id);
      throw e;
    }
  }

  /** Stops a container, killing it after `graceMs`. */
  async stop(id: string, graceMs: number): Promise<void> {
    const shard = this.#shardOf.get(id);
    if (!shard) return;
    await shard.stop(id, graceMs);
    this.#shardOf.delete(id);
  }

  /** Ends every sandbox of the group and, unless `keepNetns`, removes the network namespace. */
  async shutdown(opts: { keepNetns?: boolean } = {}): Promise<void> {
    await Promise.all(this.#shards.map((s) => s.shutdown()));
    this.#shardOf.clear();
    if (!opts.keepNetns) await deleteNetns(this.opts.netns);
  }

  /** Disconnects from every shim, leaving the sandboxes running (agent restart). */
  async detach(): Promise<void> {
    await Promise.all(this.#shards.map((s) => s.detach()));
  }
}
