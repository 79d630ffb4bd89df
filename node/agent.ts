/**
 * The node agent: joins a node to a Skiff (or any Kubernetes-compatible) API server and runs its
 * pods. Start-up order: the agent endpoint (so its port is known), registration with a uniquely
 * claimed pod CIDR, the pod network (bridge `skiff0` with the CIDR's first address), the runtime
 * (which re-adopts sandboxes a previous agent left running), the RuntimeClass `wasm`, heartbeats,
 * then the pod workers.
 *
 * Addresses: the node's InternalIP defaults to 127.0.0.1 — every node of a Skiff cluster runs on
 * the control plane's machine for now, each on its own endpoint port — and the agent endpoint
 * listens there, reachable by the API server and not from pods (their loopback is their own).
 *
 * Stopping: `stop()` stops every pod and removes the network (a clean node shutdown); `stop({
 * keepPods: true })` leaves pods running for the next agent to adopt, as after a crash.
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.d.ts";
import { Client, R } from "../control/api/client.ts";
import { type EventRecorder, eventRecorder } from "../control/api/events.ts";
import { isApiError } from "../control/api/status.ts";
import type { KubeObject } from "../control/api/types.ts";
import type { NetworkPlugin } from "./cni/api.ts";
import { BridgeNetwork } from "./cni/bridge.ts";
import { localSubnets } from "./cni/ip.ts";
import type { ImageService, RuntimeService } from "./cri/api.ts";
import type { BackoffOptions } from "./kubelet/backoff.ts";
import { Kubelet } from "./kubelet/kubelet.ts";
import { Heartbeat } from "./registration/heartbeat.ts";
import { diskInfo, type MachineInfo, machineInfo, memInfo, pidHeadroom } from "./registration/machine.ts";
import type { NodeFacts } from "./registration/node_object.ts";
import { registerNode } from "./registration/register.ts";
import { type NodeServer, startNodeServer } from "./server/node_server.ts";

/** What a runtime factory gets. */
export interface RuntimeContext {
  dataDir: string;
  nodeName: string;
  network: NetworkPlugin;
  podCIDR: string;
}

/** A runtime the agent drives, with the handlers it serves (e.g. `wasm`). */
export interface NodeRuntime {
  runtime: RuntimeService;
  images: ImageService;
  handlers: string[];
  /** `<name>://<version>`, shown as the node's containerRuntimeVersion. */
  version: string;
  close(opts: { keepPods: boolean }): Promise<void>;
}

export interface NodeAgentOptions {
  /** API server URL. */
  server: string;
  token?: string;
  /** CA certificates (PEM) the API server's certificate is checked against (an HTTPS server). */
  caCerts?: string[];
  /**
   * The endpoint's serving certificate and key (PEM): with it the endpoint speaks HTTPS, as the
   * API server expects when it has the cluster CA. (Checking that callers are the API server is
   * the security issue's part.)
   */
  tls?: { cert: string; key: string };
  /** Node name (default: the host name). */
  name?: string;
  dataDir: string;
  /** InternalIP, where the endpoint listens (default 127.0.0.1). */
  address?: string;
  /** Endpoint port (default 10250; 0 picks a free one). */
  port?: number;
  /** `status.capacity.pods` (default 1000). */
  maxPods?: number;
  /** Size of the pod CIDR block claimed from 198.18.0.0/16 (default 22). */
  podCidrMask?: number;
  /** The bridge's name (default `skiff0`). */
  bridge?: string;
  /** Crash-loop and image-pull back-off (default 10 s doubling to 5 min). */
  backoff?: BackoffOptions;
  leaseIntervalMs?: number;
  statusReportMs?: number;
  /** Makes the runtime, once the network exists. */
  runtime(ctx: RuntimeContext): Promise<NodeRuntime>;
}

/** Creates the RuntimeClass `handler` (named the same) unless it exists. */
export async function ensureRuntimeClass(client: Client, handler: string): Promise<void> {
  try {
    await client.create(R.runtimeclasses, {
      apiVersion: "node.k8s.io/v1",
      kind: "RuntimeClass",
      metadata: { name: handler },
      handler,
    });
  } catch (e) {
    if (!isApiError(e, 409)) throw e;
  }
}

export class NodeAgent implements AsyncDisposable {
  readonly client: Client;
  readonly name: string;
  readonly opts: NodeAgentOptions;
  node!: KubeObject;
  podCIDR!: string;
  network!: BridgeNetwork;
  kubelet!: Kubelet;
  #server?: NodeServer;
  #heartbeat?: Heartbeat;
  #runtime?: NodeRuntime;
  #recorder!: EventRecorder;
  #machine!: MachineInfo;
  #stopped?: Promise<void>;

  constructor(opts: NodeAgentOptions) {
    this.opts = opts;
    this.client = new Client({
      server: opts.server,
      token: opts.token,
      caCerts: opts.caCerts,
      userAgent: "skiff-node",
    });
    this.name = opts.name ?? Deno.hostname().toLowerCase();
  }

  /** The agent endpoint's URL. */
  get url(): string {
    return this.#server!.url;
  }

  get runtime(): NodeRuntime {
    return this.#runtime!;
  }

  async #facts(): Promise<NodeFacts> {
    const mem = memInfo();
    const disk = await diskInfo(this.opts.dataDir);
    const pids = pidHeadroom();
    let notReadyReason: string | undefined;
    if (this.network) {
      try {
        await this.network.status();
      } catch (e) {
        notReadyReason = `container runtime network not ready: ${(e as Error).message}`;
      }
    }
    return {
      name: this.name,
      machine: this.#machine,
      address: this.opts.address ?? "127.0.0.1",
      port: this.#server!.port,
      maxPods: this.opts.maxPods ?? 1000,
      runtimeHandlers: this.#runtime?.handlers ?? [],
      runtimeVersion: this.#runtime?.version ?? "",
      memoryAvailableBytes: mem.available,
      diskFreeBytes: disk.free,
      pidsFree: pids.max - pids.used,
      notReadyReason: this.#runtime ? notReadyReason : "container runtime is starting",
      now: Date.now(),
    };
  }

  /** Starts everything; resolves once the node is registered and its pods are being synced. */
  async start(): Promise<void> {
    const dataDir = this.opts.dataDir;
    await Deno.mkdir(`${dataDir}/pods`, { recursive: true });
    this.#machine = await machineInfo(dataDir);
    this.#recorder = eventRecorder(this.client, "kubelet", { host: this.name });
    const address = this.opts.address ?? "127.0.0.1";
    this.#server = await startNodeServer({
      hostname: address,
      port: this.opts.port ?? 10250,
      tls: this.opts.tls,
      pods: () => [...(this.kubelet?.pods.list() ?? [])],
      logs: {
        pod: (ns, name) => this.kubelet?.pods.get(ns, name) as Pod | undefined,
        runtimeStatus: (uid) => this.kubelet.runtimeStatus(uid),
        get runtime() {
          return runtime();
        },
      },
    });
    const runtime = () => this.#runtime!.runtime;
    this.node = await registerNode(this.client, await this.#facts(), {
      mask: this.opts.podCidrMask,
      avoid: await localSubnets(this.opts.bridge ?? "skiff0"),
    });
    this.podCIDR = this.node.spec.podCIDR;
    this.network = new BridgeNetwork({
      bridge: this.opts.bridge ?? "skiff0",
      podCIDR: this.podCIDR,
      ipamDir: `${dataDir}/network/ipam`,
    });
    await this.network.setUp();
    this.#runtime = await this.opts.runtime({
      dataDir,
      nodeName: this.name,
      network: this.network,
      podCIDR: this.podCIDR,
    });
    for (const handler of this.#runtime.handlers) await ensureRuntimeClass(this.client, handler);
    this.#heartbeat = new Heartbeat(this.client, this.node, () => this.#facts(), {
      leaseIntervalMs: this.opts.leaseIntervalMs,
      statusReportMs: this.opts.statusReportMs,
    });
    await this.#heartbeat.start();
    await this.#heartbeat.updateStatus(true); // Ready, with the runtime handlers
    this.kubelet = new Kubelet({
      client: this.client,
      nodeName: this.name,
      hostIP: address,
      runtime: this.#runtime.runtime,
      images: this.#runtime.images,
      handlers: this.#runtime.handlers,
      dataDir,
      recorder: this.#recorder,
      allocatable: () => (this.node.status?.allocatable ?? {}) as Record<string, string>,
      backoff: this.opts.backoff,
    });
    await this.kubelet.start();
  }

  /**
   * Stops the agent. Without `keepPods` every pod is stopped and the network removed; with it
   * pods keep running for the next agent.
   */
  stop(opts: { keepPods?: boolean } = {}): Promise<void> {
    return this.#stopped ??= (async () => {
      const keepPods = opts.keepPods ?? false;
      await this.kubelet?.stop({ stopPods: !keepPods });
      await this.#heartbeat?.stop();
      await this.#runtime?.close({ keepPods });
      if (!keepPods) await this.network?.tearDown();
      await this.#server?.close();
      await this.#recorder?.flush();
      this.client.close();
    })();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Creates and starts a node agent. */
export async function startNodeAgent(opts: NodeAgentOptions): Promise<NodeAgent> {
  const agent = new NodeAgent(opts);
  try {
    await agent.start();
  } catch (e) {
    await agent.stop().catch(() => {});
    throw e;
  }
  return agent;
}
