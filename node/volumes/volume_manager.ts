/**
 * Node-local volumes of a pod: emptyDir, configMap, secret, downwardAPI, projected (with
 * ServiceAccount tokens, requested through the {@linkcode TokenManager}) and hostPath, kept under
 * `<data-dir>/kubelet/pods/<uid>/volumes/<plugin>/<name>` as the kubelet lays them out.
 * `setUp` is idempotent and cheap when nothing changed, so every sync calls it: that is how a
 * changed ConfigMap or Secret reaches a running pod (eventually, as upstream). `tearDown` removes
 * the pod's directory.
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
import { type PersistentVolumes, VolumeNotReady } from "./pvc_volume.ts";

/** The plugin directory name of a volume, as the kubelet's `kubernetes.io~<plugin>`. */
export function pluginDir(v: Volume): string | null {
  if (v.emptyDir) return "kubernetes.io~empty-dir";
  if (v.configMap) return "kubernetes.io~configmap";
  if (v.secret) return "kubernetes.io~secret";
  if (v.downwardAPI) return "kubernetes.io~downward-api";
  if (v.projected) return "kubernetes.io~projected";
  if (v.persistentVolumeClaim) return "kubernetes.io~csi";
  return null;
}

/** The volume kinds this node cannot provide, named as in the pod spec. */
export function unsupportedVolume(v: Volume): string | null {
  if (pluginDir(v) || v.hostPath) return null;
  const kind = Object.keys(v).find((k) => k !== "name");
  return kind ?? "unknown";
}

export class VolumeManager {
  readonly root: string;
  /** Where ServiceAccount tokens come from (none: their projections fail to mount). */
  readonly tokens: TokenManager | undefined;
  /** Publishes `persistentVolumeClaim` volumes (none: they fail to mount). */
  readonly claims: PersistentVolumes | undefined;

  /**
   * @param root the kubelet root (`<data-dir>/kubelet`)
   * @param opts.tokens requests the tokens of `serviceAccountToken` projections
   * @param opts.claims publishes the volumes of `persistentVolumeClaim` volumes (pvc_volume.ts)
   */
  constructor(root: string, opts: { tokens?: TokenManager; claims?: PersistentVolumes } = {}) {
    this.root = root;
    this.tokens = opts.tokens;
    this.claims = opts.claims;
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
    if (v.hostPath) return await hostPath(v.hostPath.path, v.hostPath.type ?? "");
    const dir = `${this.podDir(uid)}/volumes/${pluginDir(v)}/${v.name}`;
    if (v.persistentVolumeClaim) {
      if (!this.claims) throw new MountError("persistentVolumeClaim volumes are not supported by this node");
      const real = await this.claims.publish(pod, v, `${dir}/mount`);
      await makeSubPaths(pod, v.name, real);
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

  /** When the pod's volumes must be written again for a token refresh (ms), if ever. */
  nextRefresh(uid: string): number | undefined {
    return this.tokens?.nextRefresh(uid);
  }

  /** Removes the pod's volume directories (hostPath volumes are left alone) and forgets its tokens. */
  async tearDown(uid: string): Promise<void> {
    this.tokens?.forgetPod(uid);
    // Claim volumes first: their data lives elsewhere and must never be removed with the pod.
    await this.claims?.unpublishAll(this.podDir(uid));
    await Deno.remove(this.podDir(uid), { recursive: true }).catch((e) => {
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
