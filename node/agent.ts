/**
 * The node agent: joins a node to a Skiff (or any Kubernetes-compatible) API server and runs its
 * pods, with only what the node authorizer grants a node credential, as upstream's kubelet.
 * Start-up order: the agent endpoint (HTTPS with the node's serving certificate, answering only
 * the API server's signed calls), registration (the Node, without a pod CIDR unless configured),
 * heartbeats (NotReady until the pod network is up), the wait for the pod CIDR the control plane's
 * node IPAM controller assigns, the pod network (bridge `skiff0` with the CIDR's first address),
 * the runtime (which re-adopts sandboxes a previous agent left running), a check that its handlers
 * have RuntimeClasses (it does not create them), Ready, then the pod workers. The node credential
 * is renewed at 80 % of its lifetime.
 *
 * Addresses: the node's InternalIP defaults to 127.0.0.1 — every node of a Skiff cluster runs on
 * the control plane's machine for now, each on its own endpoint port — and the agent endpoint
 * listens there, reachable by the API server and not from pods (their loopback is their own).
 *
 * Stopping: `stop()` stops every pod and removes the network (a clean node shutdown); `stop({
 * keepPods: true })` leaves pods running for the next agent to adopt, as after a crash. The Node
 * object stays either way, as upstream's kubelet leaves it.
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.d.ts";
import { trace, tracing } from "../plugins/host/trace.ts";
import { Client, R } from "../control/api/client.ts";
import { type EventRecorder, eventRecorder } from "../control/api/events.ts";
import { Informer } from "../control/api/informer.ts";
import { isApiError } from "../control/api/status.ts";
import type { KubeObject } from "../control/api/types.ts";
import type { NetworkPlugin } from "./cni/api.ts";
import { PluginNetwork } from "./cni/plugin_network.ts";
import { hostNet } from "./hostcaps/host_net.ts";
import { ensureSharedRoot, hostMount, releaseSharedRoot } from "./hostcaps/host_mount.ts";
import { nodeStorageHost } from "./volumes/storage_drivers.ts";
import { CniExecNetwork } from "./cni/exec/network.ts";
import { localSubnets } from "./cni/ip.ts";
import type { ImageService, RuntimeService } from "./cri/api.ts";
import type { BackoffOptions } from "./kubelet/backoff.ts";
import { Kubelet } from "./kubelet/kubelet.ts";
import { NodePlugins } from "./plugins.ts";
import { type NetworkAddonOptions, NetworkAddons } from "./proxy/addons.ts";
import { type IssuedCredential, NodeCredential, requestNodeCredential } from "./registration/credential.ts";
import { Heartbeat } from "./registration/heartbeat.ts";
import { diskInfo, type MachineInfo, machineInfo, memInfo, pidHeadroom } from "./registration/machine.ts";
import type { NodeFacts } from "./registration/node_object.ts";
import { localOverlap, waitForPodCidr } from "./registration/pod_cidr.ts";
import { registerNode } from "./registration/register.ts";
import { missingRuntimeClasses, missingRuntimeClassMessage } from "./runtime_class.ts";
import { ApiServerVerifier } from "./server/api_server_auth.ts";
import { type NodeServer, startNodeServer } from "./server/node_server.ts";
import { streamingHandler } from "./streaming/mod.ts";
import { RUNTIME_REQUEST_TIMEOUT_MS, withRequestTimeout } from "./cri/request_timeout.ts";

/** What a runtime factory gets. */
export interface RuntimeContext {
  dataDir: string;
  nodeName: string;
  network: NetworkPlugin;
  podCIDR: string;
  /** The node's Plugins (a runtime Plugin may drive containers), when the agent loads them. */
  plugins?: NodePlugins;
}

/** A runtime the agent drives, with the handlers it serves (e.g. `wasm`). */
export interface NodeRuntime {
  runtime: RuntimeService;
  images: ImageService;
  handlers: string[];
  /** `<name>://<version>`, shown as the node's containerRuntimeVersion. */
  version: string;
  /**
   * The network namespace the runtime's pods of a Kubernetes namespace share (the Wasm runtime's
   * sandbox groups), for NetworkPolicy between them; undefined for runtimes without shared ones.
   */
  sharedNetns?(namespace: string): string;
  /** Node conditions the runtime reports (e.g. `OCIRuntimeUnavailable` when crun is missing). */
  conditions?(): { type: string; status: "True" | "False"; reason: string; message: string }[];
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
   * API server expects when it has the cluster CA. Callers are checked either way when the API
   * server publishes its keys; with a certificate they must be (a secured cluster).
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
  /**
   * A pod CIDR this node is configured with (the kubelet's `--pod-cidr`). Without it the node
   * waits for the one the control plane's node IPAM controller assigns.
   */
  podCIDR?: string;
  /** Called with each renewed node credential (to rewrite the kubeconfig). */
  onCredentialRenewed?(issued: IssuedCredential): void | Promise<void>;
  /** Aborts a start still waiting for its pod CIDR. */
  signal?: AbortSignal;
  /** The bridge's name (default `skiff0`). */
  bridge?: string;
  /**
   * Standard CNI plugins instead of the built-in bridge: the directory of the network
   * configuration list (`--cni-conf-dir`) and of the binaries (`--cni-bin-dir`, default /usr/lib/cni).
   */
  cni?: { confDir: string; binDirs?: string[] };
  /** Crash-loop and image-pull back-off (default 10 s doubling to 5 min). */
  backoff?: BackoffOptions;
  /**
   * Load the node-side Plugins (`skiff.dev/v1alpha1`) that select this node (node/plugins.ts:
   * network, ipam, storage, runtime). Default true; false only with `cni` (standard CNI
   * plugins), for an API server that does not serve Plugins.
   */
  plugins?: boolean;
  /** Where built-in plugins (`builtin:<name>` images) are built (default `<repo>/tests/.cache/plugins`). */
  pluginBuildDir?: string;
  /** How long start waits for the network Plugins to load (default 60 s; the node stays NotReady until they are). */
  pluginLoadTimeoutMs?: number;
  /** The kubelet's runtime request timeout (upstream `--runtime-request-timeout`; default 2 minutes). */
  runtimeRequestTimeoutMs?: number;
  leaseIntervalMs?: number;
  statusReportMs?: number;
  /** Makes the runtime, once the network exists. */
  runtime(ctx: RuntimeContext): Promise<NodeRuntime>;
  /**
   * The network add-ons: service proxy, NetworkPolicy, cluster DNS on the bridge gateway, and the
   * Ingress controller when it has ports (node/proxy/addons.ts). Default: all but Ingress;
   * `false` runs none.
   */
  network?: NetworkAddonOptions | false;
}

/**
 * With `SKIFF_TRACE_API=1` (and `SKIFF_TRACE_STARTUP=1`, plugins/host/trace.ts), every request
 * of the agent's API client is a trace line (`api> <METHOD> <path>`) and so is every watch event
 * it reads (`api-watch-event <path>`): tests/bench/trace_counts.ts counts them per pod start.
 * A diagnostic: off by default.
 */
const TRACE_API = tracing && Deno.env.get("SKIFF_TRACE_API") === "1";

async function tracedFetch(req: Request): Promise<Response> {
  const path = new URL(req.url).pathname;
  trace("api>", `${req.method} ${path}`);
  const res = await fetch(req);
  if (!new URL(req.url).searchParams.has("watch") || !res.body) return res;
  // Watch events are newline-delimited JSON: one trace line per line read.
  const counted = res.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, out) {
        for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) trace("api-watch-event", path);
        out.enqueue(chunk);
      },
    }),
  );
  return new Response(counted, { status: res.status, statusText: res.statusText, headers: res.headers });
}

export class NodeAgent implements AsyncDisposable {
  readonly client: Client;
  readonly name: string;
  readonly opts: NodeAgentOptions;
  /** The node's credential, renewed in the background (none: a static token or no token). */
  readonly credential: NodeCredential | undefined;
  node!: KubeObject;
  podCIDR!: string;
  network!: PluginNetwork | CniExecNetwork;
  kubelet!: Kubelet;
  /** Handlers of this node no RuntimeClass names (pods asking for them cannot run). */
  missingRuntimeClasses: string[] = [];
  #server?: NodeServer;
  #heartbeat?: Heartbeat;
  #runtime?: NodeRuntime;
  #nodes?: Informer;
  #recorder!: EventRecorder;
  #machine!: MachineInfo;
  #stopped?: Promise<void>;
  /** The network add-ons (service proxy, NetworkPolicy, DNS, Ingress). */
  addons?: NetworkAddons;
  /** The node-side Plugins this node loads (none with `plugins: false`). */
  plugins?: NodePlugins;

  constructor(opts: NodeAgentOptions) {
    this.opts = opts;
    this.name = opts.name ?? Deno.hostname().toLowerCase();
    this.credential = opts.token
      ? new NodeCredential(opts.token, {
        // Asked for with the current credential (the client presents it).
        request: () => requestNodeCredential(this.client, this.name),
        onRenewed: opts.onCredentialRenewed,
      })
      : undefined;
    const credential = this.credential;
    this.client = new Client({
      server: opts.server,
      token: credential ? () => credential.token : undefined,
      caCerts: opts.caCerts,
      userAgent: "skiff-node",
      fetch: TRACE_API && !opts.caCerts?.length ? tracedFetch : undefined,
    });
  }

  /** The agent endpoint's URL. */
  get url(): string {
    return this.#server!.url;
  }

  get runtime(): NodeRuntime {
    return this.#runtime!;
  }

  /**
   * The check of the endpoint's callers, from the cluster's published keys; null when the API
   * server publishes none (a development cluster without authentication).
   */
  async #apiServerVerifier(): Promise<ApiServerVerifier | null> {
    let issuer: string;
    try {
      issuer = (await (await this.client.request("GET", "/.well-known/openid-configuration")).json()).issuer;
    } catch (e) {
      if (isApiError(e, 404)) return null;
      throw e;
    }
    const fetchJwks = async () => await (await this.client.request("GET", "/openid/v1/jwks")).json();
    return new ApiServerVerifier({ nodeName: this.name, issuer, fetchJwks, jwks: await fetchJwks() });
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
    } else {
      notReadyReason = "container runtime network not ready: waiting for the node's pod CIDR";
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
      notReadyReason: this.#runtime || !this.network ? notReadyReason : "container runtime is starting",
      extraConditions: [...(this.#runtime?.conditions?.() ?? []), ...(this.addons?.conditions() ?? [])],
      now: Date.now(),
    };
  }

  /** Starts everything; resolves once the node is registered and its pods are being synced. */
  async start(): Promise<void> {
    const dataDir = this.opts.dataDir;
    const bridge = this.opts.bridge ?? "skiff0";
    await Deno.mkdir(`${dataDir}/pods`, { recursive: true });
    this.#machine = await machineInfo(dataDir);
    this.#recorder = eventRecorder(this.client, "kubelet", { host: this.name });
    const address = this.opts.address ?? "127.0.0.1";
    const verifier = await this.#apiServerVerifier();
    if (!verifier && this.opts.tls) {
      throw new Error(
        "the API server publishes no signing keys (/openid/v1/jwks): the node could not tell its calls from anyone's",
      );
    }
    if (!verifier) {
      console.error(
        "node endpoint: the API server publishes no signing keys (a development cluster); it answers every caller",
      );
    }
    this.#server = await startNodeServer({
      hostname: address,
      port: this.opts.port ?? 10250,
      tls: this.opts.tls,
      authenticate: verifier ? (req) => verifier.check(req) : undefined,
      pods: () => [...(this.kubelet?.pods.list() ?? [])],
      streaming: streamingHandler({
        pod: (ns, name) => this.kubelet?.pods.get(ns, name) as Pod | undefined,
        runtimeStatus: (uid) => this.kubelet.runtimeStatus(uid),
        get runtime() {
          return runtime();
        },
      }),
      logs: {
        pod: (ns, name) => this.kubelet?.pods.get(ns, name) as Pod | undefined,
        runtimeStatus: (uid) => this.kubelet.runtimeStatus(uid),
        get runtime() {
          return runtime();
        },
      },
    });
    const runtime = () => this.#runtime!.runtime;
    this.credential?.start();
    this.node = await registerNode(this.client, await this.#facts(), { podCIDR: this.opts.podCIDR });
    // Heartbeats from now on: the Node is NotReady (no pod network) until the end of start().
    this.#heartbeat = new Heartbeat(this.client, this.node, () => this.#facts(), {
      leaseIntervalMs: this.opts.leaseIntervalMs,
      statusReportMs: this.opts.statusReportMs,
    });
    await this.#heartbeat.start();
    // The node's own Node, watched by name (all a node may watch of Nodes).
    this.#nodes = new Informer(this.client, R.nodes, { fieldSelector: `metadata.name=${this.name}` }).start();
    this.podCIDR = await waitForPodCidr(this.#nodes, this.name, {
      signal: this.opts.signal,
      onSlow: () =>
        console.error(
          `node ${this.name}: waiting for the control plane to assign a pod CIDR (spec.podCIDR; the ` +
            `node-ipam-controller does, or start the node with --pod-cidr)`,
        ),
    });
    this.node = this.#nodes.get(undefined, this.name) ?? this.node;
    if (this.opts.plugins !== false) {
      const nodes = this.#nodes;
      const podCIDR = this.podCIDR;
      // Storage plugins mount under the node's volume roots; the kubelet root is a shared mount
      // (made before crun's mount namespace) so their bind mounts reach crun's containers.
      const volumeRoots = [`${dataDir}/kubelet`, `${dataDir}/storage`];
      try {
        ensureSharedRoot(volumeRoots[0]);
      } catch (e) {
        console.error(
          `node ${this.name}: ${volumeRoots[0]} is not a shared mount (${
            (e as Error).message
          }): container pods will not see published volumes`,
        );
      }
      this.plugins = new NodePlugins({
        client: this.client,
        nodeName: this.name,
        dataDir: `${dataDir}/plugins`,
        labels: () => (nodes.get(undefined, this.name) ?? this.node).metadata?.labels,
        capabilities: {
          "host-net": (grant) => hostNet(grant, { bridge, podCIDR }),
          "host-mount": (grant) => hostMount(grant, volumeRoots),
        },
        // A storage plugin's node facts: the node (topology) and where its new volumes go.
        settings: (p) =>
          p.spec.kind === "storage"
            ? { nodeId: this.name, root: `${dataDir}/storage/${p.metadata.name}/volumes` }
            : undefined,
        buildCacheDir: this.opts.pluginBuildDir,
      });
      nodes.addHandler({
        onUpdate: (a, b) => {
          if (JSON.stringify(a.metadata?.labels ?? {}) !== JSON.stringify(b.metadata?.labels ?? {})) {
            this.plugins?.nodeChanged();
          }
        },
      });
      await this.plugins.start();
    }
    if (this.opts.cni) {
      // Standard CNI plugins: the conflist's IPAM, not the node's pod CIDR, gives pod addresses.
      this.network = new CniExecNetwork({
        confDir: this.opts.cni.confDir,
        binDirs: this.opts.cni.binDirs ?? ["/usr/lib/cni"],
        cacheDir: `${dataDir}/network/cni`,
      });
    } else {
      if (!this.plugins) {
        throw new Error(
          `node ${this.name}: the pod network is a network Plugin; without Plugins, use standard CNI plugins (cni)`,
        );
      }
      const clash = localOverlap(this.podCIDR, await localSubnets(bridge));
      if (clash) throw new Error(`node ${this.name}: ${clash}`);
      this.network = new PluginNetwork({
        bridge,
        podCIDR: this.podCIDR,
        dir: `${dataDir}/network/attachments`,
        plugins: this.plugins,
      });
    }
    await this.network.setUp();
    if (this.network instanceof PluginNetwork && this.plugins) {
      // The node is NotReady (NetworkPluginNotReady) until its network Plugin loads; wait, bounded.
      const missing = await this.plugins.waitLoaded(
        ["network", "ipam", "storage"],
        this.opts.pluginLoadTimeoutMs ?? 60_000,
      );
      if (missing.length) console.error(`node ${this.name}: plugins not loaded yet: ${missing.join(", ")}`);
    }
    this.#runtime = await this.opts.runtime({
      dataDir,
      nodeName: this.name,
      network: this.network,
      podCIDR: this.podCIDR,
      plugins: this.plugins,
    });
    this.missingRuntimeClasses = await missingRuntimeClasses(this.client, this.#runtime.handlers);
    for (const handler of this.missingRuntimeClasses) {
      console.error(`node ${this.name}: ${missingRuntimeClassMessage(handler)}`);
    }
    if (this.opts.network !== false) {
      this.addons = await NetworkAddons.start({
        client: this.client,
        nodeName: this.name,
        nodeAddress: address,
        bridge: this.network.bridge ?? bridge,
        gateway: this.network.gateway,
        wasmNetns: this.#runtime.sharedNetns?.bind(this.#runtime),
      }, this.opts.network ?? {});
    }
    await this.#heartbeat.updateStatus(true); // Ready, with the runtime handlers
    this.kubelet = new Kubelet({
      client: this.client,
      nodeName: this.name,
      hostIP: address,
      runtime: withRequestTimeout(
        this.#runtime.runtime,
        this.opts.runtimeRequestTimeoutMs ?? RUNTIME_REQUEST_TIMEOUT_MS,
      ),
      images: this.#runtime.images,
      handlers: this.#runtime.handlers,
      dataDir,
      recorder: this.#recorder,
      allocatable: () => (this.node.status?.allocatable ?? {}) as Record<string, string>,
      backoff: this.opts.backoff,
      clusterDns: this.addons?.dns
        ? {
          servers: [this.network.gateway],
          domain: this.addons.dns.records.zone,
          hostResolvConf: hostResolvConf(),
        }
        : undefined,
      storage: this.plugins ? nodeStorageHost(this.plugins) : undefined,
    });
    await this.kubelet.start();
  }

  /**
   * Stops the agent. Without `keepPods` every pod is stopped and the network removed; with it
   * pods keep running for the next agent. The Node stays registered (it goes NotReady once its
   * Lease expires), as with the kubelet.
   */
  stop(opts: { keepPods?: boolean } = {}): Promise<void> {
    return this.#stopped ??= (async () => {
      const keepPods = opts.keepPods ?? false;
      await this.kubelet?.stop({ stopPods: !keepPods });
      await this.addons?.stop().catch((e) =>
        console.error(`node ${this.name}: network add-ons: ${e.message}`)
      );
      await this.#heartbeat?.stop();
      await this.#nodes?.stop();
      await this.credential?.stop();
      await this.#runtime?.close({ keepPods });
      await this.plugins?.stop().catch((e) => console.error(`node ${this.name}: plugins: ${e.message}`));
      if (!keepPods) await this.network?.tearDown();
      if (!keepPods && this.plugins) releaseSharedRoot(`${this.opts.dataDir}/kubelet`);
      await this.#server?.close();
      await this.#recorder?.flush();
      this.client.close();
    })();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

function hostResolvConf(): string {
  try {
    return Deno.readTextFileSync("/etc/resolv.conf");
  } catch {
    return "";
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
