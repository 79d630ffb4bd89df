/**
 * CRI RuntimeService for OCI containers, run by crun under conmon inside the agent's mount
 * namespace.
 *
 * - A **pod sandbox** is a network namespace with a veth on the node's bridge and an address from
 *   its pod CIDR, plus the pod's IPC and UTS namespaces and managed files (sandbox.ts). There is
 *   no pause container.
 * - A **container** is a bundle (`<dir>/containers/<id>`: config.json from spec.ts, an overlay
 *   rootfs over the image's layers) created by conmon + crun and started with `crun start`. conmon
 *   keeps the exit code (`<dir>/exits/<id>`), notes OOM kills, and writes the CRI log.
 * - Exits are learned from the exit directory (inotify, plus a slow rescan), so a container that
 *   exits while the agent is away is known as soon as a new agent opens the runtime; running
 *   containers are adopted through their records and live conmon processes.
 *
 * Every verb is idempotent; container events are pushed to subscribers.
 * @module
 */
import type { NetworkPlugin } from "../../cni/api.ts";
import { createNetns, deleteNetns, listNetns, netnsPath } from "../../cni/netns.ts";
import { ImageStore } from "../../images/image_store.ts";
import { type MountNamespace, shq } from "../../mountns/mount_ns.ts";
import {
  type Container,
  type ContainerConfig,
  type ContainerEvent,
  type ContainerFilter,
  type ContainerStatus,
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
import { RecordStore } from "../wasm/record_store.ts";
import { conmonArgv, containerPaths, Crun, shellLine } from "./crun.ts";
import { attachSession, execSession, execSync } from "./exec.ts";
import {
  containerMatches,
  containerOf,
  type ContainerRecord,
  containerStatusOf,
  exitReason,
  HANDLER,
  normalizeSignal,
  RUNTIME_NAME,
  sandboxMatches,
  sandboxOf,
  type SandboxRecord,
  sandboxStatusOf,
} from "./records.ts";
import { copyRootfs, overlayMountCommand, readImageFile, type RootfsMode, unmountRootfs } from "./rootfs.ts";
import { createPodNamespaces, removePodNamespaces, writePodFiles } from "./sandbox.ts";
import { SECCOMP_BPF_ANNOTATION, SeccompBpfCache } from "./seccomp_bpf.ts";
import { ociSpec, SpecError } from "./spec.ts";
import { resolveUser, runAsNonRootViolation, UserError } from "./user.ts";

export { HANDLER, RUNTIME_NAME };
export const RUNTIME_VERSION = "0.1.0";

export interface OciRuntimeOptions {
  /** State: `records/`, `containers/`, `sandboxes/`, `exits/`, `crun/`. */
  dir: string;
  ns: MountNamespace;
  network: NetworkPlugin;
  images: ImageStore;
  /** Prefix of this node's network namespaces. */
  netnsPrefix: string;
  /** Parent of every container cgroup (`/skiff/<node>`), in each v1 hierarchy. */
  cgroupParent: string;
  /** Per-container pids limit (default 4096; 0 = none). */
  pidsLimit?: number;
  rootfsMode: RootfsMode;
  /** How often exits are rescanned besides inotify (default 2000 ms). */
  rescanMs?: number;
}

const CGROUP_ROOT = "/sys/fs/cgroup";
const CREATE_TIMEOUT_MS = 60_000;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

function readPid(path: string): number | undefined {
  try {
    const n = Number(Deno.readTextFileSync(path).trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export class OciRuntime implements RuntimeService {
  readonly opts: OciRuntimeOptions;
  readonly crun: Crun;
  readonly #sandboxes: RecordStore<SandboxRecord>;
  readonly #containers: RecordStore<ContainerRecord>;
  readonly #listeners = new Set<(e: ContainerEvent) => void>();
  readonly #exitWaiters = new Map<string, Set<() => void>>();
  readonly #dirs: { containers: string; sandboxes: string; exits: string; crun: string };
  #watcher?: Deno.FsWatcher;
  #rescan?: ReturnType<typeof setInterval>;
  #closed = false;
  readonly #exiting = new Map<string, Promise<void>>();
  /** Seccomp filters crun compiled, handed to later creates with the same profile. */
  readonly seccompFilters = new SeccompBpfCache();

  private constructor(
    opts: OciRuntimeOptions,
    sandboxes: RecordStore<SandboxRecord>,
    containers: RecordStore<ContainerRecord>,
  ) {
    this.opts = opts;
    this.#sandboxes = sandboxes;
    this.#containers = containers;
    this.#dirs = {
      containers: `${opts.dir}/containers`,
      sandboxes: `${opts.dir}/sandboxes`,
      exits: `${opts.dir}/exits`,
      crun: `${opts.dir}/crun`,
    };
    this.crun = new Crun(opts.ns, this.#dirs.crun);
  }

  /** Opens the runtime's state: adopts running containers, records exits that happened meanwhile. */
  static async open(opts: OciRuntimeOptions): Promise<OciRuntime> {
    for (const d of ["containers", "sandboxes", "exits", "crun"]) {
      await Deno.mkdir(`${opts.dir}/${d}`, { recursive: true });
    }
    const rt = new OciRuntime(
      opts,
      await RecordStore.open<SandboxRecord>(`${opts.dir}/records/sandboxes`),
      await RecordStore.open<ContainerRecord>(`${opts.dir}/records/containers`),
    );
    await rt.#recover();
    rt.#watch();
    return rt;
  }

  // -------------------------------------------------------------------------------------------
  // Recovery and exit tracking

  async #recover(): Promise<void> {
    const netns = new Set(listNetns(this.opts.netnsPrefix));
    for (const s of this.#sandboxes.values()) {
      if (s.state === "SANDBOX_READY" && s.netns && !netns.has(s.netns)) {
        await this.#sandboxes.put({ ...s, state: "SANDBOX_NOTREADY" });
      }
    }
    const known = new Set(this.#containers.values().map((c) => c.id));
    for (const c of this.#containers.values()) {
      if (c.state === "CONTAINER_EXITED") continue;
      const paths = containerPaths(this.#dirs.containers, c.id);
      if (exists(`${this.#dirs.exits}/${c.id}`)) {
        await this.#onExit(c.id);
        continue;
      }
      const conmon = readPid(paths.conmonPidFile);
      if (conmon && alive(conmon)) continue; // still monitored: adopted as it is
      // conmon is gone without an exit file: the container cannot be followed any more.
      await this.crun.delete(c.id, true);
      await this.#recordExit(c.id, 255, false, "the container's monitor (conmon) was gone when the node agent started");
    }
    // Containers crun knows that no record claims (a crash in the middle of a create).
    for (const id of await this.crun.list()) {
      if (!known.has(id)) await this.crun.delete(id, true);
    }
    for (const e of Deno.readDirSync(this.#dirs.containers)) {
      if (!known.has(e.name)) await this.#removeBundle(e.name);
    }
  }

  #watch(): void {
    try {
      const watcher = Deno.watchFs(this.#dirs.exits, { recursive: false });
      this.#watcher = watcher;
      (async () => {
        try {
          for await (const ev of watcher) {
            for (const p of ev.paths) this.#exitFileSeen(p.slice(p.lastIndexOf("/") + 1));
          }
        } catch { /* closed */ }
      })();
    } catch (e) {
      console.error("oci: cannot watch the exit directory, relying on rescans:", e);
    }
    this.#rescan = setInterval(() => this.#rescanExits(), this.opts.rescanMs ?? 2000);
    Deno.unrefTimer(this.#rescan as unknown as number);
  }

  #rescanExits(): void {
    if (this.#closed) return;
    try {
      for (const e of Deno.readDirSync(this.#dirs.exits)) this.#exitFileSeen(e.name);
    } catch { /* gone */ }
  }

  #exitFileSeen(id: string): void {
    const c = this.#containers.get(id);
    if (!c || c.state === "CONTAINER_EXITED" || this.#exiting.has(id)) return;
    const p = this.#onExit(id).catch((e) => console.error(`oci: recording the exit of ${id} failed:`, e))
      .finally(() => this.#exiting.delete(id));
    this.#exiting.set(id, p);
  }

  /** Reads the exit file (and the OOM marker) of a container and records its exit. */
  async #onExit(id: string): Promise<void> {
    const c = this.#containers.get(id);
    if (!c || c.state === "CONTAINER_EXITED") return;
    const file = `${this.#dirs.exits}/${id}`;
    let text = "";
    for (let i = 0; i < 20 && !text; i++) {
      text = (await Deno.readTextFile(file).catch(() => "")).trim();
      if (!text) await new Promise((r) => setTimeout(r, 5)); // written after creation
    }
    const code = Number(text);
    const paths = containerPaths(this.#dirs.containers, id);
    const oom = exists(`${paths.persist}/oom`) || this.#oomKilled(c);
    let finishedAt = Date.now();
    try {
      finishedAt = (await Deno.stat(file)).mtime?.getTime() ?? finishedAt;
    } catch { /* gone */ }
    await this.#recordExit(id, Number.isInteger(code) ? code : 255, oom, undefined, finishedAt);
    await Deno.remove(file).catch(() => {});
    // The container is done: free its runtime state, cgroup and mounts at once.
    await this.crun.delete(id, true).catch(() => {});
    await unmountRootfs(this.opts.ns, paths.rootfs);
  }

  #oomKilled(c: ContainerRecord): boolean {
    try {
      const text = Deno.readTextFileSync(`${CGROUP_ROOT}/memory${c.cgroupsPath}/memory.oom_control`);
      return Number(text.match(/oom_kill (\d+)/)?.[1] ?? 0) > 0;
    } catch {
      return false;
    }
  }

  async #recordExit(id: string, exitCode: number, oom: boolean, message?: string, at = Date.now()) {
    const c = this.#containers.get(id);
    if (!c || c.state === "CONTAINER_EXITED") return;
    const paths = containerPaths(this.#dirs.containers, id);
    let termination = "";
    try {
      termination = (await Deno.readTextFile(`${paths.bundle}/termination-log`)).slice(0, 4096);
    } catch { /* none */ }
    const next: ContainerRecord = {
      ...c,
      state: "CONTAINER_EXITED",
      exitCode,
      reason: exitReason(exitCode, oom),
      message: termination || message || "",
      startedAt: c.startedAt || at,
      finishedAt: at,
    };
    await this.#containers.put(next);
    this.#emit(next, "CONTAINER_STOPPED_EVENT");
    for (const w of this.#exitWaiters.get(id) ?? []) w();
    this.#exitWaiters.delete(id);
  }

  /** Resolves true once the container has exited, false after `ms`. */
  #waitExit(id: string, ms: number): Promise<boolean> {
    if (this.#containers.get(id)?.state !== "CONTAINER_RUNNING") return Promise.resolve(true);
    return new Promise((resolve) => {
      let set = this.#exitWaiters.get(id);
      if (!set) this.#exitWaiters.set(id, set = new Set());
      const done = () => {
        clearTimeout(timer);
        set!.delete(done);
        resolve(true);
      };
      const timer = setTimeout(() => {
        set!.delete(done);
        resolve(this.#containers.get(id)?.state === "CONTAINER_EXITED");
      }, ms);
      set.add(done);
      // An exit file may already be there (the watcher runs asynchronously).
      if (exists(`${this.#dirs.exits}/${id}`)) this.#exitFileSeen(id);
    });
  }

  #emit(c: ContainerRecord, type: ContainerEvent["type"]) {
    const podUid = this.#sandboxes.get(c.podSandboxId)?.metadata.uid ?? c.labels["io.kubernetes.pod.uid"] ?? "";
    const e: ContainerEvent = { containerId: c.id, type, podSandboxId: c.podSandboxId, podUid, createdAt: Date.now() };
    for (const l of this.#listeners) l(e);
  }

  // -------------------------------------------------------------------------------------------
  // CRI

  version() {
    return Promise.resolve({ runtimeName: RUNTIME_NAME, runtimeVersion: RUNTIME_VERSION, runtimeApiVersion: "v1" });
  }

  capabilities(): RuntimeCapabilities {
    return { exec: true, servesPorts: false };
  }

  events(handler: (event: ContainerEvent) => void): () => void {
    this.#listeners.add(handler);
    return () => this.#listeners.delete(handler);
  }

  async runPodSandbox(config: PodSandboxConfig, runtimeHandler: string): Promise<string> {
    const m = config.metadata;
    const id = `${m.uid.slice(0, 8)}-${m.attempt}-${crypto.randomUUID().slice(0, 8)}`;
    const dir = `${this.#dirs.sandboxes}/${id}`;
    const namespaces = config.linux?.securityContext?.namespaceOptions ?? {};
    if (namespaces.pid === "POD") {
      // Without a pause process there is no pod-wide pid namespace to hold.
      throw new RuntimeError(
        "CreatePodSandboxError",
        "shareProcessNamespace is not supported for containers on this node (see docs/containers.md)",
      );
    }
    const hostNetwork = namespaces.network === "NODE";
    // A hostNetwork pod has the node's UTS namespace too, hence the node's hostname.
    const hostname = hostNetwork ? Deno.hostname().slice(0, 63) : config.hostname.slice(0, 63);
    const record: SandboxRecord = {
      id,
      metadata: m,
      labels: config.labels,
      annotations: config.annotations,
      createdAt: Date.now(),
      state: "SANDBOX_NOTREADY",
      netns: hostNetwork ? "" : `${this.opts.netnsPrefix}_${id}`,
      hostname,
      dir,
      logDirectory: config.logDirectory,
      linux: config.linux,
      runtimeHandler: runtimeHandler || HANDLER,
    };
    await this.#sandboxes.put(record);
    try {
      await Promise.all([config.logDirectory, dir].map((d) => Deno.mkdir(d, { recursive: true })));
      // The network (namespace, veth, address) and the IPC and UTS namespaces are independent:
      // made at the same time. Both are awaited before anything is released on a failure.
      const network = hostNetwork ? Promise.resolve(undefined) : (async () => {
        const path = await createNetns(record.netns);
        const result = await this.opts.network.add({ containerId: id, netns: path, ifName: "eth0" });
        return result.ips[0].address.split("/")[0];
      })();
      const own = [...(namespaces.ipc === "NODE" ? [] : ["ipc" as const]), ...(hostNetwork ? [] : ["uts" as const])];
      const podNamespaces = createPodNamespaces(this.opts.ns, dir, hostname, own);
      const [net, nss] = await Promise.allSettled([network, podNamespaces]);
      if (net.status === "rejected") throw net.reason;
      if (nss.status === "rejected") throw nss.reason;
      const ip = net.value;
      await writePodFiles(dir, ip, hostname, config.dnsConfig);
      await this.#sandboxes.put({ ...record, ip, state: "SANDBOX_READY" });
    } catch (e) {
      await this.#releaseSandbox(record).catch(() => {});
      await this.#sandboxes.delete(id);
      throw new RuntimeError("CreatePodSandboxError", (e as Error).message ?? String(e));
    }
    return id;
  }

  async #releaseSandbox(s: SandboxRecord): Promise<void> {
    if (s.netns) {
      await this.opts.network.del({ containerId: s.id, netns: netnsPath(s.netns), ifName: "eth0" });
      await (this.opts.network as { detachNamespace?(n: string): Promise<void> }).detachNamespace?.(netnsPath(s.netns));
      await deleteNetns(s.netns);
    }
    await removePodNamespaces(this.opts.ns, s.dir);
  }

  async stopPodSandbox(podSandboxId: string): Promise<void> {
    const s = this.#sandboxes.get(podSandboxId);
    if (!s) return;
    await Promise.all(
      this.#containers.values().filter((c) => c.podSandboxId === s.id && c.state !== "CONTAINER_EXITED")
        .map((c) => this.stopContainer(c.id, 0)),
    );
    if (s.state === "SANDBOX_READY") {
      await this.#releaseSandbox(s);
      await this.#sandboxes.put({ ...s, state: "SANDBOX_NOTREADY" });
    }
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
    await this.stopPodSandbox(podSandboxId);
    for (const c of this.#containers.values()) {
      if (c.podSandboxId === podSandboxId) await this.removeContainer(c.id);
    }
    await Deno.remove(s.dir, { recursive: true }).catch(() => {});
    this.#removePodCgroups(s.metadata.uid);
    await this.#sandboxes.delete(podSandboxId);
  }

  #podCgroup(uid: string): string {
    return `${this.opts.cgroupParent}/pod${uid}`;
  }

  #removePodCgroups(uid: string): void {
    if (this.#sandboxes.values().some((o) => o.metadata.uid === uid && o.state === "SANDBOX_READY")) return;
    for (const h of cgroupHierarchies()) {
      try {
        Deno.removeSync(`${CGROUP_ROOT}/${h}${this.#podCgroup(uid)}`);
      } catch { /* gone, or still used */ }
    }
  }

  /** The sandbox of `id`. */
  sandbox(id: string): SandboxRecord | undefined {
    return this.#sandboxes.get(id);
  }

  /** The ready sandbox whose network namespace is at `path` (`/run/netns/<name>`). */
  sandboxForNetns(path: string): SandboxRecord | undefined {
    return this.#sandboxes.values().find((s) => s.state === "SANDBOX_READY" && !!s.netns && netnsPath(s.netns) === path);
  }

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    const s = this.#sandboxes.get(podSandboxId);
    if (!s || s.state !== "SANDBOX_READY" || (s.netns && !s.ip)) {
      throw new RuntimeError("CreateContainerError", `pod sandbox ${podSandboxId} is not ready`);
    }
    const img = this.opts.images.lookup(config.image.image);
    if (!img) {
      throw new RuntimeError("CreateContainerError", `image "${config.image.image}" is not present on this node`);
    }
    this.opts.images.touch(img);
    const id = `${s.metadata.uid.slice(0, 8)}-${config.metadata.name.slice(0, 40)}-${config.metadata.attempt}-${
      crypto.randomUUID().slice(0, 8)
    }`;
    const paths = containerPaths(this.#dirs.containers, id);
    const layerDirs = img.layers.map((l) => this.opts.images.layerPath(l));
    const sc = config.linux?.securityContext ?? {};
    const pod = `${s.metadata.name}_${s.metadata.namespace}(${s.metadata.uid})`;
    const violation = runAsNonRootViolation(sc.runAsNonRoot, sc.runAsUser, img.config.config.User ?? "", {
      pod,
      container: config.metadata.name,
    });
    if (violation) throw new RuntimeError("CreateContainerConfigError", violation);
    let user;
    try {
      user = resolveUser({
        imageUser: img.config.config.User ?? "",
        runAsUser: sc.runAsUser,
        runAsGroup: sc.runAsGroup,
        supplementalGroups: sc.supplementalGroups,
        passwd: (await readImageFile(layerDirs, "/etc/passwd")) ?? "",
        group: (await readImageFile(layerDirs, "/etc/group")) ?? "",
      });
    } catch (e) {
      if (e instanceof UserError) throw new RuntimeError("CreateContainerError", e.message);
      throw e;
    }
    const cgroupsPath = `${this.#podCgroup(s.metadata.uid)}/${id}`;
    let spec;
    try {
      spec = ociSpec({
        config,
        sandbox: {
          netnsPath: s.netns ? netnsPath(s.netns) : "",
          host: hostNamespaces(s),
          ipcPath: `${s.dir}/ipc`,
          utsPath: s.netns ? `${s.dir}/uts` : undefined,
          hostname: s.hostname,
          etcHosts: `${s.dir}/hosts`,
          etcHostname: `${s.dir}/hostname`,
          resolvConf: `${s.dir}/resolv.conf`,
          sysctls: s.linux?.sysctls ?? {},
        },
        image: img.config.config,
        user,
        rootfs: paths.rootfs,
        cgroupsPath,
        pidsLimit: this.opts.pidsLimit ?? 4096,
        swapAccounting: exists(`${CGROUP_ROOT}/memory/memory.memsw.limit_in_bytes`),
        terminationMessageFile: `${paths.bundle}/termination-log`,
      });
    } catch (e) {
      if (e instanceof SpecError) throw new RuntimeError("CreateContainerError", e.message);
      throw e;
    }
    // The profile compiled once: crun loads the filter it produced for the same profile before.
    const seccomp = spec.linux.seccomp;
    const filter = seccomp && this.seccompFilters.lookup(seccomp);
    if (filter) spec.annotations[SECCOMP_BPF_ANNOTATION] = filter;
    const logPath = `${sandboxConfig.logDirectory}/${config.logPath}`;
    const record: ContainerRecord = {
      id,
      podSandboxId,
      metadata: config.metadata,
      image: config.image,
      imageRef: img.ref,
      imageId: img.id,
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
      stopSignal: normalizeSignal(img.config.config.StopSignal),
      stdin: config.stdin,
      tty: config.tty,
      cgroupsPath,
    };
    try {
      await Deno.mkdir(paths.bundle, { recursive: true });
      await Promise.all([
        ...[paths.rootfs, `${paths.bundle}/upper`, `${paths.bundle}/work`, paths.persist]
          .map((d) => Deno.mkdir(d, { recursive: true })),
        Deno.mkdir(logPath.slice(0, logPath.lastIndexOf("/")), { recursive: true }),
        Deno.writeTextFile(`${paths.bundle}/termination-log`, ""),
        Deno.writeTextFile(`${paths.bundle}/config.json`, JSON.stringify(spec)),
      ]);
      let mount = "";
      if (this.opts.rootfsMode === "copy") await copyRootfs(layerDirs, paths.rootfs);
      else mount = overlayMountCommand(img.layers.map((l) => l.slice(l.indexOf(":") + 1)), paths.bundle) + " && ";
      // The record first: an exit racing this create must find it.
      await this.#containers.put(record);
      const conmon = conmonArgv({
        id,
        paths,
        crunRoot: this.#dirs.crun,
        exitDir: this.#dirs.exits,
        logPath,
        stdin: config.stdin,
        stdinOnce: config.stdinOnce ?? false,
        tty: config.tty,
      });
      await this.opts.ns.sh(`${mount}${shellLine(conmon)} </dev/null >/dev/null 2>&1`, {
        wd: this.opts.images.layersDir,
      });
      await this.#waitCreated(id);
      if (seccomp && !filter) await this.seccompFilters.learn(seccomp, `${this.#dirs.crun}/${id}/seccomp.bpf`);
    } catch (e) {
      await this.crun.delete(id, true).catch(() => {});
      await this.#removeBundle(id);
      await this.#containers.delete(id);
      const message = e instanceof RuntimeError ? e.message : (e as Error).message ?? String(e);
      throw new RuntimeError("CreateContainerError", message);
    }
    this.#emit(record, "CONTAINER_CREATED_EVENT");
    return id;
  }

  /** Waits for crun's pid file (created) or conmon's end (failed: crun's log says why). */
  async #waitCreated(id: string): Promise<void> {
    const paths = containerPaths(this.#dirs.containers, id);
    const deadline = Date.now() + CREATE_TIMEOUT_MS;
    // Polled: a create takes 10–200 ms; the step stays at 10 ms so little is lost past it. (No
    // inotify on the bundle: conmon makes FIFOs there, and a Deno.watchFs of it was seen to hang,
    // its thread blocked opening one.)
    let delay = 1;
    while (Date.now() < deadline) {
      if (readPid(paths.pidFile)) return;
      const conmon = readPid(paths.conmonPidFile);
      if ((conmon && !alive(conmon)) || exists(`${this.#dirs.exits}/${id}`)) {
        if (readPid(paths.pidFile)) return;
        let why = "";
        try {
          why = (await Deno.readTextFile(paths.crunLog)).trim().split("\n").map((l) => {
            try {
              return JSON.parse(l).msg ?? l;
            } catch {
              return l;
            }
          }).join("; ");
        } catch { /* none */ }
        throw new RuntimeError("CreateContainerError", why || "the container could not be created");
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10);
    }
    throw new RuntimeError("CreateContainerError", "the container was not created within 60 s");
  }

  async #removeBundle(id: string): Promise<void> {
    const paths = containerPaths(this.#dirs.containers, id);
    await unmountRootfs(this.opts.ns, paths.rootfs);
    await Deno.remove(paths.bundle, { recursive: true }).catch(() => {});
    await Deno.remove(`${this.#dirs.exits}/${id}`).catch(() => {});
  }

  async startContainer(containerId: string): Promise<void> {
    const c = this.#containers.get(containerId);
    if (!c) throw new RuntimeError("RunContainerError", `container ${containerId} does not exist`);
    if (c.state === "CONTAINER_RUNNING") return;
    if (c.state === "CONTAINER_EXITED") {
      throw new RuntimeError("RunContainerError", `container ${containerId} has already run`);
    }
    try {
      await this.crun.start(containerId);
    } catch (e) {
      const message = (e as Error).message ?? String(e);
      await this.#recordExit(containerId, 128, false, message);
      throw new RuntimeError("RunContainerError", message);
    }
    const now = this.#containers.get(containerId);
    if (now?.state === "CONTAINER_CREATED") {
      await this.#containers.put({ ...now, state: "CONTAINER_RUNNING", startedAt: Date.now() });
      this.#emit(now, "CONTAINER_STARTED_EVENT");
    } else if (now?.state === "CONTAINER_EXITED" && !now.startedAt) {
      await this.#containers.put({ ...now, startedAt: now.finishedAt });
    }
  }

  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    const c = this.#containers.get(containerId);
    if (!c || c.state === "CONTAINER_EXITED") return;
    if (c.state === "CONTAINER_CREATED") {
      await this.crun.delete(containerId, true);
      await this.#recordExit(containerId, 0, false, "stopped before it started");
      await unmountRootfs(this.opts.ns, containerPaths(this.#dirs.containers, containerId).rootfs);
      return;
    }
    const graceMs = Math.max(0, timeoutSeconds) * 1000;
    if (graceMs > 0) {
      await this.crun.kill(containerId, c.stopSignal).catch(() => {});
      if (await this.#waitExit(containerId, graceMs)) return;
    }
    await this.crun.kill(containerId, "SIGKILL").catch(() => {});
    if (await this.#waitExit(containerId, 10_000)) return;
    // The exit never showed: record it as killed.
    await this.crun.delete(containerId, true).catch(() => {});
    await this.#recordExit(containerId, 137, false, "killed; the exit code was not reported");
  }

  containerStatus(containerId: string): Promise<ContainerStatus | null> {
    const c = this.#containers.get(containerId);
    return Promise.resolve(c ? containerStatusOf(c) : null);
  }

  listContainers(filter: ContainerFilter = {}): Promise<Container[]> {
    return Promise.resolve(this.#containers.values().filter((c) => containerMatches(c, filter)).map(containerOf));
  }

  async removeContainer(containerId: string): Promise<void> {
    const c = this.#containers.get(containerId);
    if (!c) return;
    if (c.state !== "CONTAINER_EXITED") await this.stopContainer(containerId, 0);
    await this.#exiting.get(containerId);
    await this.crun.delete(containerId, true).catch(() => {});
    await this.#removeBundle(containerId);
    await this.#containers.delete(containerId);
    await Deno.remove(c.logPath).catch(() => {});
    this.#emit(c, "CONTAINER_DELETED_EVENT");
  }

  /** Image IDs the containers on this node use (image garbage collection keeps them). */
  imagesInUse(): Set<string> {
    return new Set(this.#containers.values().map((c) => c.imageId));
  }

  // -------------------------------------------------------------------------------------------
  // Streaming

  #running(containerId: string): ContainerRecord {
    const c = this.#containers.get(containerId);
    if (!c) throw new RuntimeError("NotFound", `container ${containerId} does not exist`);
    if (c.state !== "CONTAINER_RUNNING") {
      throw new RuntimeError("NotRunning", `container ${containerId} is not running`);
    }
    return c;
  }

  execSync(containerId: string, cmd: string[], timeoutMs: number) {
    this.#running(containerId);
    return execSync(this.crun, containerId, cmd, timeoutMs, containerPaths(this.#dirs.containers, containerId).bundle);
  }

  exec(containerId: string, req: ExecRequest): Promise<StreamSession> {
    this.#running(containerId);
    return execSession(this.crun, containerId, req, containerPaths(this.#dirs.containers, containerId).bundle);
  }

  attach(containerId: string, opts: { stdin: boolean; tty: boolean }): Promise<StreamSession> {
    const c = this.#running(containerId);
    return attachSession(containerPaths(this.#dirs.containers, containerId).bundle, {
      stdin: opts.stdin && c.stdin,
      tty: c.tty,
    });
  }

  async portForward(podSandboxId: string, port: number): Promise<Deno.Conn> {
    const s = this.#sandboxes.get(podSandboxId);
    if (!s || s.state !== "SANDBOX_READY" || (s.netns && !s.ip)) {
      throw new RuntimeError("NotFound", `pod sandbox ${podSandboxId} is not ready`);
    }
    // A hostNetwork pod listens in the node's network namespace.
    return await Deno.connect({ hostname: s.ip ?? "127.0.0.1", port });
  }

  // -------------------------------------------------------------------------------------------

  /**
   * Closes the runtime. With `keepPods` containers keep running under their conmon (a later
   * agent adopts them). Without, the node is shutting down: every container is killed and
   * removed, every sandbox released, every cgroup and mount removed.
   */
  async close(opts: { keepPods: boolean }): Promise<void> {
    if (!opts.keepPods) {
      // Exits must still be recorded while everything is stopped.
      await Promise.all(
        this.#containers.values().filter((c) => c.state !== "CONTAINER_EXITED").map((c) => this.stopContainer(c.id, 0)),
      );
      for (const c of this.#containers.values()) await this.removeContainer(c.id);
      for (const s of this.#sandboxes.values()) await this.removePodSandbox(s.id);
    }
    this.#closed = true;
    this.#watcher?.close();
    clearInterval(this.#rescan);
    await Promise.all(this.#exiting.values());
    this.#listeners.clear();
    if (opts.keepPods) return;
    for (const h of cgroupHierarchies()) {
      const parent = `${CGROUP_ROOT}/${h}${this.opts.cgroupParent}`;
      try {
        for (const e of Deno.readDirSync(parent)) {
          if (e.isDirectory && e.name.startsWith("pod")) Deno.removeSync(`${parent}/${e.name}`);
        }
        Deno.removeSync(parent);
        const top = parent.slice(0, parent.lastIndexOf("/"));
        if (top !== `${CGROUP_ROOT}/${h}`) Deno.removeSync(top);
      } catch { /* not there, or shared with another node */ }
    }
  }
}

/** The node's namespaces a sandbox uses (`hostNetwork`, `hostPID`, `hostIPC`). */
function hostNamespaces(s: SandboxRecord): { network: boolean; pid: boolean; ipc: boolean } {
  const o = s.linux?.securityContext?.namespaceOptions ?? {};
  return { network: !s.netns, pid: o.pid === "NODE", ipc: o.ipc === "NODE" };
}

/** The cgroup v1 hierarchies mounted under /sys/fs/cgroup (`memory`, `cpu`, `name=systemd` → `systemd`). */
export function cgroupHierarchies(): string[] {
  try {
    return [...Deno.readDirSync(CGROUP_ROOT)]
      .filter((e) => e.isDirectory && e.name !== "unified")
      .map((e) => e.name);
  } catch {
    return [];
  }
}

export { shq };
