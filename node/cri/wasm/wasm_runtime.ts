/**
 * CRI RuntimeService for WebAssembly components. A pod sandbox is an address on its namespace's
 * sandbox group (see sandbox_group.ts), attached through the CNI-shaped network plugin; a
 * container is a component instance set run by the group's sandbox process. Records of both are
 * kept on disk (record_store.ts), so a restarted agent finds its sandboxes and containers again,
 * reattaches to the shims still running, and learns the exits that happened meanwhile.
 *
 * Each verb is idempotent. Container events (created, started, stopped) are pushed to
 * subscribers, as CRI's `GetContainerEvents`.
 * @module
 */
import type { ComponentCache, PreparedComponent } from "../../../wasm/component_cache.ts";
import type { ContainerExit } from "../../../wasm/host/spec.ts";
import type { NetworkPlugin } from "../../cni/api.ts";
import { listNetns } from "../../cni/netns.ts";
import {
  type Container,
  type ContainerConfig,
  type ContainerEvent,
  type ContainerFilter,
  type ContainerStatus,
  type PodSandbox,
  type PodSandboxConfig,
  type PodSandboxFilter,
  type PodSandboxStatus,
  type RuntimeCapabilities,
  RuntimeError,
  type RuntimeService,
} from "../api.ts";
import type { WasmImageService } from "./image_service.ts";
import { RecordStore } from "./record_store.ts";
import { SandboxGroup } from "./sandbox_group.ts";
import { Semaphore } from "./semaphore.ts";
import { containerSpec } from "./container_spec.ts";
import {
  containerMatches,
  containerOf,
  type ContainerRecord,
  containerStatusOf,
  exitReason,
  RUNTIME_NAME,
  RUNTIME_VERSION,
  sandboxMatches,
  sandboxOf,
  type SandboxRecord,
  sandboxStatusOf,
} from "./records.ts";

export { RUNTIME_NAME, RUNTIME_VERSION };

export interface WasmRuntimeOptions {
  /** Runtime state: `<dir>/sandboxes`, `<dir>/containers`, `<dir>/groups/<name>`. */
  dir: string;
  /** Directories sandboxes may read and write (the kubelet's pod volume root). */
  volumeRoot: string;
  network: NetworkPlugin & { detachNamespace(netns: string): Promise<void> };
  images: WasmImageService;
  components: ComponentCache;
  /** Prefix of this node's network namespaces (unique per node on a machine). */
  netnsPrefix: string;
  /** A guest that does not yield for this long gets its sandbox killed (default 5000 ms). */
  deadlineMs?: number;
  /** V8 heap limit of each sandbox process (default 2048 MiB). */
  heapLimitMiB?: number;
  /** Memory cap of a container without `limits.memory` (default 256 MiB). */
  defaultMemoryLimitBytes?: number;
  /** Port a proxy component is served on when the container declares none (default 8080). */
  defaultPort?: number;
  /** Containers per sandbox process; a namespace with more gets more processes (default 200). */
  maxContainersPerSandbox?: number;
  /** A proxy instance idle this long is dropped, its memory returned (default 30,000 ms; 0: never). */
  idleInstanceMs?: number;
  /** Container starts in flight at once, node-wide (default: the number of CPUs). */
  maxConcurrentStarts?: number;
}

export class WasmRuntime implements RuntimeService {
  readonly #opts: WasmRuntimeOptions;
  readonly #sandboxes: RecordStore<SandboxRecord>;
  readonly #containers: RecordStore<ContainerRecord>;
  readonly #groups = new Map<string, SandboxGroup>();
  readonly #groupLocks = new Map<string, Promise<unknown>>();
  readonly #listeners = new Set<(e: ContainerEvent) => void>();
  /** Prepared components by digest (the cache reads and hashes the whole file otherwise). */
  readonly #prepared = new Map<string, Promise<PreparedComponent>>();
  readonly #starts: Semaphore;

  private constructor(
    opts: WasmRuntimeOptions,
    sandboxes: RecordStore<SandboxRecord>,
    containers: RecordStore<ContainerRecord>,
  ) {
    this.#opts = opts;
    this.#starts = new Semaphore(opts.maxConcurrentStarts ?? navigator.hardwareConcurrency ?? 2);
    this.#sandboxes = sandboxes;
    this.#containers = containers;
  }

  /** Opens the runtime's state and reattaches to the sandboxes still running. */
  static async open(opts: WasmRuntimeOptions): Promise<WasmRuntime> {
    const rt = new WasmRuntime(
      opts,
      await RecordStore.open<SandboxRecord>(`${opts.dir}/sandboxes`),
      await RecordStore.open<ContainerRecord>(`${opts.dir}/containers`),
    );
    await rt.#recover();
    return rt;
  }

  /** Reconciles the records with what survived: live shims, exits that happened meanwhile, network namespaces. */
  async #recover(): Promise<void> {
    const existing = new Set(listNetns(this.#opts.netnsPrefix));
    const names = new Set(this.#sandboxes.values().map((s) => s.group));
    for (const name of names) {
      const group = this.#group(name);
      const known = await group.reattach();
      const netnsAlive = existing.has(group.opts.netns);
      for (const c of this.#containers.values()) {
        if (this.#sandboxes.get(c.podSandboxId)?.group !== name || c.state === "CONTAINER_EXITED") continue;
        const seen = known.get(c.id);
        if (seen?.state === "running" && seen.attached) {
          group.adopt(c.id, c.spec, c.logPath);
          continue;
        }
        const exit: ContainerExit = seen?.exit ??
          {
            exitCode: 137,
            reason: "SandboxLost",
            message: "The container's sandbox ended while the node agent was away",
          };
        await this.#exited(c.id, exit, seen?.finishedAt ?? Date.now());
      }
      if (!netnsAlive) {
        for (const s of this.#sandboxes.values()) {
          if (s.group === name && s.state === "SANDBOX_READY") {
            await this.#sandboxes.put({ ...s, state: "SANDBOX_NOTREADY" });
          }
        }
      }
    }
  }

  #group(name: string): SandboxGroup {
    let g = this.#groups.get(name);
    if (!g) {
      const dir = `${this.#opts.dir}/groups/${name}`;
      g = new SandboxGroup({
        name,
        netns: `${this.#opts.netnsPrefix}${name}`,
        dir,
        permissions: {
          read: [this.#opts.components.dir, this.#opts.volumeRoot],
          write: [this.#opts.volumeRoot],
          net: "all",
        },
        deadlineMs: this.#opts.deadlineMs ?? 5000,
        heapLimitMiB: this.#opts.heapLimitMiB ?? 2048,
        maxPerSandbox: this.#opts.maxContainersPerSandbox,
        starts: this.#starts,
      }, {
        started: (id, at) => this.#started(id, at),
        startFailed: () => {},
        exited: (id, exit, at) =>
          this.#exited(id, exit, at).catch((e) =>
            console.error(`runtime: recording the exit of ${id} failed:`, e)
          ),
      });
      this.#groups.set(name, g);
    }
    return g;
  }

  /** Runs `fn` with the group's lifecycle lock (creation and teardown never interleave). */
  async #locked<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#groupLocks.get(name) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.#groupLocks.set(name, next.catch(() => {}));
    return await next;
  }

  #emit(c: ContainerRecord, type: ContainerEvent["type"]) {
    const podUid = this.#sandboxes.get(c.podSandboxId)?.metadata.uid ?? "";
    const e: ContainerEvent = {
      containerId: c.id,
      type,
      podSandboxId: c.podSandboxId,
      podUid,
      createdAt: Date.now(),
    };
    for (const l of this.#listeners) l(e);
  }

  async #started(id: string, at: number) {
    const c = this.#containers.get(id);
    if (!c || c.state === "CONTAINER_EXITED") return;
    await this.#containers.put({ ...c, state: "CONTAINER_RUNNING", startedAt: at });
    this.#emit(c, "CONTAINER_STARTED_EVENT");
  }

  async #exited(id: string, exit: ContainerExit, at: number) {
    const c = this.#containers.get(id);
    if (!c || c.state === "CONTAINER_EXITED") return;
    const next: ContainerRecord = {
      ...c,
      state: "CONTAINER_EXITED",
      finishedAt: at,
      startedAt: c.startedAt || at,
      exitCode: exit.exitCode,
      reason: exitReason(exit),
      message: exit.message ?? "",
    };
    await this.#containers.put(next);
    this.#emit(next, "CONTAINER_STOPPED_EVENT");
  }

  version() {
    return Promise.resolve({
      runtimeName: RUNTIME_NAME,
      runtimeVersion: RUNTIME_VERSION,
      runtimeApiVersion: "v1",
    });
  }

  capabilities(): RuntimeCapabilities {
    return { exec: false, servesPorts: true };
  }

  events(handler: (event: ContainerEvent) => void): () => void {
    this.#listeners.add(handler);
    return () => this.#listeners.delete(handler);
  }

  async runPodSandbox(config: PodSandboxConfig, runtimeHandler: string): Promise<string> {
    if (runtimeHandler !== RUNTIME_NAME) {
      throw new RuntimeError("CreatePodSandboxError", `no runtime for "${runtimeHandler}" is configured`);
    }
    const m = config.metadata;
    const id = `${m.uid.slice(0, 8)}-${m.attempt}-${crypto.randomUUID().slice(0, 8)}`;
    const name = m.namespace;
    const record: SandboxRecord = {
      id,
      metadata: m,
      labels: config.labels,
      annotations: config.annotations,
      createdAt: Date.now(),
      state: "SANDBOX_NOTREADY",
      group: name,
      logDirectory: config.logDirectory,
    };
    await this.#sandboxes.put(record);
    await Deno.mkdir(config.logDirectory, { recursive: true });
    const group = this.#group(name);
    // Under the group's lock, so the namespace's last pod going away cannot tear the network
    // namespace down between this attachment and this sandbox being recorded ready.
    await this.#locked(name, async () => {
      const netns = await group.createNetns();
      const result = await this.#opts.network.add({ containerId: id, netns, ifName: "eth0" });
      await this.#sandboxes.put({
        ...record,
        ip: result.ips[0].address.split("/")[0],
        state: "SANDBOX_READY",
      });
      group.warm();
    });
    return id;
  }

  async stopPodSandbox(podSandboxId: string): Promise<void> {
    const s = this.#sandboxes.get(podSandboxId);
    if (!s) return;
    const group = this.#group(s.group);
    await Promise.all(
      this.#containers.values().filter((c) => c.podSandboxId === s.id && c.state !== "CONTAINER_EXITED")
        .map((c) => this.stopContainer(c.id, 0)),
    );
    if (s.ip !== undefined || s.state === "SANDBOX_READY") {
      await this.#opts.network.del({ containerId: s.id, netns: group.netnsPath, ifName: "eth0" });
      await this.#sandboxes.put({ ...s, state: "SANDBOX_NOTREADY" });
    }
    // The last pod of the namespace: end its sandbox process and network namespace.
    await this.#locked(s.group, async () => {
      const others = this.#sandboxes.values().some((o) => o.group === s.group && o.state === "SANDBOX_READY");
      if (others) return;
      await group.shutdown({ keepNetns: true });
      await this.#opts.network.detachNamespace(group.netnsPath);
      await group.shutdown();
    });
  }

  podSandboxStatus(podSandboxId: string): Promise<PodSandboxStatus | null> {
    const s = this.#sandboxes.get(podSandboxId);
    return Promise.resolve(s ? sandboxStatusOf(s) : null);
  }

  listPodSandbox(filter: PodSandboxFilter = {}): Promise<PodSandbox[]> {
    return Promise.resolve(this.#sandboxes.values().filter((s) => sandboxMatches(s, filter)).map(sandboxOf));
  }

  async removePodSandbox(podSandboxId: string): Promise<void> {
    const s = this.#sandboxes.get(podSandboxId);
    if (!s) return;
    if (s.state === "SANDBOX_READY") await this.stopPodSandbox(podSandboxId);
    for (const c of this.#containers.values()) {
      if (c.podSandboxId === podSandboxId) await this.removeContainer(c.id);
    }
    await this.#sandboxes.delete(podSandboxId);
  }

  async createContainer(
    podSandboxId: string,
    config: ContainerConfig,
    sandboxConfig: PodSandboxConfig,
  ): Promise<string> {
    const s = this.#sandboxes.get(podSandboxId);
    if (!s || s.state !== "SANDBOX_READY" || !s.ip) {
      throw new RuntimeError("CreateContainerError", `pod sandbox ${podSandboxId} is not ready`);
    }
    const image = this.#opts.images.lookup(config.image.image);
    if (!image) {
      throw new RuntimeError(
        "CreateContainerError",
        `image "${config.image.image}" is not present on this node`,
      );
    }
    let component: PreparedComponent;
    try {
      let p = this.#prepared.get(image.componentDigest);
      if (!p) {
        p = this.#opts.components.prepare({ path: image.componentPath, digest: image.componentDigest });
        this.#prepared.set(image.componentDigest, p);
        p.catch(() => this.#prepared.delete(image.componentDigest));
      }
      component = await p;
    } catch (e) {
      throw new RuntimeError("CreateContainerError", (e as Error).message ?? String(e));
    }
    const id = `${s.metadata.uid.slice(0, 8)}-${
      config.metadata.name.slice(0, 40)
    }-${config.metadata.attempt}-${crypto.randomUUID().slice(0, 8)}`;
    const spec = containerSpec(id, config, component, s.ip, {
      defaultPort: this.#opts.defaultPort,
      defaultMemoryLimitBytes: this.#opts.defaultMemoryLimitBytes,
      idleInstanceMs: this.#opts.idleInstanceMs,
    }, sandboxConfig.dnsConfig);
    const logPath = `${sandboxConfig.logDirectory}/${config.logPath}`;
    await Deno.mkdir(logPath.slice(0, logPath.lastIndexOf("/")), { recursive: true });
    const record: ContainerRecord = {
      id,
      podSandboxId,
      metadata: config.metadata,
      image: config.image,
      imageRef: image.ref,
      state: "CONTAINER_CREATED",
      createdAt: Date.now(),
      startedAt: 0,
      finishedAt: 0,
      exitCode: 0,
      reason: "",
      message: "",
      labels: config.labels,
      annotations: config.annotations,
      mounts: config.mounts,
      logPath,
      spec,
    };
    await this.#containers.put(record);
    this.#emit(record, "CONTAINER_CREATED_EVENT");
    return id;
  }

  async startContainer(containerId: string): Promise<void> {
    const c = this.#containers.get(containerId);
    if (!c) throw new RuntimeError("RunContainerError", `container ${containerId} does not exist`);
    if (c.state === "CONTAINER_RUNNING") return;
    if (c.state === "CONTAINER_EXITED") {
      throw new RuntimeError("RunContainerError", `container ${containerId} has already run`);
    }
    const s = this.#sandboxes.get(c.podSandboxId)!;
    try {
      await this.#locked(s.group, () => Promise.resolve());
      await this.#group(s.group).start(c.spec, c.logPath);
    } catch (e) {
      const message = (e as Error).message ?? String(e);
      const now = Date.now();
      await this.#containers.put({
        ...c,
        state: "CONTAINER_EXITED",
        exitCode: 128,
        reason: "StartError",
        message,
        startedAt: now,
        finishedAt: now,
      });
      this.#emit(c, "CONTAINER_STOPPED_EVENT");
      throw new RuntimeError("RunContainerError", message);
    }
    // The started event may have been recorded already; make sure the record says running.
    const now = this.#containers.get(containerId)!;
    if (now.state === "CONTAINER_CREATED") await this.#started(containerId, Date.now());
  }

  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    const c = this.#containers.get(containerId);
    if (!c || c.state === "CONTAINER_EXITED") return;
    if (c.state === "CONTAINER_CREATED") {
      await this.#exited(containerId, {
        exitCode: 0,
        reason: "Completed",
        message: "stopped before it started",
      }, Date.now());
      return;
    }
    const s = this.#sandboxes.get(c.podSandboxId)!;
    await this.#group(s.group).stop(containerId, Math.max(0, timeoutSeconds) * 1000);
    if (this.#containers.get(containerId)?.state !== "CONTAINER_EXITED") {
      await this.#exited(containerId, { exitCode: 137, reason: "Error", message: "Killed" }, Date.now());
    }
  }

  containerStatus(containerId: string): Promise<ContainerStatus | null> {
    const c = this.#containers.get(containerId);
    return Promise.resolve(c ? containerStatusOf(c) : null);
  }

  listContainers(filter: ContainerFilter = {}): Promise<Container[]> {
    return Promise.resolve(
      this.#containers.values().filter((c) => containerMatches(c, filter)).map(containerOf),
    );
  }

  async removeContainer(containerId: string): Promise<void> {
    const c = this.#containers.get(containerId);
    if (!c) return;
    if (c.state !== "CONTAINER_EXITED") await this.stopContainer(containerId, 0);
    await this.#containers.delete(containerId);
    await Deno.remove(c.logPath).catch(() => {});
    this.#emit(c, "CONTAINER_DELETED_EVENT");
  }

  /**
   * Closes the runtime. With `keepPods` the sandboxes keep running (their shims are only
   * disconnected). Without, the node is shutting down: every sandbox process is ended, every
   * network namespace removed, every address released and every record deleted.
   */
  async close(opts: { keepPods: boolean }): Promise<void> {
    this.#listeners.clear();
    if (opts.keepPods) {
      await Promise.all([...this.#groups.values()].map((g) => g.detach()));
      return;
    }
    const names = new Set([...this.#groups.keys(), ...this.#sandboxes.values().map((s) => s.group)]);
    await Promise.all([...names].map((name) =>
      this.#locked(name, async () => {
        const group = this.#group(name);
        await group.shutdown();
        await this.#opts.network.detachNamespace(group.netnsPath);
      })
    ));
    for (const s of this.#sandboxes.values()) {
      await this.#opts.network.del({
        containerId: s.id,
        netns: this.#group(s.group).netnsPath,
        ifName: "eth0",
      });
      await this.#sandboxes.delete(s.id);
    }
    for (const c of this.#containers.values()) await this.#containers.delete(c.id);
  }
}
