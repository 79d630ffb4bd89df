/**
 * A runtime plugin: {{name}}. A minimal CRI RuntimeService for OCI containers, driven by crun:
 *
 * - a pod sandbox is a record in the plugin's state store (`s/<id>`); the node prepared its
 *   network namespace, address and pod directory before `run-pod-sandbox` and passes them in;
 * - a container is a record (`c/<id>`) and a bundle: the plugin builds `config.json` with the
 *   pure helpers in oci/ (spec.ts, user.ts), the node writes it next to the image's rootfs
 *   (`node-images.prepare-bundle`), and conmon runs `crun create` and keeps the exit code and
 *   the log; `start`, `stop` (a signal, never a wait), `exec-sync` and `delete` are crun verbs;
 * - every command runs on the node through skiff:host/host-process (grant `host-process` with
 *   `allow: [/usr/bin/crun, /usr/bin/conmon]`), the records through skiff:host/state;
 * - images are the node's: `resolve-image` for a create, and `image-service` relays CRI's image
 *   verbs to `node-images` (`pull-image`, `list-images`, `image-status`, `remove-image`).
 *
 * The node does the waiting (a create until crun's pid file shows, a stop's grace period, the
 * exit, reported back with `container-exited`), so no verb here blocks.
 * Build: ./skiff plugin build; test (root, crun, conmon): ./skiff plugin test.
 */
import { exec } from "skiff:host/host-process@0.1.0";
import { delete as remove, get, listKeys, set } from "skiff:host/state@0.1.0";
import {
  imageStatus,
  listImages,
  nodeConfig,
  prepareBundle,
  pullImage,
  removeBundle,
  removeImage,
  resolveImage,
} from "skiff:runtime/node-images@0.2.0";
import type {
  AuthConfig,
  ContainerConfig,
  ContainerExit,
  ImageSpec,
  PodSandboxConfig,
} from "skiff:runtime/types@0.2.0";
import { bundlePaths, conmonArgs, crunArgs, isGone, type Layout, layout } from "../oci/commands.ts";
import { exitReason, normalizeSignal } from "../oci/records.ts";
import { ociSpec } from "../oci/spec.ts";
import { resolveUser, runAsNonRootViolation } from "../oci/user.ts";

type Tag = "invalid-argument" | "not-found" | "failed-precondition" | "unimplemented" | "internal";
// deno-lint-ignore no-explicit-any
type Json = any;

function fail(tag: Tag, message: string): never {
  throw { tag, val: message };
}

/** What a failed call said (host imports throw the error variant, jco sometimes as `payload`). */
function why(e: unknown): string {
  const p = (e as { payload?: unknown })?.payload ?? e;
  if (p && typeof p === "object" && "tag" in p) return `${(p as Json).tag}: ${(p as Json).val}`;
  return e instanceof Error ? e.message : String(e);
}

// QuickJS guests have no TextEncoder / TextDecoder.
const utf8 = (s: string) => Uint8Array.from(unescape(encodeURIComponent(s)), (c) => c.charCodeAt(0));
const text = (b: Uint8Array) => decodeURIComponent(escape(String.fromCharCode(...b)));

const load = (key: string): Json => {
  const v = get(key);
  return v ? JSON.parse(text(v)) : undefined;
};
const save = (key: string, value: unknown) => set(key, utf8(JSON.stringify(value)));
const all = (prefix: string): Json[] => listKeys(prefix).map(load).filter(Boolean);
const json = (s: string) => JSON.parse(s || "{}");
const id8 = () => Math.random().toString(16).slice(2, 10).padEnd(8, "0");

let dirs: Layout | undefined;
let node: Json = {};

/** The node's facts (`root`, `cgroupParent`, `pidsLimit`, `swapAccounting`), asked once. */
function paths(): Layout {
  if (!dirs) {
    node = json(nodeConfig());
    if (typeof node.root !== "string") fail("failed-precondition", "the node gave no runtime root");
    dirs = layout(node.root);
  }
  return dirs;
}

/** Runs a binary on the node (host-process); the host's refusal is an `internal` error. */
function execute(binary: string, args: string[]) {
  try {
    return exec(binary, args, [], new Uint8Array());
  } catch (e) {
    fail("internal", `${binary} ${args.slice(0, 2).join(" ")}: ${why(e)}`);
  }
}

/** Runs crun (or conmon) on the node; a non-zero exit is an `internal` error with its stderr. */
function run(binary: string, args: string[]): string {
  const out = execute(binary, args);
  if (out.exitCode !== 0) fail("internal", text(out.stderr).trim() || `${binary} exited with ${out.exitCode}`);
  return text(out.stdout);
}

function crunDelete(id: string): void {
  try {
    run(paths().crun, crunArgs(paths(), "delete", "-f", id));
  } catch (e) {
    if (!isGone(why(e))) throw e;
  }
}

function sandboxStatus(s: Json) {
  return { ...s, state: s.ready ? "sandbox-ready" : "sandbox-notready" };
}

function containerStatus(c: Json) {
  const { stopSignal: _, ...status } = c;
  return status;
}

function exited(c: Json, exitCode: number, oomKilled: boolean, message: string): void {
  if (c.state === "container-exited") return;
  const at = Date.now();
  save(`c/${c.id}`, {
    ...c,
    state: "container-exited",
    exitCode,
    reason: exitReason(exitCode, oomKilled),
    message,
    startedAt: c.startedAt || at,
    finishedAt: at,
  });
}

export const runtimeService = {
  configure(_settings: string): void {
    dirs = undefined;
  },

  // `run-pod-sandbox`, `create-container` and `start-container` answer the record's status.
  runPodSandbox(config: PodSandboxConfig, runtimeHandler: string) {
    const m = config.metadata;
    if (!m.uid || !m.name) fail("invalid-argument", "the sandbox needs metadata.name and metadata.uid");
    const same = all("s/").find((s) => s.metadata.uid === m.uid && s.metadata.attempt === m.attempt && s.ready);
    // Asked again with the pod's IP once the node has set up its network (containers may be
    // created before it is known, and are started after).
    if (same) {
      if (!config.ip || same.ip === config.ip) return sandboxStatus(same);
      save(`s/${same.id}`, { ...same, ip: config.ip });
      return sandboxStatus({ ...same, ip: config.ip });
    }
    const id = `${m.uid.slice(0, 8)}-${m.attempt}-${id8()}`;
    const { linux: _, ...rest } = config;
    const record = { ...rest, id, ready: true, createdAt: Date.now(), runtimeHandler: runtimeHandler || "oci" };
    save(`s/${id}`, record);
    return sandboxStatus(record);
  },

  stopPodSandbox(id: string): void {
    const s = load(`s/${id}`);
    if (!s) return;
    for (const c of all("c/")) if (c.podSandboxId === id) runtimeService.stopContainer(c.id, 0);
    save(`s/${id}`, { ...s, ready: false });
  },

  removePodSandbox(id: string): void {
    if (!load(`s/${id}`)) return;
    runtimeService.stopPodSandbox(id);
    for (const c of all("c/")) if (c.podSandboxId === id) runtimeService.removeContainer(c.id);
    remove(`s/${id}`);
  },

  getPodSandboxStatus(id: string) {
    const s = load(`s/${id}`);
    if (!s) fail("not-found", `pod sandbox ${id} does not exist`);
    return sandboxStatus(s);
  },

  listPodSandbox() {
    return all("s/").map(sandboxStatus);
  },

  createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig) {
    const l = paths();
    const s = load(`s/${podSandboxId}`);
    if (!s?.ready) fail("failed-precondition", `pod sandbox ${podSandboxId} is not ready`);
    let img;
    try {
      img = resolveImage(config.image);
    } catch (e) {
      fail("not-found", `image "${config.image}" is not present on this node (${why(e)})`);
    }
    const image = json(img.config);
    const linux = json(config.linux);
    const sc = linux.securityContext ?? {};
    const refusal = runAsNonRootViolation(sc.runAsNonRoot, sc.runAsUser, image.User ?? "", {
      pod: `${s.metadata.name}_${s.metadata.namespace}(${s.metadata.uid})`,
      container: config.name,
    });
    if (refusal) fail("failed-precondition", refusal);
    const id = `${s.metadata.uid.slice(0, 8)}-${config.name.slice(0, 40)}-${config.attempt}-${id8()}`;
    const p = bundlePaths(l, id);
    let spec;
    try {
      const user = resolveUser({
        imageUser: image.User ?? "",
        runAsUser: sc.runAsUser,
        runAsGroup: sc.runAsGroup,
        supplementalGroups: sc.supplementalGroups,
        passwd: img.passwd,
        group: img.group,
      });
      const kv = (l: { key: string; value: string }[]) => Object.fromEntries(l.map((p) => [p.key, p.value]));
      spec = ociSpec({
        config: {
          ...config,
          metadata: { name: config.name, attempt: config.attempt },
          image: { image: config.image },
          labels: kv(config.labels),
          annotations: kv(config.annotations),
          ports: [],
          resources: {},
          linux,
        },
        sandbox: {
          netnsPath: s.netns,
          host: { network: !s.netns },
          utsPath: s.podDir && s.netns ? `${s.podDir}/uts` : undefined,
          ipcPath: s.podDir ? `${s.podDir}/ipc` : undefined,
          hostname: s.hostname,
          etcHosts: s.podDir ? `${s.podDir}/hosts` : undefined,
          resolvConf: s.podDir ? `${s.podDir}/resolv.conf` : undefined,
          sysctls: {},
        },
        image,
        user,
        rootfs: p.rootfs,
        cgroupsPath: `${node.cgroupParent ?? "/skiff"}/pod${s.metadata.uid}/${id}`,
        pidsLimit: node.pidsLimit,
        swapAccounting: node.swapAccounting === true,
        terminationMessageFile: p.terminationLog,
      });
    } catch (e) {
      fail("invalid-argument", why(e));
    }
    const logPath = `${sandboxConfig.logDirectory || s.logDirectory}/${config.logPath}`;
    // The record first: an exit the node reports while conmon starts must find it.
    save(`c/${id}`, {
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
      labels: config.labels,
      annotations: config.annotations,
      mounts: config.mounts,
      stdin: config.stdin,
      tty: config.tty,
      stopSignal: normalizeSignal(image.StopSignal),
    });
    try {
      prepareBundle(id, img.id, JSON.stringify(spec));
      run(l.conmon, conmonArgs(l, { id, logPath, stdin: config.stdin, stdinOnce: config.stdinOnce, tty: config.tty }));
    } catch (e) {
      try {
        crunDelete(id);
        removeBundle(id);
      } catch { /* best effort */ }
      remove(`c/${id}`);
      fail("internal", why(e));
    }
    return containerStatus(load(`c/${id}`)!);
  },

  startContainer(id: string) {
    const c = load(`c/${id}`);
    if (!c) fail("not-found", `container ${id} does not exist`);
    if (c.state === "container-running") return containerStatus(c);
    if (c.state === "container-exited") fail("failed-precondition", `container ${id} has already run`);
    run(paths().crun, crunArgs(paths(), "start", id));
    const now = load(`c/${id}`) ?? c;
    if (now.state !== "container-created") return containerStatus(now);
    const running = { ...now, state: "container-running", startedAt: Date.now() };
    save(`c/${id}`, running);
    return containerStatus(running);
  },

  stopContainer(id: string, timeoutSeconds: number): void {
    const c = load(`c/${id}`);
    if (!c || c.state === "container-exited") return;
    if (c.state === "container-created") {
      crunDelete(id);
      return exited(c, 0, false, "stopped before it started");
    }
    try {
      run(paths().crun, crunArgs(paths(), "kill", id, Number(timeoutSeconds) > 0 ? c.stopSignal : "SIGKILL"));
    } catch (e) {
      if (!isGone(why(e)) && !/not running|stopped/i.test(why(e))) throw e; // else: the exit is on its way
    }
  },

  containerExited(id: string, exit: ContainerExit): void {
    const c = load(`c/${id}`);
    if (!c || c.state === "container-exited") return;
    exited(c, exit.exitCode, exit.oomKilled, exit.message);
    crunDelete(id);
  },

  removeContainer(id: string): void {
    const c = load(`c/${id}`);
    if (!c) return;
    if (c.state !== "container-exited") {
      runtimeService.stopContainer(id, 0);
      exited(load(`c/${id}`) ?? c, 137, false, "removed while running");
    }
    crunDelete(id);
    removeBundle(id);
    remove(`c/${id}`);
  },

  getContainerStatus(id: string) {
    const c = load(`c/${id}`);
    if (!c) fail("not-found", `container ${id} does not exist`);
    return containerStatus(c);
  },

  listContainers(podSandboxId?: string) {
    return all("c/").filter((c) => !podSandboxId || c.podSandboxId === podSandboxId).map(containerStatus);
  },

  execSync(id: string, cmd: string[], _timeoutSeconds: number) {
    const c = load(`c/${id}`);
    if (c?.state !== "container-running") fail("failed-precondition", `container ${id} is not running`);
    if (!cmd.length) fail("invalid-argument", "no command");
    return execute(paths().crun, crunArgs(paths(), "exec", id, ...cmd));
  },
};

/** A node-images call; its error variant (`invalid-argument`, `not-found`, ...) becomes ours. */
function relay<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const p = (e as { payload?: unknown })?.payload ?? e;
    if (p && typeof p === "object" && "tag" in p) throw p;
    fail("internal", why(e));
  }
}

/**
 * CRI's ImageService over the node's image store (the node downloads and unpacks; every verb is
 * idempotent there). A plugin that keeps images elsewhere answers `unimplemented` here, and the
 * node then serves the verbs from its own store.
 */
export const imageService = {
  pullImage: (image: ImageSpec, auth?: AuthConfig): string => relay(() => pullImage(image.image, auth)),
  listImages: () => relay(() => listImages()),
  getImageStatus: (image: ImageSpec) => relay(() => imageStatus(image.image)),
  removeImage: (image: ImageSpec): void => relay(() => removeImage(image.image)),
};
