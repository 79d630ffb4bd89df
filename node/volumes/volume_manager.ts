/**
 * Node-local volumes of a pod: emptyDir, configMap, secret, downwardAPI, projected (with
 * ServiceAccount tokens, requested through the {@linkcode TokenManager}), hostPath and
 * persistentVolumeClaim, kept under `<data-dir>/kubelet/pods/<uid>/volumes/<plugin>/<name>` as
 * the kubelet lays them out. emptyDir and hostPath volumes are published by the built-in storage
 * Plugin `local-path` (an emptyDir directory; a bind mount of the host path), claims by their
 * driver's Plugin (pvc_volume.ts); API-data volumes are written here (atomic_writer.ts).
 * `setUp` is idempotent and cheap when nothing changed, so every sync calls it: that is how a
 * changed ConfigMap or Secret reaches a running pod (eventually, as upstream). `tearDown`
 * unpublishes the pod's volumes, then removes its directory (never through a mount).
 *
 * @example
 * ```ts
 * const vm = new VolumeManager(`${dataDir}/kubelet`);
 * const paths = await vm.setUp(pod, lookups); // Map volume name → host directory
 * ```
 * @module
 */
import type { Container, Pod, Volume } from "kubernetes-types/core/v1.d.ts";
import type { Mount } from "../cri/api.ts";
import { writeAtomically } from "./atomic_writer.ts";
import { MountError, volumeFiles, type VolumeLookups } from "./projection.ts";
import { type TokenManager, tokenKey } from "./token_manager.ts";
import { BUILTIN_STORAGE_PLUGIN, type PersistentVolumes, VolumeNotReady } from "./pvc_volume.ts";
import type { NodePublisher } from "./node_publisher.ts";
import type { StorageDrivers } from "./storage_drivers.ts";
import { unmount } from "../mountns/libc.ts";
import { parseMountInfo } from "../mountns/mount_ns.ts";

/** The plugin directory name of a volume, as the kubelet's `kubernetes.io~<plugin>`. */
export function pluginDir(v: Volume): string | null {
  if (v.emptyDir) return "kubernetes.io~empty-dir";
  if (v.configMap) return "kubernetes.io~configmap";
  if (v.secret) return "kubernetes.io~secret";
  if (v.downwardAPI) return "kubernetes.io~downward-api";
  if (v.projected) return "kubernetes.io~projected";
  if (v.persistentVolumeClaim) return "kubernetes.io~csi";
  if (v.hostPath) return "kubernetes.io~host-path";
  return null;
}

/** The volume kinds this node cannot provide, named as in the pod spec. */
export function unsupportedVolume(v: Volume): string | null {
  if (pluginDir(v)) return null;
  const kind = Object.keys(v).find((k) => k !== "name");
  return kind ?? "unknown";
}

export class VolumeManager {
  readonly root: string;
  /** Where ServiceAccount tokens come from (none: their projections fail to mount). */
  readonly tokens: TokenManager | undefined;
  /** Publishes `persistentVolumeClaim` volumes (none: they fail to mount). */
  readonly claims: PersistentVolumes | undefined;
  /** The node's storage Plugins (none: emptyDir and hostPath are plain directories, for tests). */
  readonly storage: { drivers: StorageDrivers; publisher: NodePublisher } | undefined;

  /**
   * @param root the kubelet root (`<data-dir>/kubelet`)
   * @param opts.tokens requests the tokens of `serviceAccountToken` projections
   * @param opts.claims publishes the volumes of `persistentVolumeClaim` volumes (pvc_volume.ts)
   * @param opts.storage the storage Plugins that publish emptyDir and hostPath volumes, and
   *   unpublish every published volume on teardown
   */
  constructor(
    root: string,
    opts: { tokens?: TokenManager; claims?: PersistentVolumes; storage?: { drivers: StorageDrivers; publisher: NodePublisher } } = {},
  ) {
    this.root = root;
    this.tokens = opts.tokens;
    this.claims = opts.claims;
    this.storage = opts.storage;
  }

  podDir(uid: string): string {
    return `${this.root}/pods/${uid}`;
  }

  /** Creates or refreshes every volume of `pod`; returns volume name → host path. Throws MountError. */
  async setUp(pod: Pod, lookups: VolumeLookups): Promise<Map<string, string>> {
    const uid = pod.metadata!.uid!;
    const out = new Map<string, string>();
    for (const v of pod.spec?.volumes ?? []) {
      try {
        out.set(v.name, await this.#setUpOne(pod, uid, v, lookups));
      } catch (e) {
        if (!(e instanceof MountError)) throw e;
        // Upstream's wording: MountVolume.SetUp failed for volume "config" : configmap "x" not found
        const Err = e instanceof VolumeNotReady ? VolumeNotReady : MountError;
        throw new Err(`MountVolume.SetUp failed for volume "${v.name}" : ${e.message}`);
      }
    }
    return out;
  }

  async #setUpOne(pod: Pod, uid: string, v: Volume, lookups: VolumeLookups): Promise<string> {
    const unsupported = unsupportedVolume(v);
    if (unsupported) throw new MountError(`${unsupported} volumes are not supported by this node`);
    const dir = `${this.podDir(uid)}/volumes/${pluginDir(v)}/${v.name}`;
    if (v.hostPath) {
      const path = await hostPath(v.hostPath.path, v.hostPath.type ?? "");
      if (!this.storage) return path;
      await this.#publishLocal(uid, v.name, "kubernetes.io~host-path", dir, [["type", "hostPath"], ["path", path]]);
      return dir;
    }
    if (v.emptyDir && this.storage) {
      await this.#publishLocal(uid, v.name, "kubernetes.io~empty-dir", dir, [["type", "emptyDir"]]);
      return dir;
    }
    if (v.persistentVolumeClaim) {
      if (!this.claims) throw new MountError("persistentVolumeClaim volumes are not supported by this node");
      const real = await this.claims.publish(pod, this.podDir(uid), v, `${dir}/mount`);
      await makeSubPaths(pod, v.name, real).catch((e) => {
        if (!v.persistentVolumeClaim?.readOnly) throw e;
      });
      return real;
    }
    const files = volumeFiles(pod, v, await this.#withTokens(pod, v, lookups));
    if (files) await writeAtomically(dir, files);
    else await Deno.mkdir(dir, { recursive: true, mode: 0o777 });
    return dir;
  }

  /** `lookups` plus the tokens of the volume's `serviceAccountToken` projections. Throws MountError. */
  async #withTokens(pod: Pod, v: Volume, lookups: VolumeLookups): Promise<VolumeLookups> {
    const sources = (v.projected?.sources ?? []).flatMap((s) => s.serviceAccountToken ? [s.serviceAccountToken] : []);
    if (!sources.length) return lookups;
    if (!this.tokens) throw new MountError("serviceAccountToken projections are not supported by this node");
    let tokens: Map<string, string>;
    try {
      tokens = await this.tokens.tokensFor(pod, sources);
    } catch (e) {
      throw new MountError(`failed to fetch token: ${(e as Error).message}`);
    }
    return { ...lookups, serviceAccountToken: (source) => tokens.get(tokenKey(source)) };
  }

  /** Publishes an emptyDir or hostPath volume through the built-in storage Plugin. Throws MountError. */
  async #publishLocal(uid: string, name: string, dir: string, target: string, ctx: [string, string][]): Promise<void> {
    const { drivers, publisher } = this.storage!;
    const podDir = this.podDir(uid);
    if (await publisher.published(podDir, dir, name)) return;
    const driver = await drivers.ofPlugin(BUILTIN_STORAGE_PLUGIN);
    if (!driver) throw new VolumeNotReady(`the storage Plugin ${BUILTIN_STORAGE_PLUGIN} is not loaded on this node`);
    try {
      await publisher.publish(podDir, driver, {
        pluginDir: dir,
        name,
        volumeId: `${dir}:${uid}/${name}`,
        target,
        capability: { accessType: "mount", fsType: "", mountFlags: [], accessMode: "single-node-writer" },
        readOnly: false,
        volumeContext: ctx,
        unstaged: true,
      });
    } catch (e) {
      throw new MountError((e as Error).message);
    }
  }

  /** When the pod's volumes must be written again for a token refresh (ms), if ever. */
  nextRefresh(uid: string): number | undefined {
    return this.tokens?.nextRefresh(uid);
  }

  /**
   * Unpublishes the pod's volumes through their Plugins, then removes the pod's directory (the
   * data of hostPath and claim volumes lives elsewhere and stays); forgets its tokens. A failed
   * unpublish throws (the caller retries), unless `force` (the node shuts down): then what is
   * still mounted under the pod's directory is detached by the agent. Never removes through a
   * mount.
   */
  async tearDown(uid: string, opts: { force?: boolean } = {}): Promise<void> {
    this.tokens?.forgetPod(uid);
    const podDir = this.podDir(uid);
    try {
      await this.storage?.publisher.unpublishAll(podDir);
    } catch (e) {
      if (!opts.force) throw new MountError(`UnmountVolume.TearDown failed for pod "${uid}" : ${(e as Error).message}`);
    }
    const left = mountsUnder(podDir);
    if (left.length && opts.force) for (const m of left) unmount(m, true);
    if (mountsUnder(podDir).length) {
      throw new MountError(`orphaned pod "${uid}" found, but volume paths are still mounted: ${left.join(", ")}`);
    }
    await Deno.remove(podDir, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }

  /** Pod UIDs that have a directory here (to clean up after pods deleted while the agent was down). */
  async knownPods(): Promise<string[]> {
    const out: string[] = [];
    try {
      for await (const e of Deno.readDir(`${this.root}/pods`)) if (e.isDirectory) out.push(e.name);
    } catch { /* none yet */ }
    return out;
  }
}

/** Mount points under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  return parseMountInfo(Deno.readTextFileSync("/proc/self/mountinfo")).map((m) => m.mountPoint)
    .filter((p) => p.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
}

/** Names of the pod's API-data volumes (configMap, secret, downwardAPI, projected): always mounted read-only, as the kubelet does. */
export function readOnlyVolumes(pod: Pod): Set<string> {
  return new Set(
    (pod.spec?.volumes ?? []).filter((v) =>
      v.configMap || v.secret || v.downwardAPI || v.projected || v.persistentVolumeClaim?.readOnly === true
    ).map((
      v,
    ) => v.name),
  );
}

/** The mounts of `container`, given the set-up volumes. Throws MountError for unknown volumes. */
export function containerMounts(
  container: Container,
  volumes: Map<string, string>,
  readOnly: Set<string> = new Set(),
): Mount[] {
  return (container.volumeMounts ?? []).map((m) => {
    const base = volumes.get(m.name);
    if (base === undefined) {
      throw new MountError(`volume "${m.name}" of container "${container.name}" is not defined`);
    }
    const sub = m.subPath ?? "";
    if (sub.split("/").includes("..") || sub.startsWith("/")) {
      throw new MountError(`invalid subPath "${sub}"`);
    }
    return {
      containerPath: m.mountPath,
      hostPath: sub ? `${base}/${sub}` : base,
      readonly: (m.readOnly ?? false) || readOnly.has(m.name),
    };
  });
}

/** Creates the `subPath` directories containers mount from volume `name` (as the kubelet does). */
async function makeSubPaths(pod: Pod, name: string, base: string): Promise<void> {
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  for (const c of containers) {
    for (const m of c.volumeMounts ?? []) {
      const sub = m.subPath ?? "";
      if (m.name !== name || !sub || sub.startsWith("/") || sub.split("/").includes("..")) continue;
      await Deno.mkdir(`${base}/${sub}`, { recursive: true, mode: 0o777 });
    }
  }
}

async function hostPath(path: string, type: string): Promise<string> {
  let st: Deno.FileInfo | null = null;
  try {
    st = await Deno.stat(path);
  } catch { /* missing */ }
  const fail = (what: string) => {
    throw new MountError(`hostPath type check failed: ${path} is not a ${what}`);
  };
  switch (type) {
    case "DirectoryOrCreate":
      if (!st) await Deno.mkdir(path, { recursive: true, mode: 0o755 });
      else if (!st.isDirectory) fail("directory");
      break;
    case "Directory":
      if (!st?.isDirectory) fail("directory");
      break;
    case "FileOrCreate":
      if (!st) await Deno.writeFile(path, new Uint8Array(), { mode: 0o644 });
      else if (!st.isFile) fail("file");
      break;
    case "File":
      if (!st?.isFile) fail("file");
      break;
    case "Socket":
      if (!st?.isSocket) fail("socket");
      break;
    case "CharDevice":
      if (!st?.isCharDevice) fail("character device");
      break;
    case "BlockDevice":
      if (!st?.isBlockDevice) fail("block device");
      break;
  }
  return path;
}

export { MountError, VolumeNotReady };
