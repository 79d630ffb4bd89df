/**
 * The node's half of a runtime plugin (the `crun` component), at the level of the WIT verbs:
 * what a sandboxed plugin cannot do and a containerd shim would. The plugin decides and records;
 * this host
 *
 * - serves the plugin's host calls: `host-process` (node/hostcaps/host_process.ts) and
 *   `node-images` (node_images.ts; its `write-exec-fifo`, `crun start` without a process, in
 *   exec_fifo.ts), see {@linkcode runtimeHostCalls};
 * - waits where the plugin must not (one runner serves one call at a time): a create until
 *   crun's pid file shows (or conmon died: crun's log says why), after the plugin's answer, with
 *   the start and what else names the container waiting for it (creating_containers.ts); a stop
 *   until the exit or the end of the grace period (then SIGKILL through the plugin again);
 * - watches conmon's exit directory (inotify, and a rescan) and reports each exit to the plugin
 *   (`container-exited`, with the OOM marker and the termination message), as a shim reports a
 *   task exit; on open, it reports the exits that happened while the node agent was away;
 * - relays the ImageService verbs to the plugin's `image-service` (which serves them from the
 *   node's image store through `node-images`), after downloading what a pull needs itself
 *   (node_image_service.ts); a plugin whose image verbs answer `unimplemented` (built from an
 *   older template) is served from the node's image store directly.
 *
 * Every method takes and returns the WIT records of `skiff:runtime@0.2.0` (as JSON crosses the
 * runner pipe: `s64` as numbers), so the runtime conformance suite drives it directly; a 0.1.0
 * plugin's verbs answer ids where 0.2.0's answer statuses, and the methods answer alike for both.
 * The containers' statuses the plugin answered are kept per sandbox until a verb that may change
 * them (container_lists.ts), so reading a pod's runtime state again costs no call.
 * @module
 */
import { trace } from "../../../plugins/host/trace.ts";
import type { Grant } from "../../../control/api/plugins.ts";
import type { HostCapability, HostFunctions } from "../../../plugins/host/host_calls.ts";
import type { WitContainerStatus, WitSandboxStatus } from "../../../plugins/runtime/binding.ts";
import { hostProcess } from "../../hostcaps/host_process.ts";
import type { ImageStore } from "../../images/image_store.ts";
import type { MountNamespace } from "../../mountns/mount_ns.ts";
import { Crun } from "../oci/crun.ts";
import { type RootfsMode, unmountRootfs } from "../oci/rootfs.ts";
import { SECCOMP_BPF_ANNOTATION, type SeccompBpfCache } from "../oci/seccomp_bpf.ts";
import { nodeImages } from "./node_images.ts";
import { markTopDir } from "../../images/top_dir.ts";
import { execFifoHost } from "./exec_fifo.ts";
import { NodeImageService, type WitAuthConfig } from "./node_image_service.ts";
import type { FetchedManifest } from "../../registry/mod.ts";
import { PluginCallError } from "../../../control/api/plugins.ts";
import { errorVariant } from "../../../plugins/host/plugin_error.ts";
import { changedSandbox, ContainerLists, isContainerStatus } from "./container_lists.ts";
import type { SyncMessage } from "../../mountns/conmon_sync.ts";
import type { CreatingContainers } from "./creating_containers.ts";
import { createsContainer } from "../../mountns/cgroup_warm.ts";
import { abSwitch } from "../../ab_switch.ts";

/** Waits `ms`, or less when `early` settles first. */
function sleepUnless(ms: number, early?: Promise<unknown>): Promise<void> {
  if (!early) return new Promise((r) => setTimeout(r, ms));
  return new Promise((r) => {
    const t = setTimeout(r, ms);
    early.then(() => {
      clearTimeout(t);
      r();
    });
  });
}

/**
 * `SKIFF_BENCH_RUNTIME_READS=plugin` (benchmarks' A/B only): every status read asks the plugin
 * and the statuses its verbs answer are not used, as before container_lists.ts.
 */
function keepStatusesDefault(): boolean {
  try {
    return Deno.env.get("SKIFF_BENCH_RUNTIME_READS") !== "plugin";
  } catch {
    return true;
  }
}

/** Calls one guest operation of the plugin (through its runner). */
export type RuntimeCall = (op: string, args: unknown[], timeoutMs?: number) => Promise<unknown>;

/** The plugin's layout under its `root` setting (as plugins/runtime/oci/commands.ts). */
export function runtimeDirs(root: string) {
  return {
    containers: `${root}/containers`,
    exits: `${root}/exits`,
    crun: `${root}/crun`,
    sandboxes: `${root}/sandboxes`,
  };
}

export interface RuntimeHostOptions {
  /** The plugin's `root` setting: `containers/`, `exits/`, `crun/` under it. */
  root: string;
  ns: MountNamespace;
  store: ImageStore;
  /** The node's image verbs (what `node-images` serves; the fallback of `unimplemented`). */
  images: NodeImageService;
  rootfsMode: RootfsMode;
  /** The plugin's `cgroupParent` setting (the OOM check reads the container's memory cgroup). */
  cgroupParent: string;
  /** How often exits are rescanned besides inotify (default 2000 ms). */
  rescanMs?: number;
  /** Per call deadline (default 30 s). */
  callTimeoutMs?: number;
  /** Filters crun compiled (shared with `node-images`, which hands them to later creates). */
  seccompFilters?: SeccompBpfCache;
  /** Keep the containers' statuses the plugin answered (default true; see container_lists.ts). */
  keepStatuses?: boolean;
  /** The creates under way, shared with the host calls ({@linkcode runtimeHostCalls}). */
  creating: CreatingContainers;
  /**
   * A create's checks for crun's pid file: every this many ms (default: 2 ms for 250 ms, then
   * 10 ms; 50 ms while conmon's sync message is awaited). Tests set it to show what ends a wait.
   */
  createPollMs?: number;
}

/** The node's facts a runtime plugin gets (`node-config`), as JSON. */
export function nodeRuntimeConfig(o: { root: string; cgroupParent: string; pidsLimit?: number }): string {
  let swapAccounting = false;
  try {
    swapAccounting = Deno.statSync("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").isFile;
  } catch { /* no swap accounting */ }
  return JSON.stringify({
    root: o.root,
    cgroupParent: o.cgroupParent,
    pidsLimit: o.pidsLimit ?? 4096,
    swapAccounting,
  });
}

/** The default grants of the built-in `crun` plugin. */
export const CRUN_GRANTS: Grant[] = [
  { capability: "log" },
  { capability: "state", bounds: { maxKeys: 8192, maxBytes: 32 << 20 } },
  { capability: "host-process", bounds: { allow: ["/usr/bin/crun", "/usr/bin/conmon"], timeoutSeconds: 30 } },
];

/** What the node serves to a runtime plugin's runner: capabilities and world imports. */
export function runtimeHostCalls(
  o:
    & Pick<
      RuntimeHostOptions,
      "root" | "ns" | "store" | "rootfsMode" | "cgroupParent" | "seccompFilters" | "creating"
    >
    & {
      pidsLimit?: number;
      /** The image verbs of `node-images` (shared with the RuntimeHost; default over `store`). */
      images?: NodeImageService;
    },
): {
  capabilities: Record<string, HostCapability>;
  imports: Record<string, HostFunctions>;
} {
  const d = runtimeDirs(o.root);
  const config = nodeRuntimeConfig(o);
  const images = nodeImages({
    images: o.store,
    ns: o.ns,
    containers: d.containers,
    exits: d.exits,
    rootfsMode: o.rootfsMode,
    seccompFilters: o.seccompFilters,
  });
  return {
    capabilities: { "host-process": (grant) => afterCreate(hostProcess(grant, o.ns), o.creating) },
    imports: {
      "node-images": {
        ...images,
        ...(o.images ?? new NodeImageService(o.store)).hostFunctions(),
        "node-config": () => config,
        ...execFifoHost(d.crun, o.creating),
      },
    },
  };
}

/**
 * `host-process` whose runs wait for the create of a container their arguments name (its
 * `crun start`, `kill`, `delete`, `exec` while conmon's `crun create` is under way), and whose
 * runs that create a container wait for what the creates being made need (their sandbox's
 * namespaces and files).
 */
function afterCreate(fns: HostFunctions, creating: CreatingContainers): HostFunctions {
  return {
    ...fns,
    async exec(args, ...rest) {
      const words = Array.isArray(args[1]) ? args[1] : [];
      if (typeof args[0] === "string" && createsContainer([args[0], ...words.map(String)])) {
        await creating.needed();
      }
      for (const w of words) if (typeof w === "string" && creating.has(w)) await creating.settled(w);
      return await fns.exec(args, ...rest);
    },
  };
}

const CREATE_TIMEOUT_MS = 60_000;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The names in a directory (none when it cannot be read). */
function fileNames(dir: string): Set<string> {
  const out = new Set<string>();
  try {
    for (const e of Deno.readDirSync(dir)) out.add(e.name);
  } catch { /* none */ }
  return out;
}

function readPid(path: string): number | undefined {
  try {
    const n = Number(Deno.readTextFileSync(path).trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}

/** A container event, as the kubelet's PLEG wants them. */
export interface RuntimeHostEvent {
  containerId: string;
  type:
    | "CONTAINER_CREATED_EVENT"
    | "CONTAINER_STARTED_EVENT"
    | "CONTAINER_STOPPED_EVENT"
    | "CONTAINER_DELETED_EVENT";
}

/** The node's half of a runtime plugin. */
export class RuntimeHost implements AsyncDisposable {
  readonly opts: RuntimeHostOptions;
  readonly dirs: ReturnType<typeof runtimeDirs>;
  readonly #call: RuntimeCall;
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #exiting = new Map<string, Promise<void>>();
  readonly #listeners = new Set<(e: RuntimeHostEvent) => void>();
  /** The containers' statuses the plugin answered, per sandbox, while nothing changed them. */
  readonly #lists = new ContainerLists();
  /** Whether statuses are kept and answers used (`keepStatuses`). */
  readonly keepStatuses: boolean;
  #watcher?: Deno.FsWatcher;
  #rescan?: ReturnType<typeof setInterval>;
  #closed = false;

  private constructor(opts: RuntimeHostOptions, call: RuntimeCall) {
    this.opts = opts;
    this.dirs = runtimeDirs(opts.root);
    this.#call = call;
    this.keepStatuses = opts.keepStatuses ?? keepStatusesDefault();
  }

  /** Opens the host over a plugin's runner: watches exits and reports those that happened meanwhile. */
  static async open(opts: RuntimeHostOptions, call: RuntimeCall): Promise<RuntimeHost> {
    const h = new RuntimeHost(opts, call);
    for (const d of Object.values(h.dirs)) await Deno.mkdir(d, { recursive: true });
    // Each sandbox's files and crun's state of each container start in a quiet ext4 block group
    // (node/images/top_dir.ts): without a journal, a new inode next to recently removed ones
    // costs up to ≈0.5 ms.
    for (const d of [h.dirs.sandboxes, h.dirs.crun]) markTopDir(d);
    h.#watch();
    await h.#recover();
    return h;
  }

  /**
   * One guest call. A verb that may change containers drops its sandbox's kept list while it
   * runs; the status a 0.2.0 verb answers goes into it (container_lists.ts).
   */
  async call(op: string, ...args: unknown[]): Promise<unknown> {
    const scope = changedSandbox(op, args, (c) => this.#lists.sandboxOf(c));
    if (scope === null) return await this.#call(op, args, this.opts.callTimeoutMs ?? 30_000);
    const change = this.#lists.begin(scope);
    let answer: unknown;
    try {
      answer = await this.#call(op, args, this.opts.callTimeoutMs ?? 30_000);
    } catch (e) {
      this.#lists.end(change);
      throw e;
    }
    if (op === "createContainer" && typeof scope === "string") {
      this.#lists.learn(typeof answer === "string" ? answer : (answer as { id: string }).id, scope);
    }
    this.#lists.end(change, this.keepStatuses && isContainerStatus(answer) ? answer : undefined);
    return answer;
  }

  /** A sandbox the plugin has just made (no container yet): listing its containers needs no call. */
  seedSandbox(id: string): void {
    if (this.keepStatuses) this.#lists.seed(id);
  }

  events(handler: (e: RuntimeHostEvent) => void): () => void {
    this.#listeners.add(handler);
    return () => this.#listeners.delete(handler);
  }

  #emit(containerId: string, type: RuntimeHostEvent["type"]): void {
    for (const l of this.#listeners) l({ containerId, type });
  }

  // -------------------------------------------------------------------------------------------
  // Exits

  async #recover(): Promise<void> {
    this.#rescanExits();
    await Promise.all(this.#exiting.values());
    const containers = await this.listContainers() as WitContainerStatus[];
    for (const c of containers) {
      if (c.state !== "container-running" && c.state !== "container-created") continue;
      if (exists(`${this.dirs.exits}/${c.id}`)) continue;
      const conmon = readPid(`${this.dirs.containers}/${c.id}/conmon.pid`);
      if (conmon && alive(conmon)) continue; // still monitored: adopted as it is
      await this.call("containerExited", c.id, {
        exitCode: 255,
        oomKilled: false,
        finishedAt: Date.now(),
        message: "the container's monitor (conmon) was gone when the node agent started",
      });
    }
    // What no record of the plugin claims (an agent that died in the middle of a create):
    // crun's state and the bundle go.
    const known = new Set(containers.map((c) => c.id));
    const crun = new Crun(this.opts.ns, this.dirs.crun);
    for (const id of await crun.list()) if (!known.has(id)) await crun.delete(id, true).catch(() => {});
    for (const e of Deno.readDirSync(this.dirs.containers)) {
      if (known.has(e.name)) continue;
      await unmountRootfs(this.opts.ns, `${this.dirs.containers}/${e.name}/rootfs`);
      await Deno.remove(`${this.dirs.containers}/${e.name}`, { recursive: true }).catch(() => {});
    }
  }

  #watch(): void {
    try {
      const watcher = Deno.watchFs(this.dirs.exits, { recursive: false });
      this.#watcher = watcher;
      (async () => {
        try {
          for await (const ev of watcher) {
            for (const p of ev.paths) this.#exitSeen(p.slice(p.lastIndexOf("/") + 1));
          }
        } catch { /* closed */ }
      })();
    } catch (e) {
      console.error("runtime plugin: cannot watch the exit directory, relying on rescans:", e);
    }
    this.#rescan = setInterval(() => this.#rescanExits(), this.opts.rescanMs ?? 2000);
    Deno.unrefTimer(this.#rescan as unknown as number);
  }

  #rescanExits(): void {
    if (this.#closed) return;
    try {
      for (const e of Deno.readDirSync(this.dirs.exits)) this.#exitSeen(e.name);
    } catch { /* gone */ }
  }

  #exitSeen(id: string): void {
    if (this.#closed || this.#exiting.has(id) || !exists(`${this.dirs.exits}/${id}`)) return;
    const p = this.#onExit(id).catch((e) =>
      console.error(`runtime plugin: recording the exit of ${id} failed:`, e)
    )
      .finally(() => this.#exiting.delete(id));
    this.#exiting.set(id, p);
  }

  async #onExit(id: string): Promise<void> {
    const file = `${this.dirs.exits}/${id}`;
    let text = "";
    for (let i = 0; i < 20 && !text; i++) {
      text = (await Deno.readTextFile(file).catch(() => "")).trim();
      if (!text) await new Promise((r) => setTimeout(r, 5)); // written after creation
    }
    const code = Number(text);
    let finishedAt = Date.now();
    try {
      finishedAt = (await Deno.stat(file)).mtime?.getTime() ?? finishedAt;
    } catch { /* gone */ }
    const bundle = `${this.dirs.containers}/${id}`;
    let c: WitContainerStatus | undefined;
    try {
      c = await this.getContainerStatus(id) as WitContainerStatus;
    } catch { /* unknown to the plugin: a leftover */ }
    if (c && c.state !== "container-exited") {
      const sandbox = await this.call("getPodSandboxStatus", c.podSandboxId).catch(() => undefined) as
        | WitSandboxStatus
        | undefined;
      const oom = exists(`${bundle}/persist/oom`) ||
        (sandbox ? this.#oomKilled(`${this.opts.cgroupParent}/pod${sandbox.metadata.uid}/${id}`) : false);
      const message = (await Deno.readTextFile(`${bundle}/termination-log`).catch(() => "")).slice(0, 4096);
      await this.call("containerExited", id, {
        exitCode: Number.isInteger(code) ? code : 255,
        oomKilled: oom,
        finishedAt,
        message,
      });
      this.#emit(id, "CONTAINER_STOPPED_EVENT");
    }
    await Deno.remove(file).catch(() => {});
    for (const w of this.#waiters.get(id) ?? []) w();
    this.#waiters.delete(id);
  }

  #oomKilled(cgroupsPath: string): boolean {
    try {
      const text = Deno.readTextFileSync(`/sys/fs/cgroup/memory${cgroupsPath}/memory.oom_control`);
      return Number(text.match(/oom_kill (\d+)/)?.[1] ?? 0) > 0;
    } catch {
      return false;
    }
  }

  async #state(id: string): Promise<WitContainerStatus["state"] | undefined> {
    try {
      return ((await this.getContainerStatus(id)) as WitContainerStatus).state;
    } catch {
      return undefined;
    }
  }

  /** Resolves true once the plugin has recorded the container's exit, false after `ms`. */
  async #waitExit(id: string, ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    for (;;) {
      const state = await this.#state(id);
      if (state !== "container-running" && state !== "container-created") return true;
      const left = until - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        let set = this.#waiters.get(id);
        if (!set) this.#waiters.set(id, set = new Set());
        const done = () => {
          clearTimeout(timer);
          set!.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 1000));
        set.add(done);
        this.#exitSeen(id); // the watcher runs asynchronously
      });
      await this.#exiting.get(id);
    }
  }

  // -------------------------------------------------------------------------------------------
  // RuntimeService (WIT verbs)

  /** WIT `run-pod-sandbox`: the sandbox's id. */
  async runPodSandbox(
    config: { logDirectory: string } & Record<string, unknown>,
    handler: string,
  ): Promise<string> {
    return (await this.runPodSandboxStatus(config, handler)).id;
  }

  /** WIT `run-pod-sandbox`: the id, and the status a 0.2.0 plugin answers (none from 0.1.0). */
  async runPodSandboxStatus(
    config: { logDirectory: string } & Record<string, unknown>,
    handler: string,
  ): Promise<{ id: string; status?: WitSandboxStatus }> {
    // Synchronous (one syscall when it exists): the call leaves before other work takes the thread.
    if (config.logDirectory) Deno.mkdirSync(config.logDirectory, { recursive: true });
    const answer = await this.call("runPodSandbox", config, handler) as string | WitSandboxStatus;
    if (typeof answer === "string") return { id: answer };
    return { id: answer.id, status: this.keepStatuses ? answer : undefined };
  }

  async stopPodSandbox(id: string): Promise<void> {
    const containers = await this.listContainers(id).catch(() => []) as WitContainerStatus[];
    await Promise.all(
      containers.filter((c) => c.state !== "container-exited").map((c) => this.stopContainer(c.id, 0)),
    );
    await this.call("stopPodSandbox", id);
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.stopPodSandbox(id);
    const containers = await this.listContainers(id).catch(() => []) as WitContainerStatus[];
    for (const c of containers) await this.removeContainer(c.id);
    await this.call("removePodSandbox", id);
    this.#lists.forget(id);
  }

  getPodSandboxStatus(id: string): Promise<unknown> {
    return this.call("getPodSandboxStatus", id);
  }

  listPodSandbox(): Promise<unknown> {
    return this.call("listPodSandbox");
  }

  /**
   * CRI CreateContainer: the plugin's create, which answers once conmon started `crun create`.
   * The wait for crun to finish goes on after this answers ({@linkcode CreatingContainers}): the
   * start, and every other verb on the container, waits for it. `whileWaiting` runs once that
   * wait begins: the node's idle moment of a start, for work of its own (the next spare network
   * namespace). `ready`: what crun needs that may still be being made (the sandbox's namespaces
   * and files); the plugin's create is asked for at once, and its run of conmon waits for it.
   */
  async createContainer(
    sandboxId: string,
    config: { logPath: string },
    sandboxConfig: { logDirectory: string } & Record<string, unknown>,
    whileWaiting?: () => void,
    ready?: Promise<void>,
  ): Promise<string> {
    // conmon opens the log file: its folder must exist (the kubelet makes the pod's).
    const log = `${sandboxConfig.logDirectory}/${config.logPath}`;
    Deno.mkdirSync(log.slice(0, log.lastIndexOf("/")), { recursive: true });
    const release = ready && this.opts.creating.need(ready);
    let answer;
    try {
      answer = await this.call("createContainer", sandboxId, config, sandboxConfig) as
        | string
        | WitContainerStatus;
    } catch (e) {
      await ready; // a sandbox that could not be made is the reason, rather than the plugin's
      throw e;
    } finally {
      release?.();
    }
    // The same when the plugin's create went on without it (its conmon ran once it had failed).
    await ready;
    const id = typeof answer === "string" ? answer : answer.id;
    trace("conmon-returned", id);
    this.opts.creating.add(id, this.#created(id));
    whileWaiting?.();
    return id;
  }

  /**
   * crun created `id` (conmon's sync message, or its pid file), or why it could not. The filter
   * crun compiled is learnt after (for later creates): the start waits for this, not for that.
   */
  async #created(id: string): Promise<void> {
    await this.#waitCreated(id);
    trace("pidfile-seen", id);
    this.#emit(id, "CONTAINER_CREATED_EVENT");
    this.#learnSeccomp(id).catch(() => {});
    this.#releaseRootfs(id);
  }

  /**
   * Once crun has created `id`, its container's mount namespace holds its own copy of the rootfs
   * overlay (made private there by the config's `rootfsPropagation`): the node's namespace lets go
   * of its mount (a detaching unmount by the spawner). Every `crun create` copies the node's
   * mounts into the container's new namespace and unmounts them again after its `pivot_root`, at
   * 3.4–3.9 µs a mount here, so a mount kept per running container made each create slower as pods
   * accumulated. crun's `start`, `exec`, `kill` and `delete` work from the container's process,
   * not the bundle's rootfs; `remove-bundle`'s unmount then finds nothing mounted, and a create
   * again of the same bundle mounts it again (node_images.ts). `SKIFF_RELEASE_ROOTFS=0` keeps the
   * mount (A/B benchmarks).
   */
  #releaseRootfs(id: string): void {
    if (this.opts.rootfsMode !== "overlay" || abSwitch("SKIFF_RELEASE_ROOTFS") === "0") return;
    unmountRootfs(this.opts.ns, `${this.dirs.containers}/${id}/rootfs`);
  }

  /** Keeps the filter crun compiled for the container's profile, for later creates. */
  async #learnSeccomp(id: string): Promise<void> {
    const cache = this.opts.seccompFilters;
    if (!cache) return;
    try {
      const text = await Deno.readTextFile(`${this.dirs.containers}/${id}/config.json`);
      // The node gave it the filter already (node_images.ts): nothing to learn, nothing to parse.
      if (text.includes(`"${SECCOMP_BPF_ANNOTATION}"`)) return;
      const spec = JSON.parse(text);
      const seccomp = spec?.linux?.seccomp;
      if (seccomp && !cache.lookup(seccomp)) {
        await cache.learn(seccomp, `${this.dirs.crun}/${id}/seccomp.bpf`);
      }
    } catch { /* no config: nothing to learn */ }
  }

  /**
   * Waits for conmon's sync message (node/mountns/conmon_sync.ts: the pid once `crun create`
   * finished, or -1 and the runtime's stderr) when the spawner handed conmon its pipe, and for
   * crun's pid file (created) or conmon's end (failed: crun's log says why) in any case: the
   * only way without a sync pipe (`nsenter`, `SKIFF_CONMON_SYNC_PIPE=0`), and the fallback with
   * one (then checked every 50 ms). Each check lists the bundle (files that are not there yet
   * cost no failed open and no thrown error, which were most of a check's cost); conmon's pid is
   * read once it is there, and the exit file is looked for every 5th check (conmon's end tells a
   * failed create first).
   */
  async #waitCreated(id: string): Promise<void> {
    const bundle = `${this.dirs.containers}/${id}`;
    const start = Date.now();
    const deadline = start + CREATE_TIMEOUT_MS;
    let conmon: number | undefined;
    let sync = this.opts.ns.conmonSync?.(`${bundle}/pid`);
    let synced: SyncMessage | undefined;
    sync?.then((m) => synced = m);
    for (let check = 0; Date.now() < deadline; check++) {
      if (synced?.error) sync = synced = undefined; // nothing known (the spawner exited): poll
      if (synced?.data !== undefined && synced.data > 0) {
        trace("created-by-sync", id);
        return;
      }
      const names = fileNames(bundle);
      if (names.has("pid") && readPid(`${bundle}/pid`)) return;
      if (conmon === undefined && names.has("conmon.pid")) conmon = readPid(`${bundle}/conmon.pid`);
      if (
        synced || (conmon && !alive(conmon)) || (check % 5 === 4 && exists(`${this.dirs.exits}/${id}`))
      ) {
        if (readPid(`${bundle}/pid`)) return;
        let why = "";
        try {
          why = (await Deno.readTextFile(`${bundle}/crun.log`)).trim().split("\n").map((l) => {
            try {
              return JSON.parse(l).msg ?? l;
            } catch {
              return l;
            }
          }).join("; ");
        } catch { /* none */ }
        throw new Error(why || synced?.message?.trim() || "the container could not be created");
      }
      // Every 2 ms while a create usually finishes (crun create takes 10–60 ms here), then 10 ms:
      // a few cheap reads per check, and the pid file is seen within 2 ms of crun writing it.
      // With a sync message to come, a slow fallback: the message ends the wait.
      const ms = this.opts.createPollMs ?? (sync ? 50 : Date.now() - start < 250 ? 2 : 10);
      await sleepUnless(ms, synced ? undefined : sync);
    }
    throw new Error("the container was not created within 60 s");
  }

  /** CRI StartContainer: a create that failed is the start's failure, with crun's reason. */
  async startContainer(id: string): Promise<void> {
    try {
      await this.call("startContainer", id);
    } catch (e) {
      await this.opts.creating.created(id);
      throw e;
    }
    this.#emit(id, "CONTAINER_STARTED_EVENT");
  }

  /** CRI StopContainer: the stop signal, the grace period, SIGKILL. */
  async stopContainer(id: string, timeoutSeconds: number | bigint): Promise<void> {
    const grace = Math.max(0, Number(timeoutSeconds)) * 1000;
    await this.opts.creating.settled(id);
    const state = await this.#state(id);
    if (state !== "container-running" && state !== "container-created") return;
    await this.call("stopContainer", id, grace > 0 ? Number(timeoutSeconds) : 0);
    if (state === "container-created") return; // deleted and exited by the plugin
    if (grace > 0 && await this.#waitExit(id, grace)) return;
    if (grace > 0) await this.call("stopContainer", id, 0);
    if (await this.#waitExit(id, 10_000)) return;
    await this.call("containerExited", id, {
      exitCode: 137,
      oomKilled: false,
      finishedAt: Date.now(),
      message: "killed; the exit code was not reported",
    });
    this.#emit(id, "CONTAINER_STOPPED_EVENT");
  }

  async removeContainer(id: string): Promise<void> {
    let c: WitContainerStatus;
    try {
      c = await this.getContainerStatus(id) as WitContainerStatus;
    } catch {
      return; // gone
    }
    if (c.state !== "container-exited") await this.stopContainer(id, 0);
    await this.#exiting.get(id);
    await this.call("removeContainer", id);
    this.opts.creating.forget(id);
    await Deno.remove(c.logPath).catch(() => {});
    this.#emit(id, "CONTAINER_DELETED_EVENT");
  }

  /** WIT `get-container-status`: the kept status while its sandbox's list is kept, else the plugin's. */
  getContainerStatus(id: string): Promise<unknown> {
    const kept = this.keepStatuses ? this.#lists.container(id) : undefined;
    if (kept) return Promise.resolve(kept);
    return this.call("getContainerStatus", id);
  }

  /** WIT `list-containers`: a sandbox's kept list, else the plugin's (then kept). */
  async listContainers(sandboxId?: string): Promise<unknown> {
    if (!sandboxId) return await this.call("listContainers", null);
    const kept = this.keepStatuses ? this.#lists.list(sandboxId) : undefined;
    if (kept) return kept;
    const mark = this.#lists.reading(sandboxId);
    const answer = await this.call("listContainers", sandboxId) as WitContainerStatus[];
    if (this.keepStatuses && Array.isArray(answer)) this.#lists.answered(sandboxId, mark, answer);
    return answer;
  }

  execSync(id: string, cmd: string[], timeoutSeconds: number | bigint): Promise<unknown> {
    return this.call("execSync", id, cmd, Number(timeoutSeconds)).then((r) => {
      const x = r as { exitCode: number; stdout: number[]; stderr: number[] };
      return { exitCode: x.exitCode, stdout: Uint8Array.from(x.stdout), stderr: Uint8Array.from(x.stderr) };
    });
  }

  // -------------------------------------------------------------------------------------------
  // ImageService (WIT verbs): the plugin's `image-service`, the node's store when it has none.

  /** The plugin's image verb `op`; `fallback` when the plugin answers `unimplemented`. */
  async #image<T>(op: string, fallback: () => T | Promise<T>, ...args: unknown[]): Promise<T> {
    try {
      return await this.call(op, ...args) as T;
    } catch (e) {
      if (e instanceof PluginCallError && errorVariant(e)?.tag === "unimplemented") {
        return await fallback();
      }
      throw e;
    }
  }

  /**
   * CRI PullImage (WIT `pull-image`): answers the image's id. The node downloads the image first
   * (outside the guest; `fetched`: the manifest when the caller has it; `signal` ends the
   * download), then the plugin pulls it (its `pull-image` through `node-images` finds it present).
   */
  async pullImage(
    spec: { image: string; annotations?: unknown[] },
    auth?: WitAuthConfig | null,
    opts: { fetched?: FetchedManifest; signal?: AbortSignal } = {},
  ): Promise<string> {
    const release = await this.opts.images.prepare(spec.image, auth, opts);
    try {
      return await this.#image(
        "pullImage",
        () => this.opts.images.pullImage(spec.image, auth),
        { image: spec.image, annotations: spec.annotations ?? [] },
        auth ?? null,
      );
    } finally {
      release();
    }
  }

  listImages(): Promise<unknown> {
    return this.#image("listImages", () => this.opts.images.listImages());
  }

  getImageStatus(spec: { image: string; annotations?: unknown[] }): Promise<unknown> {
    return this.#image(
      "getImageStatus",
      () => this.opts.images.imageStatus(spec.image),
      { image: spec.image, annotations: spec.annotations ?? [] },
    );
  }

  async removeImage(spec: { image: string; annotations?: unknown[] }): Promise<void> {
    await this.#image(
      "removeImage",
      () => this.opts.images.removeImage(spec.image),
      { image: spec.image, annotations: spec.annotations ?? [] },
    );
  }

  /** Stops watching (containers keep running under conmon). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#watcher?.close();
    clearInterval(this.#rescan);
    await Promise.all(this.#exiting.values());
    this.#listeners.clear();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
