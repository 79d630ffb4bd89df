/**
 * Built-in runtime plugin `crun`: CRI's RuntimeService for OCI containers, as a component. It
 * owns the driver's decisions: the bookkeeping of pod sandboxes and containers (in its state
 * store, `skiff:host/state`), their ids, every state transition and its idempotency, the OCI
 * `config.json` (plugins/runtime/oci/spec.ts), and the crun and conmon command lines, which
 * the host runs for it (`skiff:host/host-process`, allow-listed binaries inside the node agent's
 * mount namespace). A created container is started by the node writing crun's exec fifo
 * (`node-images.write-exec-fifo`, what `crun start` does, without its process) when its config
 * has no poststart hooks, and by `crun start` whenever the node did not do it. The node keeps
 * what a sandbox cannot do: images and bundles (the imported
 * `node-images`: pull, unpack, the overlay rootfs, writing config.json; the `image-service`
 * verbs relay to its image verbs), the pod's network and
 * namespaces (prepared before `run-pod-sandbox`), watching conmon's exit files (reported with
 * `container-exited`) and streaming.
 *
 * No verb waits: `stop-container` sends a signal and returns; the host waits for the exit.
 *
 * The node's facts come from the node (`node-config`): `root` (crun's state, exits and bundles
 * live under it), `cgroupParent`, `pidsLimit`, `swapAccounting`. Settings (`spec.config`):
 * `pidsLimit` (overrides the node's; 0: none), `crun` and `conmon` (the binaries' absolute
 * paths, default `/usr/bin/crun` and `/usr/bin/conmon`).
 *
 * State keys: `s/<sandbox-id>` and `c/<container-id>`, JSON.
 * @module
 */
import { exec } from "skiff:host/host-process@0.1.0";
import { write } from "skiff:host/log@0.1.0";
import {
  imageStatus,
  listImages,
  nodeConfig,
  prepareBundle,
  pullImage,
  removeBundle,
  removeImage,
  resolveImage,
  writeExecFifo,
} from "skiff:runtime/node-images@0.2.0";
import type { ContainerConfig as CriContainerConfig } from "../../oci/container_config.ts";
import { ociSpec, SpecError } from "../../oci/spec.ts";
import { specJson } from "../../oci/spec_json.ts";
import { exitReason, normalizeSignal } from "../../oci/records.ts";
import { resolveUser, runAsNonRootViolation, UserError } from "../../oci/user.ts";
import { bundlePaths, conmonArgs, crunArgs, isGone, type Layout, layout } from "../../oci/commands.ts";
import {
  type ContainerConfig,
  type ContainerExit,
  type ContainerRecord,
  containerStatus,
  type SandboxConfig,
  type SandboxRecord,
  sandboxStatus,
} from "./records.ts";
import { all, container, drop, fail, pairs, parseJson, podKey, sandbox, store, text, why } from "./store.ts";

// ---------------------------------------------------------------------------------------------
// Settings, errors, the state store.

let dirs: Layout | undefined;
let cgroupParent = "/skiff";
let pidsLimit = 4096;
let swapAccounting = false;

let settingsSeen: Record<string, unknown> = {};

/** The layout, from the node's facts (asked once per instance) and the settings. */
function paths(): Layout {
  if (dirs) return dirs;
  let node;
  try {
    node = parseJson(nodeConfig(), "the node's runtime config");
  } catch (e) {
    fail(
      "failed-precondition",
      `this node does not serve runtime plugins (node-images.node-config: ${why(e)})`,
    );
  }
  if (typeof node.root !== "string" || !node.root.startsWith("/")) {
    fail("failed-precondition", "the node gave no absolute runtime root");
  }
  const s = settingsSeen;
  cgroupParent = typeof node.cgroupParent === "string" ? node.cgroupParent : "/skiff";
  pidsLimit = (s.pidsLimit as number | undefined) ?? (node.pidsLimit as number | undefined) ?? 4096;
  swapAccounting = node.swapAccounting === true;
  return dirs = layout(node.root, s.crun as string | undefined, s.conmon as string | undefined);
}

/** An image id: `sha256:` of the image config. */
const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;
const MAX_RESOLVED = 64;
const resolvedIds = new Map<string, ReturnType<typeof resolveImage>>();

/**
 * `resolve-image`, answered once per image id: an id names one config and one set of layers,
 * so its answer never changes (a tag may move: a reference is asked for every time). The
 * kubelet creates containers by image id, so a pod's create saves a round trip to the node. An
 * image removed meanwhile is found missing by `prepare-bundle` (and asked for again next time).
 */
function resolveImageOnce(image: string): ReturnType<typeof resolveImage> {
  if (!IMAGE_ID.test(image)) return resolveImage(image);
  let img = resolvedIds.get(image);
  if (!img) {
    img = resolveImage(image);
    if (resolvedIds.size >= MAX_RESOLVED) resolvedIds.delete(resolvedIds.keys().next().value!);
    resolvedIds.set(image, img);
  }
  return img;
}

/** What a failed host import said (jco throws the error variant, or carries it as `payload`). */

function newId(): string {
  let s = "";
  for (let i = 0; i < 8; i++) s += Math.floor(Math.random() * 16).toString(16);
  return s;
}

/** Runs crun (or conmon) through the host; throws `internal` with its stderr on failure. */
function run(binary: string, args: string[]): string {
  let out;
  try {
    out = exec(binary, args, [], new Uint8Array());
  } catch (e) {
    fail("internal", `${binary.slice(binary.lastIndexOf("/") + 1)} ${args.slice(0, 3).join(" ")}: ${why(e)}`);
  }
  if (out.exitCode !== 0) {
    const err = text(out.stderr).trim() || text(out.stdout).trim() || `exit code ${out.exitCode}`;
    throw { tag: "internal", val: err, crun: true };
  }
  return text(out.stdout);
}

function crun(...args: string[]): string {
  const l = paths();
  return run(l.crun, crunArgs(l, ...args));
}

/**
 * Starts a created container: the node writes its exec fifo (`write-exec-fifo`: `crun start`'s
 * work without a process) when its config has no poststart hooks (`startByFifo`; and crun runs
 * here with an empty environment, so `crun start` would have no notify socket to wait on either);
 * `crun start` when the node did nothing (no fifo, no process reading it, a node without the
 * function) or the record is older. An error after the node removed the fifo is the start's.
 */
function start(c: ContainerRecord): void {
  if (c.startByFifo) {
    try {
      if (writeExecFifo(c.id)) return;
    } catch (e) {
      const p = (e as { payload?: { tag?: string } })?.payload ?? e as { tag?: string };
      if (p?.tag !== "denied") throw e;
    }
  }
  crun("start", c.id);
}

/** `crun delete -f`, where a container crun does not know is already deleted. */
function crunDelete(id: string): void {
  try {
    crun("delete", "-f", id);
  } catch (e) {
    if (!isGone(why(e))) throw e;
  }
}

function recordExit(
  c: ContainerRecord,
  code: number,
  oom: boolean,
  message: string,
  at: number,
  reason = exitReason(code, oom),
): void {
  if (c.state === "container-exited") return;
  store(
    `c/${c.id}`,
    {
      ...c,
      state: "container-exited",
      exitCode: code,
      reason,
      message,
      startedAt: c.startedAt || at,
      finishedAt: at,
    } satisfies ContainerRecord,
  );
}

// ---------------------------------------------------------------------------------------------
// RuntimeService.

export const runtimeService = {
  configure(settings: string): void {
    const s = parseJson(settings, "settings");
    for (const b of ["crun", "conmon"]) {
      if (s[b] !== undefined && (typeof s[b] !== "string" || !(s[b] as string).startsWith("/"))) {
        fail("invalid-argument", `settings.${b} must be an absolute path`);
      }
    }
    if (s.pidsLimit !== undefined && !(Number.isInteger(s.pidsLimit) && (s.pidsLimit as number) >= 0)) {
      fail("invalid-argument", "settings.pidsLimit must be a non-negative integer");
    }
    settingsSeen = s;
    dirs = undefined; // the node's facts are asked for at the first verb that needs them
  },

  runPodSandbox(config: SandboxConfig, runtimeHandler: string) {
    const m = config.metadata;
    if (!m?.uid || !m.name) fail("invalid-argument", "the sandbox needs metadata.name and metadata.uid");
    // The same pod attempt on the same prepared directory is the same sandbox; the node asks
    // again with the pod's IP once its network is set up (the sandbox takes containers before).
    const same = all<SandboxRecord>(`s/${m.uid.slice(0, 8)}-`).find((s) =>
      s.metadata.uid === m.uid && s.metadata.attempt === m.attempt && s.podDir === config.podDir && s.ready
    );
    if (same) {
      if (!config.ip || same.ip === config.ip) return sandboxStatus(same);
      const withIp: SandboxRecord = { ...same, ip: config.ip };
      store(`s/${same.id}`, withIp);
      return sandboxStatus(withIp);
    }
    const id = `${m.uid.slice(0, 8)}-${m.attempt}-${newId()}`;
    const record: SandboxRecord = {
        id,
        metadata: m,
        ready: true,
        createdAt: Date.now(),
        netns: config.netns,
        ip: config.ip ?? undefined,
        podDir: config.podDir,
        hostname: config.hostname.slice(0, 63),
        logDirectory: config.logDirectory,
        labels: config.labels ?? [],
        annotations: config.annotations ?? [],
        linux: parseJson(config.linux, "linux"),
        runtimeHandler: runtimeHandler || "oci",
    };
    store(`s/${id}`, record);
    return sandboxStatus(record);
  },

  stopPodSandbox(id: string): void {
    const s = sandbox(id);
    if (!s) return;
    for (const c of all<ContainerRecord>(`c/${podKey(id)}`)) {
      if (c.podSandboxId === id && c.state !== "container-exited") runtimeService.stopContainer(c.id, 0);
    }
    if (s.ready) store(`s/${id}`, { ...s, ready: false });
  },

  removePodSandbox(id: string): void {
    const s = sandbox(id);
    if (!s) return;
    runtimeService.stopPodSandbox(id);
    for (const c of all<ContainerRecord>(`c/${podKey(id)}`)) {
      if (c.podSandboxId === id) runtimeService.removeContainer(c.id);
    }
    drop(`s/${id}`);
  },

  getPodSandboxStatus(id: string) {
    const s = sandbox(id);
    if (!s) fail("not-found", `pod sandbox ${id} does not exist`);
    return sandboxStatus(s);
  },

  listPodSandbox() {
    return all<SandboxRecord>("s/").map(sandboxStatus);
  },

  createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: SandboxConfig) {
    const l = paths();
    const s = sandbox(podSandboxId);
    // Not its IP: the node creates a pod's first container while the network is set up, and
    // starts it once the IP is known (node/cri/plugin/plugin_oci_runtime.ts).
    if (!s || !s.ready) fail("failed-precondition", `pod sandbox ${podSandboxId} is not ready`);
    let img;
    try {
      img = resolveImageOnce(config.image);
    } catch (e) {
      fail("not-found", `image "${config.image}" is not present on this node (${why(e)})`);
    }
    const imageConfig = parseJson(img.config, "the image config");
    const linux = parseJson(config.linux, "linux");
    // deno-lint-ignore no-explicit-any
    const sc = (linux.securityContext ?? {}) as any;
    const pod = `${s.metadata.name}_${s.metadata.namespace}(${s.metadata.uid})`;
    const violation = runAsNonRootViolation(
      sc.runAsNonRoot,
      sc.runAsUser,
      (imageConfig.User as string) ?? "",
      {
        pod,
        container: config.name,
      },
    );
    if (violation) fail("failed-precondition", violation);
    let user;
    try {
      user = resolveUser({
        imageUser: (imageConfig.User as string) ?? "",
        runAsUser: sc.runAsUser,
        runAsGroup: sc.runAsGroup,
        supplementalGroups: sc.supplementalGroups,
        passwd: img.passwd,
        group: img.group,
      });
    } catch (e) {
      if (e instanceof UserError) fail("invalid-argument", e.message);
      throw e;
    }
    const id = `${s.metadata.uid.slice(0, 8)}-${config.name.slice(0, 40)}-${config.attempt}-${newId()}`;
    const p = bundlePaths(l, id);
    const cgroupsPath = `${cgroupParent}/pod${s.metadata.uid}/${id}`;
    const host = {
      network: !s.netns,
      pid: s.linux?.securityContext?.namespaceOptions?.pid === "NODE",
      ipc: s.linux?.securityContext?.namespaceOptions?.ipc === "NODE",
    };
    const cri: CriContainerConfig = {
      metadata: { name: config.name, attempt: config.attempt },
      image: { image: config.image },
      command: config.command,
      args: config.args,
      workingDir: config.workingDir,
      envs: config.envs,
      mounts: config.mounts.map((m) => ({
        containerPath: m.containerPath,
        hostPath: m.hostPath,
        readonly: m.readonly,
      })),
      labels: pairs(config.labels),
      annotations: pairs(config.annotations),
      logPath: config.logPath,
      ports: [],
      resources: {},
      stdin: config.stdin,
      stdinOnce: config.stdinOnce,
      tty: config.tty,
      linux: linux as unknown as CriContainerConfig["linux"],
    } as CriContainerConfig;
    let spec;
    try {
      spec = ociSpec({
        config: cri,
        sandbox: {
          netnsPath: s.netns,
          host,
          ipcPath: s.podDir && !host.ipc ? `${s.podDir}/ipc` : undefined,
          utsPath: s.podDir && s.netns ? `${s.podDir}/uts` : undefined,
          hostname: s.hostname,
          etcHosts: s.podDir ? `${s.podDir}/hosts` : undefined,
          etcHostname: s.podDir ? `${s.podDir}/hostname` : undefined,
          resolvConf: s.podDir ? `${s.podDir}/resolv.conf` : undefined,
          sysctls: s.linux?.sysctls ?? {},
        },
        // deno-lint-ignore no-explicit-any
        image: imageConfig as any,
        user,
        rootfs: p.rootfs,
        cgroupsPath,
        pidsLimit,
        swapAccounting,
        terminationMessageFile: p.terminationLog,
      });
    } catch (e) {
      if (e instanceof SpecError) fail("invalid-argument", e.message);
      throw e;
    }
    // As containerd: the log directory of the request's sandbox config.
    const logPath = `${sandboxConfig?.logDirectory || s.logDirectory}/${config.logPath}`;
    const record: ContainerRecord = {
      id,
      podSandboxId,
      name: config.name,
      attempt: config.attempt,
      image: config.image,
      imageRef: img.ref,
      state: "container-created",
      createdAt: Date.now(),
      startedAt: 0,
      finishedAt: 0,
      exitCode: 0,
      reason: "",
      message: "",
      logPath,
      labels: config.labels ?? [],
      annotations: config.annotations ?? [],
      mounts: config.mounts ?? [],
      stopSignal: normalizeSignal(imageConfig.StopSignal as string | undefined),
      stdin: config.stdin,
      tty: config.tty,
      startByFifo: !(spec as { hooks?: { poststart?: unknown[] } }).hooks?.poststart?.length,
    };
    // The record first: an exit reported while conmon starts must find it.
    store(`c/${id}`, record);
    try {
      prepareBundle(id, img.id, specJson(spec));
      run(
        l.conmon,
        conmonArgs(l, { id, logPath, stdin: config.stdin, stdinOnce: config.stdinOnce, tty: config.tty }),
      );
    } catch (e) {
      resolvedIds.delete(config.image); // perhaps removed: asked for again next time
      try {
        crunDelete(id);
        removeBundle(id);
      } catch { /* best effort */ }
      drop(`c/${id}`);
      fail("internal", why(e));
    }
    return containerStatus(record);
  },

  startContainer(id: string) {
    const c = container(id);
    if (!c) fail("not-found", `container ${id} does not exist`);
    if (c.state === "container-running") return containerStatus(c);
    if (c.state === "container-exited") fail("failed-precondition", `container ${id} has already run`);
    // The record stays as loaded: the runner serves one call at a time (an exit reported during
    // the start waits for this call to end), so it is not read again.
    try {
      start(c);
    } catch (e) {
      // containerd's status of a container that could not be started (errorStartReason/ExitCode).
      recordExit(c, 128, false, why(e), Date.now(), "StartError");
      fail("internal", why(e));
    }
    const running: ContainerRecord = { ...c, state: "container-running", startedAt: Date.now() };
    store(`c/${id}`, running);
    return containerStatus(running);
  },

  // s64 arrives as a number in QuickJS guests.
  stopContainer(id: string, timeoutSeconds: number): void {
    const c = container(id);
    if (!c || c.state === "container-exited") return;
    if (c.state === "container-created") {
      crunDelete(id);
      recordExit(c, 0, false, "stopped before it started", Date.now());
      return;
    }
    const signal = Number(timeoutSeconds) > 0 ? c.stopSignal : "SIGKILL";
    try {
      crun("kill", id, signal);
    } catch (e) {
      // Already gone: the exit is on its way (conmon writes it).
      if (!isGone(why(e)) && !/not running|stopped/i.test(why(e))) throw e;
    }
  },

  containerExited(id: string, exit: ContainerExit): void {
    const c = container(id);
    if (!c || c.state === "container-exited") return;
    recordExit(c, exit.exitCode, exit.oomKilled, exit.message, Number(exit.finishedAt) || Date.now());
    // Done: free crun's state and the cgroup at once.
    try {
      crunDelete(id);
    } catch (e) {
      write("warn", `crun delete ${id} after its exit: ${why(e)}`);
    }
  },

  removeContainer(id: string): void {
    const c = container(id);
    if (!c) return;
    if (c.state !== "container-exited") {
      runtimeService.stopContainer(id, 0);
      recordExit(container(id) ?? c, 137, false, "removed while running", Date.now());
    }
    crunDelete(id);
    try {
      removeBundle(id);
    } catch (e) {
      fail("internal", `removing the bundle of ${id}: ${why(e)}`);
    }
    drop(`c/${id}`);
  },

  getContainerStatus(id: string) {
    const c = container(id);
    if (!c) fail("not-found", `container ${id} does not exist`);
    return containerStatus(c);
  },

  listContainers(podSandboxId?: string) {
    return all<ContainerRecord>(`c/${podSandboxId ? podKey(podSandboxId) : ""}`).filter((c) =>
      !podSandboxId || c.podSandboxId === podSandboxId
    ).map(
      containerStatus,
    );
  },

  execSync(id: string, cmd: string[], _timeoutSeconds: number) {
    const c = container(id);
    if (!c) fail("not-found", `container ${id} does not exist`);
    if (c.state !== "container-running") fail("failed-precondition", `container ${id} is not running`);
    if (!cmd.length) fail("invalid-argument", "no command");
    const l = paths();
    let out;
    try {
      out = exec(l.crun, crunArgs(l, "exec", id, ...cmd), [], new Uint8Array());
    } catch (e) {
      fail("internal", why(e));
    }
    return { exitCode: out.exitCode, stdout: out.stdout, stderr: out.stderr };
  },
};

// ---------------------------------------------------------------------------------------------
// ImageService: the node's image store (node-images) pulls, keeps and removes images; this
// plugin relays the verbs (idempotent there: pulling a present image answers its id, removing
// an absent one succeeds) with the node's error variant and message.

type ImageSpec = { image: string };
type AuthConfig = {
  username: string;
  password: string;
  auth: string;
  identityToken: string;
  registryToken: string;
};

/** `fn`'s answer, or the node's error variant as this plugin's. */
function relay<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const p = (e as { payload?: unknown })?.payload ?? e;
    if (p && typeof p === "object" && "tag" in p) throw p;
    fail("internal", why(e));
  }
}

export const imageService = {
  pullImage(image: ImageSpec, auth?: AuthConfig): string {
    return relay(() => pullImage(image.image, auth));
  },
  listImages() {
    return relay(() => listImages());
  },
  getImageStatus(image: ImageSpec) {
    return relay(() => imageStatus(image.image));
  },
  removeImage(image: ImageSpec): void {
    relay(() => removeImage(image.image));
  },
};
