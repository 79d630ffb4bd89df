/**
 * CRI RuntimeService for OCI containers driven by a runtime Plugin (the built-in `crun`
 * component): the node's side of the CRI verbs over {@linkcode RuntimeHost}. It prepares what the
 * plugin cannot (the pod's network namespace and address through the node's network, its IPC
 * and UTS namespaces and managed files, node/cri/oci/sandbox.ts), translates CRI records to the
 * WIT records and back, maps the plugin's errors to the kubelet's reasons, and keeps the
 * streaming verbs (exec, attach, port-forward, and ExecSync for probes, so that a long probe
 * never holds the plugin's runner), keyed by container id.
 *
 * It keeps a small mirror of the plugin's sandboxes (id → netns, address, pod dir) and
 * containers (id → sandbox, image), filled from the plugin at open and on each change, because
 * the dispatcher asks about sandboxes synchronously.
 * @module
 */
import { trace } from "../../../plugins/host/trace.ts";
import { PluginCallError } from "../../../control/api/plugins.ts";
import { errorVariant } from "../../../plugins/host/plugin_error.ts";
import { HostCallError } from "../../../plugins/host/runner_client.ts";
import type { WitContainerStatus, WitSandboxStatus } from "../../../plugins/runtime/binding.ts";
import type { NetworkPlugin } from "../../cni/api.ts";
import { deleteNetns, netnsPath } from "../../cni/netns.ts";
import type { ImageStore } from "../../images/image_store.ts";
import type { MountNamespace } from "../../mountns/mount_ns.ts";
import {
  containerMatches,
  containerOf,
  sandboxMatches,
  sandboxStatusOf as recordStatus,
} from "../records.ts";
import {
  type Container,
  type ContainerConfig,
  type ContainerEvent,
  type ContainerFilter,
  type ContainerStatus,
  type DeferredSandbox,
  type ExecRequest,
  type PodSandbox,
  type PodSandboxConfig,
  type PodSandboxFilter,
  type PodSandboxStatus,
  type RuntimeCapabilities,
  RuntimeError,
  type RuntimeService,
  type StreamSession,
} from "../api.ts";
import { Crun } from "../oci/crun.ts";
import { attachSession, execSession, execSync } from "../oci/exec.ts";
import { cgroupHierarchies } from "../oci/cgroups.ts";
import { SeccompBpfCache } from "../oci/seccomp_bpf.ts";
import { createPodNamespaces, removePodNamespaces, writePodFiles } from "../oci/sandbox.ts";
import type { RuntimeHost } from "./runtime_host.ts";
import { SpareNetns } from "./spare_netns.ts";

export const PLUGIN_RUNTIME_VERSION = "0.1.0";

export interface PluginOciRuntimeOptions {
  /** The plugin's root (`<data-dir>/oci`). */
  dir: string;
  host: RuntimeHost;
  ns: MountNamespace;
  network: NetworkPlugin;
  store: ImageStore;
  netnsPrefix: string;
  cgroupParent: string;
  /** The Plugin's name (messages). */
  plugin: string;
}

/** What the node mirrors of a sandbox. */
interface SandboxView {
  id: string;
  /** The network namespace's name ("" for hostNetwork). */
  netns: string;
  ip?: string;
  podDir: string;
  uid: string;
  ready: boolean;
  /** The network being set up (a sandbox made with `runPodSandboxDeferred`). */
  network?: Promise<void>;
  /** Its IPC/UTS namespaces and files, which a container's create waits for. */
  prepared?: Promise<void>;
  /** Its setting up failed: its release forces the network's DEL. */
  networkFailed?: boolean;
}

const kv = (r: Record<string, string> | undefined) =>
  Object.entries(r ?? {}).map(([key, value]) => ({ key, value }));
const rec = (l: { key: string; value: string }[] | undefined) =>
  Object.fromEntries((l ?? []).map((p) => [p.key, p.value]));
const upper = (s: string) => s.replace(/-/g, "_").toUpperCase();

/** The plugin's error as the kubelet's: `reason` with the plugin's message. */
function criError(e: unknown, reason: string, preconditionReason = reason): RuntimeError {
  if (e instanceof RuntimeError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const v = e instanceof HostCallError ? undefined : errorVariant(e);
  // The message without a nested variant's tag (a node error the plugin passed on).
  if (v) {
    return new RuntimeError(
      v.tag === "failed-precondition" ? preconditionReason : reason,
      v.message.replace(/^[a-z-]+: /, ""),
    );
  }
  return new RuntimeError(reason, e instanceof PluginCallError ? `runtime plugin: ${msg}` : msg);
}

function notFound(e: unknown): boolean {
  return e instanceof PluginCallError && errorVariant(e)?.tag === "not-found";
}

/** The WIT `pod-sandbox-config`: the kubelet's config with what the node prepared. */
function witSandbox(
  config: PodSandboxConfig,
  prepared: { hostname?: string; netns: string; ip?: string; podDir: string },
) {
  return {
    metadata: config.metadata,
    hostname: prepared.hostname ?? config.hostname,
    logDirectory: config.logDirectory,
    labels: kv(config.labels),
    annotations: kv(config.annotations),
    netns: prepared.netns ? netnsPath(prepared.netns) : "",
    ip: prepared.ip,
    podDir: prepared.podDir,
    linux: JSON.stringify(config.linux ?? {}),
  };
}

function containerStatusOf(c: WitContainerStatus): ContainerStatus {
  return {
    id: c.id,
    metadata: { name: c.name, attempt: c.attempt },
    state: upper(c.state) as ContainerStatus["state"],
    createdAt: c.createdAt,
    startedAt: c.startedAt,
    finishedAt: c.finishedAt,
    exitCode: c.exitCode,
    image: { image: c.image },
    imageRef: c.imageRef,
    reason: c.reason,
    message: c.message,
    labels: rec(c.labels),
    annotations: rec(c.annotations),
    mounts: c.mounts,
    logPath: c.logPath,
    runtimeName: "crun",
  };
}

function sandboxRecord(s: WitSandboxStatus) {
  return {
    id: s.id,
    metadata: s.metadata,
    labels: rec(s.labels),
    annotations: rec(s.annotations),
    createdAt: s.createdAt,
    state: upper(s.state) as PodSandboxStatus["state"],
    ip: s.ip ?? undefined,
    logDirectory: s.logDirectory,
    runtimeHandler: s.runtimeHandler,
  };
}

function sandboxStatusOf(s: WitSandboxStatus): PodSandboxStatus {
  const r = sandboxRecord(s);
  return recordStatus(r, r.runtimeHandler);
}

export class PluginOciRuntime implements RuntimeService {
  readonly opts: PluginOciRuntimeOptions;
  /** The runtime Plugin driving crun. */
  get plugin(): string {
    return this.opts.plugin;
  }
  readonly crun: Crun;
  /** Filters crun compiled (the host's, shared with `node-images`). */
  readonly seccompFilters: SeccompBpfCache;
  readonly #sandboxes = new Map<string, SandboxView>();
  /**
   * Sandbox statuses the plugin answered, kept until a verb that changes the sandbox (stop,
   * remove) goes through this runtime: a sandbox changes only through those verbs (there is no
   * pause process whose death would make it NOTREADY), so the kubelet's status reads need one
   * plugin call per sandbox (its containers), not two.
   */
  readonly #sandboxStatus = new Map<string, PodSandboxStatus>();
  /** Counts sandbox stops and removals begun and ended: a status read across one is not kept. */
  #sandboxChanges = 0;
  /**
   * The network namespace made ahead of time for the next sandbox; made again while a sandbox's
   * container is being created (set at open).
   */
  #spareNetns!: SpareNetns;
  readonly #containers = new Map<string, { podSandboxId: string; imageRef: string }>();
  readonly #listeners = new Set<(e: ContainerEvent) => void>();
  readonly #unsubscribe: () => void;

  private constructor(opts: PluginOciRuntimeOptions) {
    this.opts = opts;
    this.crun = new Crun(opts.ns, opts.host.dirs.crun);
    this.seccompFilters = opts.host.opts.seccompFilters ?? new SeccompBpfCache();
    this.#unsubscribe = opts.host.events((e) => {
      const c = this.#containers.get(e.containerId);
      if (e.type === "CONTAINER_DELETED_EVENT") this.#containers.delete(e.containerId);
      if (!c) return;
      const podUid = [...this.#sandboxes.values()].find((s) => s.id === c.podSandboxId)?.uid ?? "";
      const event: ContainerEvent = {
        containerId: e.containerId,
        type: e.type,
        podSandboxId: c.podSandboxId,
        podUid,
        createdAt: Date.now(),
      };
      for (const l of this.#listeners) l(event);
    });
  }

  /** Mirrors the plugin's sandboxes and containers. */
  static async open(opts: PluginOciRuntimeOptions): Promise<PluginOciRuntime> {
    const rt = new PluginOciRuntime(opts);
    for (const s of await opts.host.listPodSandbox() as WitSandboxStatus[]) rt.#mirror(s);
    for (const c of await opts.host.listContainers() as WitContainerStatus[]) {
      rt.#containers.set(c.id, { podSandboxId: c.podSandboxId, imageRef: c.imageRef });
    }
    const used = new Set([...rt.#sandboxes.values()].map((s) => s.netns));
    rt.#spareNetns = await SpareNetns.open(opts.netnsPrefix, used);
    // A sandbox with a network namespace and no IP: the agent stopped while its network was being
    // set up (`runPodSandboxDeferred`). It is stopped (its containers never started), and the
    // kubelet makes the pod a new one.
    for (const s of [...rt.#sandboxes.values()]) {
      if (!s.ready || !s.netns || s.ip) continue;
      rt.#sandboxes.set(s.id, { ...s, networkFailed: true });
      await rt.stopPodSandbox(s.id).catch((e) =>
        console.error(`runtime plugin: stopping sandbox ${s.id}, whose network was never set up:`, e)
      );
    }
    return rt;
  }

  #mirror(s: WitSandboxStatus): void {
    const name = s.netns ? s.netns.slice(s.netns.lastIndexOf("/") + 1) : "";
    this.#sandboxes.set(s.id, {
      id: s.id,
      netns: name,
      ip: s.ip ?? undefined,
      podDir: s.podDir,
      uid: s.metadata.uid,
      ready: s.state === "sandbox-ready",
    });
  }

  version() {
    return Promise.resolve({
      runtimeName: "crun",
      runtimeVersion: PLUGIN_RUNTIME_VERSION,
      runtimeApiVersion: "v1",
    });
  }

  capabilities(): RuntimeCapabilities {
    return { exec: true, servesPorts: false };
  }

  events(handler: (event: ContainerEvent) => void): () => void {
    this.#listeners.add(handler);
    return () => this.#listeners.delete(handler);
  }

  // -------------------------------------------------------------------------------------------
  // Sandboxes

  async runPodSandbox(config: PodSandboxConfig, runtimeHandler: string): Promise<string> {
    const made = await this.runPodSandboxDeferred(config, runtimeHandler);
    try {
      await made.networkReady;
    } catch (e) {
      await this.removePodSandbox(made.id).catch(() => {});
      throw e;
    }
    return made.id;
  }

  /**
   * The sandbox without waiting for its network: the network Plugin's ADD runs while the
   * namespaces, the pod's files and the plugin's record are made, and goes on after this
   * answers. `networkReady` resolves once the pod's IP is in the files (`/etc/hosts`, written in
   * place: containers bind-mount it) and in the plugin's record (its sandbox status).
   */
  async runPodSandboxDeferred(config: PodSandboxConfig, runtimeHandler: string): Promise<DeferredSandbox> {
    const m = config.metadata;
    trace("sandbox>", m.name);
    const namespaces = config.linux?.securityContext?.namespaceOptions ?? {};
    if (namespaces.pid === "POD") {
      throw new RuntimeError(
        "CreatePodSandboxError",
        "shareProcessNamespace is not supported for containers on this node (see docs/containers.md)",
      );
    }
    const hostNetwork = namespaces.network === "NODE";
    const hostname = hostNetwork ? Deno.hostname().slice(0, 63) : config.hostname.slice(0, 63);
    // The node's resources of the sandbox are named by a key of its own (the plugin names the sandbox).
    const key = `${m.uid.slice(0, 8)}-${m.attempt}-${crypto.randomUUID().slice(0, 8)}`;
    const podDir = `${this.opts.host.dirs.sandboxes}/${key}`;
    // The plugin's record first (the network namespace's name is known before it exists): the
    // runner makes it while the node makes the pod's directory (two mkdirs), its IPC/UTS
    // namespaces (a request to the spawner) and files, which only the first `crun create` needs;
    // the network last: it is the longest step but only the container's start waits for it.
    const own = [
      ...(namespaces.ipc === "NODE" ? [] : ["ipc" as const]),
      ...(hostNetwork ? [] : ["uts" as const]),
    ];
    let netns = "";
    let taken: Promise<void> = Promise.resolve();
    if (!hostNetwork) {
      ({ name: netns, made: taken } = this.#spareNetns.take(`${this.opts.netnsPrefix}_${key}`));
    }
    const handler = runtimeHandler || "oci";
    const recorded = this.opts.host.runPodSandboxStatus(
      witSandbox(config, { hostname, netns, podDir }),
      handler,
    );
    recorded.catch(() => {}); // awaited below
    // Its directory synchronously (before the plugin's create can need it); a failure, even of
    // the mkdir, is the sandbox's, undone by its removal as any other (the record exists by then).
    const preparing = (async () => {
      // (The log directory is made by the record's call, runtime_host.ts.)
      Deno.mkdirSync(podDir, { recursive: true });
      await Promise.all([
        createPodNamespaces(this.opts.ns, podDir, hostname, own).finally(() => trace("ipc-uts-done", key)),
        writePodFiles(podDir, undefined, hostname, config.dnsConfig),
        taken,
      ]);
    })();
    const prepared = preparing.then(() => {}, (e) => {
      throw new RuntimeError("CreatePodSandboxError", (e as Error).message ?? String(e));
    });
    prepared.catch(() => {}); // awaited below
    const added = hostNetwork ? Promise.resolve(undefined) : taken.then(async () => {
      trace("netns-added", key);
      const result = await this.opts.network.add({
        containerId: key,
        netns: netnsPath(netns),
        ifName: "eth0",
      });
      trace("network-added", key);
      return result.ips[0].address.split("/")[0];
    }).catch((e) => {
      throw new RuntimeError("CreatePodSandboxError", (e as Error).message ?? String(e));
    });
    added.catch(() => {}); // awaited below
    /** Undoes a sandbox that failed, once its ADD is over (a DEL follows the ADD it undoes). */
    const undo = async () => {
      await Promise.allSettled([added, prepared]);
      await this.#release(key, netns, podDir, true).catch(() => {});
      await Deno.remove(podDir, { recursive: true }).catch(() => {});
      this.#spareNetns.refill();
    };
    let id: string;
    try {
      const made = await recorded;
      id = made.id;
      // A sandbox the node did not know has no containers yet; a 0.2.0 plugin answered its status.
      if (!this.#sandboxes.has(id)) this.opts.host.seedSandbox(id);
      if (made.status) this.#keepSandboxStatus(id, made.status);
      trace("sandbox-recorded", key);
    } catch (e) {
      await undo();
      throw criError(e, "CreatePodSandboxError");
    }
    const networkReady = Promise.all([added, prepared]).then(async ([ip]) => {
      if (hostNetwork) return;
      await writePodFiles(podDir, ip, hostname, config.dnsConfig);
      trace("pod-files-done", key);
      // The same pod attempt on the same directory is the same sandbox: the plugin records the IP.
      const again = await this.opts.host.runPodSandboxStatus(
        witSandbox(config, { hostname, netns, ip, podDir }),
        handler,
      );
      this.#sandboxChanges++;
      this.#sandboxStatus.delete(id);
      const s = this.#sandboxes.get(id);
      if (s) this.#sandboxes.set(id, { ...s, ip, network: undefined });
      // The status with the IP, which the kubelet reads after its sync: a 0.2.0 plugin answered
      // it; a 0.1.0 one is asked now (usually while crun creates the pod's first container).
      if (again.status) this.#keepSandboxStatus(id, again.status);
      else this.#cachedSandboxStatus(id).catch(() => {});
    }).catch((e) => {
      const s = this.#sandboxes.get(id);
      if (s) this.#sandboxes.set(id, { ...s, network: undefined, networkFailed: true });
      this.#spareNetns.refill();
      throw e instanceof RuntimeError ? e : criError(e, "CreatePodSandboxError");
    });
    networkReady.catch(() => {}); // the caller's
    this.#sandboxes.set(id, { id, netns, podDir, uid: m.uid, ready: true, network: networkReady, prepared });
    return { id, networkReady };
  }

  /**
   * Releases the sandbox's network and namespaces. A failed DEL keeps the network namespace for
   * the kubelet's retry, unless `force` (a sandbox whose creation failed: nothing will retry).
   */
  async #release(key: string, netns: string, podDir: string, force = false): Promise<void> {
    if (netns) {
      try {
        await this.opts.network.del({ containerId: key, netns: netnsPath(netns), ifName: "eth0" });
        await (this.opts.network as { detachNamespace?(n: string): Promise<void> }).detachNamespace?.(
          netnsPath(netns),
        );
      } catch (e) {
        if (!force) throw e;
      }
      await deleteNetns(netns);
    }
    await removePodNamespaces(this.opts.ns, podDir);
  }

  async stopPodSandbox(podSandboxId: string): Promise<void> {
    const s = this.#sandboxes.get(podSandboxId);
    if (!s) return;
    await s.network?.catch(() => {}); // a DEL after the ADD
    this.#sandboxChanges++;
    this.#sandboxStatus.delete(podSandboxId);
    try {
      await this.opts.host.stopPodSandbox(podSandboxId);
    } catch (e) {
      throw criError(e, "StopPodSandboxError");
    } finally {
      this.#sandboxChanges++;
    }
    const now = this.#sandboxes.get(podSandboxId) ?? s;
    if (now.ready) {
      await this.#release(
        now.podDir.slice(now.podDir.lastIndexOf("/") + 1),
        now.netns,
        now.podDir,
        now.networkFailed,
      );
      this.#sandboxes.set(podSandboxId, { ...now, ready: false });
    }
  }

  async removePodSandbox(podSandboxId: string): Promise<void> {
    const s = this.#sandboxes.get(podSandboxId);
    if (!s) return;
    await this.stopPodSandbox(podSandboxId);
    this.#sandboxChanges++;
    try {
      await this.opts.host.removePodSandbox(podSandboxId);
    } catch (e) {
      throw criError(e, "RemovePodSandboxError");
    } finally {
      this.#sandboxChanges++;
    }
    await Deno.remove(s.podDir, { recursive: true }).catch(() => {});
    this.#sandboxes.delete(podSandboxId);
    this.#sandboxStatus.delete(podSandboxId);
    this.#removePodCgroups(s.uid);
  }

  #removePodCgroups(uid: string): void {
    if ([...this.#sandboxes.values()].some((o) => o.uid === uid && o.ready)) return;
    for (const h of cgroupHierarchies()) {
      try {
        Deno.removeSync(`/sys/fs/cgroup/${h}${this.opts.cgroupParent}/pod${uid}`);
      } catch { /* gone, or still used */ }
    }
  }

  async podSandboxStatus(podSandboxId: string): Promise<PodSandboxStatus | null> {
    // Not the plugin's (a Wasm sandbox of the dispatcher's): no call, no error in its status.
    if (!this.#sandboxes.has(podSandboxId)) return null;
    return await this.#cachedSandboxStatus(podSandboxId);
  }

  /** Keeps the status a verb of the plugin's just answered (a 0.2.0 `run-pod-sandbox`). */
  #keepSandboxStatus(id: string, s: WitSandboxStatus): void {
    if (s.id === id) this.#sandboxStatus.set(id, sandboxStatusOf(s));
  }

  /** The sandbox's status: the one kept since the last change, or the plugin's (then kept). */
  async #cachedSandboxStatus(id: string): Promise<PodSandboxStatus | null> {
    const kept = this.#sandboxStatus.get(id);
    if (kept) return kept;
    const changes = this.#sandboxChanges;
    let s: WitSandboxStatus;
    try {
      s = await this.opts.host.getPodSandboxStatus(id) as WitSandboxStatus;
    } catch (e) {
      if (notFound(e)) return null;
      throw e;
    }
    const status = sandboxStatusOf(s);
    // Not kept when a stop or removal ran meanwhile (it may be stale already).
    if (changes === this.#sandboxChanges && this.#sandboxes.has(id)) this.#sandboxStatus.set(id, status);
    return status;
  }

  /**
   * The pod's sandboxes (from the node's mirror) and their containers: one plugin call per
   * sandbox (`list-containers` of that sandbox, whose records are full statuses) once its
   * status is known (`get-pod-sandbox-status`, sent with it the first time), where listing
   * every sandbox and container of the node and asking each status takes two node-wide lists
   * and one call per container.
   */
  async podStatus(uid: string): Promise<{ sandboxes: PodSandboxStatus[]; containers: ContainerStatus[] }> {
    const sandboxes: PodSandboxStatus[] = [];
    const containers: ContainerStatus[] = [];
    const own = [...this.#sandboxes.values()].filter((s) => s.uid === uid);
    // Both calls of every sandbox go out at once (the runner answers them in turn).
    const answers = await Promise.all(own.map((s) =>
      Promise.all([
        this.#cachedSandboxStatus(s.id),
        this.opts.host.listContainers(s.id).catch((e) => e) as Promise<WitContainerStatus[] | Error>,
      ])
    ));
    for (const [status, listed] of answers) {
      if (!status) continue;
      if (listed instanceof Error) throw listed;
      sandboxes.push(status);
      for (const c of listed) if (this.#containers.has(c.id)) containers.push(containerStatusOf(c));
    }
    return { sandboxes, containers };
  }

  async listPodSandbox(filter: PodSandboxFilter = {}): Promise<PodSandbox[]> {
    const all = (await this.opts.host.listPodSandbox() as WitSandboxStatus[]).map(sandboxRecord);
    return all.filter((s) => sandboxMatches(s, filter)).map((s) => ({
      id: s.id,
      metadata: s.metadata,
      state: s.state,
      createdAt: s.createdAt,
      labels: s.labels,
      annotations: s.annotations,
      runtimeHandler: s.runtimeHandler,
    }));
  }

  /** The sandbox of `id` (the dispatcher asks synchronously). */
  sandbox(id: string): SandboxView | undefined {
    return this.#sandboxes.get(id);
  }

  /** The ready sandbox whose network namespace is at `path`. */
  sandboxForNetns(path: string): SandboxView | undefined {
    return [...this.#sandboxes.values()].find((s) => s.ready && !!s.netns && netnsPath(s.netns) === path);
  }

  // -------------------------------------------------------------------------------------------
  // Containers

  async createContainer(
    podSandboxId: string,
    config: ContainerConfig,
    sandboxConfig: PodSandboxConfig,
  ): Promise<string> {
    const s = this.#sandboxes.get(podSandboxId);
    // A sandbox whose network is on its way takes containers (they start once it is there).
    if (!s || !s.ready || s.networkFailed || (s.netns && !s.ip && !s.network)) {
      throw new RuntimeError("CreateContainerError", `pod sandbox ${podSandboxId} is not ready`);
    }
    const wit = {
      name: config.metadata.name,
      attempt: config.metadata.attempt,
      image: config.image.image,
      command: config.command,
      args: config.args,
      workingDir: config.workingDir,
      envs: config.envs,
      mounts: config.mounts.map((m) => ({
        containerPath: m.containerPath,
        hostPath: m.hostPath,
        readonly: m.readonly,
      })),
      labels: kv(config.labels),
      annotations: kv(config.annotations),
      logPath: config.logPath,
      linux: JSON.stringify(config.linux ?? {}),
      stdin: config.stdin,
      stdinOnce: config.stdinOnce ?? false,
      tty: config.tty,
    };
    let id: string;
    try {
      // The plugin's create is asked for while the sandbox's namespaces and files may still be
      // being made: its run of conmon waits for them (`ready`). The next sandbox's network
      // namespace is made once the plugin's create has answered, while crun creates the
      // container (its system calls would hold the agent's thread while the plugin's create
      // needs it).
      const created = this.opts.host.createContainer(
        podSandboxId,
        wit,
        witSandbox(sandboxConfig, s),
        () => this.#spareNetns.refill(),
        s.prepared,
      );
      // The sandbox's status, which the kubelet reads next, is asked for now and answered after
      // the create (queued behind it). A sandbox whose network is on its way has it asked for
      // once its IP is recorded.
      if (!s.network) this.#cachedSandboxStatus(podSandboxId).catch(() => {});
      id = await created;
    } catch (e) {
      throw criError(e, "CreateContainerError", "CreateContainerConfigError");
    }
    const img = this.opts.store.lookup(config.image.image);
    this.#containers.set(id, { podSandboxId, imageRef: img?.id ?? config.image.image });
    return id;
  }

  /** Whether the container is this runtime's (its mirror; no call). */
  hasContainer(containerId: string): boolean {
    return this.#containers.has(containerId);
  }

  async startContainer(containerId: string): Promise<void> {
    if (!this.#containers.has(containerId)) {
      throw new RuntimeError("RunContainerError", `container ${containerId} does not exist`);
    }
    try {
      await this.opts.host.startContainer(containerId);
    } catch (e) {
      throw criError(e, "RunContainerError");
    }
  }

  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    if (!this.#containers.has(containerId)) return; // gone (or never the plugin's): stopped
    try {
      await this.opts.host.stopContainer(containerId, timeoutSeconds);
    } catch (e) {
      throw criError(e, "StopContainerError");
    }
  }

  async removeContainer(containerId: string): Promise<void> {
    if (!this.#containers.has(containerId)) return;
    try {
      await this.opts.host.removeContainer(containerId);
    } catch (e) {
      throw criError(e, "RemoveContainerError");
    }
    this.#containers.delete(containerId);
  }

  async containerStatus(containerId: string): Promise<ContainerStatus | null> {
    if (!this.#containers.has(containerId)) return null;
    try {
      return containerStatusOf(await this.opts.host.getContainerStatus(containerId) as WitContainerStatus);
    } catch (e) {
      if (notFound(e)) return null;
      throw e;
    }
  }

  async listContainers(filter: ContainerFilter = {}): Promise<Container[]> {
    const all = await this.opts.host.listContainers(filter.podSandboxId) as WitContainerStatus[];
    return all.map((c) => ({ ...containerStatusOf(c), podSandboxId: c.podSandboxId }))
      .filter((c) => containerMatches(c, filter))
      .map(containerOf);
  }

  /** Image IDs the containers on this node use (image garbage collection keeps them). */
  imagesInUse(): Set<string> {
    return new Set(
      [...this.#containers.values()].map((c) => this.opts.store.lookup(c.imageRef)?.id ?? c.imageRef),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Streaming (the node's, by container id)

  async #running(containerId: string): Promise<WitContainerStatus> {
    let c: WitContainerStatus;
    try {
      if (!this.#containers.has(containerId)) throw new Error("unknown");
      c = await this.opts.host.getContainerStatus(containerId) as WitContainerStatus;
    } catch {
      throw new RuntimeError("NotFound", `container ${containerId} does not exist`);
    }
    if (c.state !== "container-running") {
      throw new RuntimeError("NotRunning", `container ${containerId} is not running`);
    }
    return c;
  }

  async execSync(containerId: string, cmd: string[], timeoutMs: number) {
    await this.#running(containerId);
    return await execSync(
      this.crun,
      containerId,
      cmd,
      timeoutMs,
      `${this.opts.host.dirs.containers}/${containerId}`,
    );
  }

  async exec(containerId: string, req: ExecRequest): Promise<StreamSession> {
    await this.#running(containerId);
    return await execSession(this.crun, containerId, req, `${this.opts.host.dirs.containers}/${containerId}`);
  }

  async attach(containerId: string, opts: { stdin: boolean; tty: boolean }): Promise<StreamSession> {
    const c = await this.#running(containerId);
    return await attachSession(`${this.opts.host.dirs.containers}/${containerId}`, {
      stdin: opts.stdin && c.stdin,
      tty: c.tty,
    });
  }

  async portForward(podSandboxId: string, port: number): Promise<Deno.Conn> {
    const s = this.#sandboxes.get(podSandboxId);
    if (!s || !s.ready || (s.netns && !s.ip)) {
      throw new RuntimeError("NotFound", `pod sandbox ${podSandboxId} is not ready`);
    }
    return await Deno.connect({ hostname: s.ip ?? "127.0.0.1", port });
  }

  // -------------------------------------------------------------------------------------------

  /**
   * Closes the runtime. With `keepPods` containers keep running under their conmon. Without,
   * the node is shutting down: every container and sandbox is removed, and the node's cgroups.
   */
  async close(opts: { keepPods: boolean }): Promise<void> {
    await this.#spareNetns.close();
    if (!opts.keepPods) {
      for (const id of [...this.#sandboxes.keys()]) {
        await this.removePodSandbox(id).catch((e) =>
          console.error(`runtime plugin: removing sandbox ${id}:`, e)
        );
      }
    }
    this.#unsubscribe();
    this.#listeners.clear();
    await this.opts.host.close();
    if (opts.keepPods) return;
    for (const h of cgroupHierarchies()) {
      const parent = `/sys/fs/cgroup/${h}${this.opts.cgroupParent}`;
      try {
        for (const e of Deno.readDirSync(parent)) {
          if (e.isDirectory && e.name.startsWith("pod")) Deno.removeSync(`${parent}/${e.name}`);
        }
        Deno.removeSync(parent);
        const top = parent.slice(0, parent.lastIndexOf("/"));
        if (top !== `/sys/fs/cgroup/${h}`) Deno.removeSync(top);
      } catch { /* not there, or shared */ }
    }
  }
}
