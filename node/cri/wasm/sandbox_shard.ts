/**
 * One sandbox process of a sandbox group, behind its shim (see shim_main.ts): starts the shim on
 * first use, reattaches to a shim a previous agent left, routes the shim's events to waiters, and
 * respawns the sandbox when it dies with collateral victims — at most `maxRespawns` times a
 * minute, so a sandbox that keeps dying stops being restarted. Starts are throttled: at most
 * `maxConcurrentStarts` in flight, so a burst of starts cannot starve the sandbox's heartbeat.
 * @module
 */
import type { ContainerExit, ContainerSpec } from "../../../wasm/host/spec.ts";
import type { SandboxPermissions } from "../../../wasm/sandbox/flags.ts";
import { readShimState, ShimClient } from "./shim_client.ts";
import type { Semaphore } from "./semaphore.ts";
import type { ShimEvent, ShimState } from "./shim_protocol.ts";

export interface ShardOptions {
  /** The sandbox's name (logs, cgroups). */
  name: string;
  /** Command prefix entering the group's network namespace. */
  wrap: string[];
  /** The shim's directory. */
  dir: string;
  /** Base permissions of the sandbox (hostPath mounts are added per container). */
  permissions: SandboxPermissions;
  deadlineMs: number;
  heapLimitMiB?: number;
  maxRespawns?: number;
  /**
   * Limits container starts in flight (shared by every sandbox of the node). Instantiating a
   * component keeps a sandbox's thread busy; hundreds at once (a scale-up, a respawn) starve
   * the sandboxes' heartbeats on a small machine and get them killed as unresponsive.
   */
  starts: Semaphore;
}

/** What the group tells the runtime. */
export interface GroupEvents {
  started(id: string, at: number): void;
  startFailed(id: string, message: string): void;
  exited(id: string, exit: ContainerExit, at: number): void;
}

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
}

export class SandboxShard {
  readonly opts: ShardOptions;
  readonly #events: GroupEvents;
  #client?: ShimClient;
  #starting?: Promise<ShimClient>;
  #extraPaths = new Set<string>();
  #startWaiters = new Map<string, Waiter>();
  #exitWaiters = new Map<string, (() => void)[]>();
  #respawns: number[] = [];
  #closing = false;
  /** Containers to start again once the sandbox is back (collateral victims). */
  #respawnSpecs = new Map<string, { spec: ContainerSpec; logPath: string }>();
  /** Specs of the containers running in this group (for respawns). */
  readonly specs = new Map<string, { spec: ContainerSpec; logPath: string }>();

  constructor(opts: ShardOptions, events: GroupEvents) {
    this.opts = opts;
    this.#events = events;
  }

  /** Whether a shim is connected. */
  get connected(): boolean {
    return !!this.#client;
  }

  /** Reattaches to a shim a previous agent left running; resolves to its state, or the state it left. */
  async reattach(): Promise<{ attached: boolean; state?: ShimState }> {
    const client = await ShimClient.attach(this.opts.dir);
    if (!client) return { attached: false, state: readShimState(this.opts.dir) };
    this.#use(client);
    return { attached: true, state: await client.snapshot() };
  }

  #use(client: ShimClient) {
    this.#client = client;
    client.onEvent((e) => this.#onEvent(client, e));
    client.ended.then(() => {
      if (this.#client === client) this.#client = undefined;
    });
  }

  #shim(): Promise<ShimClient> {
    if (this.#client) return Promise.resolve(this.#client);
    this.#starting ??= (async () => {
      try {
        const client = await ShimClient.start({
          dir: this.opts.dir,
          sandbox: {
            name: this.opts.name,
            permissions: {
              ...this.opts.permissions,
              read: [...this.opts.permissions.read, ...this.#extraPaths],
              write: [...(this.opts.permissions.write ?? []), ...this.#extraPaths],
            },
            deadlineMs: this.opts.deadlineMs,
            heapLimitMiB: this.opts.heapLimitMiB,
            wrap: this.opts.wrap,
          },
        });
        this.#use(client);
        return client;
      } finally {
        this.#starting = undefined;
      }
    })();
    return this.#starting;
  }

  /** Starts the sandbox ahead of the first container (cuts a pod's start-up latency). */
  warm(): void {
    this.#shim().catch(() => {});
  }

  #onEvent(client: ShimClient, e: ShimEvent) {
    switch (e.ev) {
      case "started":
        this.#startWaiters.get(e.id)?.resolve();
        this.#startWaiters.delete(e.id);
        this.#events.started(e.id, e.at);
        return;
      case "start-failed":
        this.#startWaiters.get(e.id)?.reject(new Error(e.message));
        this.#startWaiters.delete(e.id);
        this.specs.delete(e.id);
        this.#events.startFailed(e.id, e.message);
        return;
      case "exit": {
        const spec = this.specs.get(e.id);
        if (e.exit.collateral && spec && !this.#closing) {
          this.#respawnSpecs.set(e.id, spec); // started again when the sandbox is back
          return;
        }
        this.specs.delete(e.id);
        this.#events.exited(e.id, e.exit, e.at);
        // Only a container that started gets an exit of its own: a start still waiting for
        // "started" is over (a shim may report a quick command's exit first, or only).
        this.#startWaiters.get(e.id)?.resolve();
        this.#startWaiters.delete(e.id);
        for (const w of this.#exitWaiters.get(e.id) ?? []) w();
        this.#exitWaiters.delete(e.id);
        return;
      }
      case "sandbox-exit":
        if (this.#client === client) this.#client = undefined;
        this.#respawn();
        return;
    }
  }

  #respawn() {
    const victims = [...this.#respawnSpecs];
    this.#respawnSpecs.clear();
    if (!victims.length) return;
    const now = Date.now();
    this.#respawns = this.#respawns.filter((t) => now - t < 60_000);
    if (this.#respawns.length >= (this.opts.maxRespawns ?? 5)) {
      for (const [id] of victims) {
        this.specs.delete(id);
        this.#events.exited(id, {
          exitCode: 137,
          reason: "SandboxLost",
          message:
            `The sandbox of ${this.opts.name} died ${this.#respawns.length} times within a minute; not restarting it`,
        }, now);
      }
      return;
    }
    this.#respawns.push(now);
    for (const [id, { spec, logPath }] of victims) {
      this.start(spec, logPath).catch((e) => {
        this.#events.exited(id, {
          exitCode: 137,
          reason: "SandboxLost",
          message: `restart after its sandbox died failed: ${e.message}`,
        }, Date.now());
      });
    }
  }

  /** Starts a container; resolves once it runs (a proxy: once it listens). */
  async start(spec: ContainerSpec, logPath: string): Promise<void> {
    this.#closing = false;
    const paths = (spec.mounts ?? []).map((m) => m.hostPath).filter((p) => !this.#covered(p));
    if (paths.length) {
      // A hostPath the running sandbox may not touch: restart it with the wider permissions.
      for (const p of paths) this.#extraPaths.add(p);
      if (this.#client) await this.#restart();
    }
    const client = await this.#shim();
    this.specs.set(spec.id, { spec, logPath });
    await this.opts.starts.acquire();
    try {
      const started = new Promise<void>((resolve, reject) =>
        this.#startWaiters.set(spec.id, { resolve, reject })
      );
      client.send({ op: "start", spec, logPath });
      const lost = client.ended.then(() => {
        throw new Error("the sandbox shim went away while the container was starting");
      });
      await Promise.race([started, lost]);
    } finally {
      this.opts.starts.release();
    }
  }

  #covered(path: string): boolean {
    const p = this.opts.permissions;
    return [...p.read, ...(p.write ?? []), ...this.#extraPaths].some((root) =>
      path === root || path.startsWith(`${root}/`)
    );
  }

  async #restart(): Promise<void> {
    const client = this.#client;
    if (!client) return;
    for (const [id, s] of this.specs) this.#respawnSpecs.set(id, s);
    client.send({ op: "kill" });
    await client.ended;
  }

  /** Stops a container, killing it after `graceMs`; resolves when it has exited. */
  async stop(id: string, graceMs: number): Promise<void> {
    this.#respawnSpecs.delete(id);
    if (!this.specs.has(id)) return;
    const client = this.#client;
    if (!client) {
      this.specs.delete(id);
      return;
    }
    const exited = new Promise<void>((resolve) => {
      const list = this.#exitWaiters.get(id) ?? [];
      list.push(resolve);
      this.#exitWaiters.set(id, list);
    });
    client.send({ op: "stop", id, graceMs });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), graceMs + 5000));
    const outcome = await Promise.race([exited, late, client.ended.then(() => "gone" as const)]);
    clearTimeout(timer);
    if (outcome === "late") {
      // The sandbox did not stop it: kill the whole sandbox (the others come back as collateral).
      this.specs.delete(id);
      await this.#restart();
    }
  }

  /** Containers placed here (running, starting, or waiting to be restarted). */
  get size(): number {
    return this.specs.size;
  }

  /** Ends the sandbox process. */
  async shutdown(): Promise<void> {
    this.#closing = true;
    this.#respawnSpecs.clear();
    // A shim a previous agent left (and this one did not reattach to) is shut down too.
    const client = this.#client ?? await this.#starting?.catch(() => undefined) ??
      await ShimClient.attach(this.opts.dir);
    if (client) {
      client.send({ op: "shutdown" });
      await client.ended;
    }
  }

  /** Disconnects from the shim, leaving the sandbox running (agent restart). */
  async detach(): Promise<void> {
    this.#closing = true;
    await this.#client?.close();
    this.#client = undefined;
  }
}
