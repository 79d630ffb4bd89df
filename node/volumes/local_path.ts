/**
 * The built-in `local-path` storage driver (`local-path.skiff.dev`), in TypeScript behind the
 * verbs of the storage WIT (`skiff:storage@0.1.0`: identity, controller, node; jco's camelCase
 * names and shapes), so the same conformance suite runs against it and a Wasm storage plugin can
 * replace it (docs/storage.md). Volumes are directories on this node:
 *
 * - `createVolume(name)` makes `<parent>/<name>` (parent: the class parameter `nodePath`, default
 *   `<data-dir>/storage/local-path`) and remembers it in `<root>/volumes.json`; the same name
 *   returns the same volume;
 * - `deleteVolume(id)` removes a directory it created (an unknown id succeeds: idempotent);
 * - `nodePublishVolume` makes the target a symlink to the volume directory (idempotent; the
 *   runtimes bind-mount or preopen the directory it resolves to, read-only when asked);
 *   `nodeUnpublishVolume` removes the link, never the data.
 *
 * The volume id is the directory's absolute path, so it survives agent restarts.
 * @module
 */

/** The WIT `error` variant, as jco throws it. */
export class StorageError extends Error {
  override name = "StorageError";
  constructor(
    readonly tag:
      | "invalid-argument"
      | "not-found"
      | "already-exists"
      | "resource-exhausted"
      | "failed-precondition"
      | "unimplemented"
      | "denied"
      | "internal",
    message: string,
  ) {
    super(message);
  }
  /** jco's shape of a WIT error. */
  get val(): string {
    return this.message;
  }
}

export interface VolumeCapability {
  accessType: string;
  fsType: string;
  mountFlags: string[];
  accessMode: string;
}

export interface CsiVolume {
  volumeId: string;
  capacityBytes: bigint;
  volumeContext: [string, string][];
  accessibleTopology: [string, string][][];
}

/** The storage plugin verbs the node agent calls (the WIT world's exports, flattened). */
export interface StoragePlugin {
  getPluginInfo(): Promise<{ name: string; vendorVersion: string; manifest: [string, string][] }>;
  getPluginCapabilities(): Promise<Record<string, boolean>>;
  probe(): Promise<boolean>;
  createVolume(
    name: string,
    capacityBytes: bigint,
    capabilities: VolumeCapability[],
    parameters: [string, string][],
  ): Promise<CsiVolume>;
  deleteVolume(volumeId: string): Promise<void>;
  nodePublishVolume(
    volumeId: string,
    stagingTargetPath: string | undefined,
    targetPath: string,
    capability: VolumeCapability,
    readonly: boolean,
    volumeContext: [string, string][],
  ): Promise<void>;
  nodeUnpublishVolume(volumeId: string, targetPath: string): Promise<void>;
  nodeGetInfo(): Promise<
    { nodeId: string; maxVolumesPerNode: number; accessibleTopology: [string, string][] }
  >;
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The local-path driver of one node. */
export class LocalPathDriver implements StoragePlugin {
  readonly root: string;
  readonly nodeId: string;
  #known: Set<string> | null = null;

  /**
   * @param root the driver's directory (`<data-dir>/storage/local-path`)
   * @param nodeId this node's name (the topology `kubernetes.io/hostname` value)
   */
  constructor(root: string, nodeId: string) {
    this.root = root.replace(/\/+$/, "");
    this.nodeId = nodeId;
  }

  getPluginInfo() {
    return Promise.resolve({
      name: "local-path.skiff.dev",
      vendorVersion: "0.1.0",
      manifest: [] as [string, string][],
    });
  }

  getPluginCapabilities() {
    return Promise.resolve({
      controllerService: true,
      createDeleteVolume: true,
      publishUnpublishVolume: false,
      stageUnstageVolume: false,
      expandVolume: true,
      volumeAccessibilityConstraints: true,
    });
  }

  probe() {
    return Promise.resolve(true);
  }

  nodeGetInfo() {
    return Promise.resolve({
      nodeId: this.nodeId,
      maxVolumesPerNode: 0,
      accessibleTopology: [["kubernetes.io/hostname", this.nodeId]] as [string, string][],
    });
  }

  async #load(): Promise<Set<string>> {
    if (this.#known) return this.#known;
    try {
      this.#known = new Set(JSON.parse(await Deno.readTextFile(`${this.root}/volumes.json`)));
    } catch {
      this.#known = new Set();
    }
    return this.#known;
  }

  async #save(): Promise<void> {
    await Deno.mkdir(this.root, { recursive: true });
    const tmp = `${this.root}/volumes.json.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify([...this.#known!].sort()));
    await Deno.rename(tmp, `${this.root}/volumes.json`);
  }

  async createVolume(
    name: string,
    capacityBytes: bigint,
    _capabilities: VolumeCapability[],
    parameters: [string, string][],
  ): Promise<CsiVolume> {
    if (!NAME.test(name)) throw new StorageError("invalid-argument", `invalid volume name "${name}"`);
    const params = new Map(parameters);
    const parent = (params.get("nodePath") ?? `${this.root}/volumes`).replace(/\/+$/, "");
    if (!parent.startsWith("/") || parent.split("/").includes("..")) {
      throw new StorageError("invalid-argument", `nodePath "${parent}" must be an absolute path`);
    }
    for (const k of params.keys()) {
      if (k !== "nodePath") {
        throw new StorageError("invalid-argument", `unknown parameter "${k}" (local-path knows nodePath)`);
      }
    }
    const dir = `${parent}/${name}`;
    try {
      await Deno.mkdir(dir, { recursive: true, mode: 0o777 });
      await Deno.chmod(dir, 0o777);
    } catch (e) {
      throw new StorageError("internal", `failed to create volume directory ${dir}: ${errorMessage(e)}`);
    }
    const known = await this.#load();
    if (!known.has(dir)) {
      known.add(dir);
      await this.#save();
    }
    return {
      volumeId: dir,
      capacityBytes,
      volumeContext: [["path", dir]],
      accessibleTopology: [[["kubernetes.io/hostname", this.nodeId]]],
    };
  }

  async deleteVolume(volumeId: string): Promise<void> {
    const known = await this.#load();
    if (!known.has(volumeId)) return;
    await Deno.remove(volumeId, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw new StorageError("internal", errorMessage(e));
    });
    known.delete(volumeId);
    await this.#save();
  }

  async nodePublishVolume(
    volumeId: string,
    _staging: string | undefined,
    targetPath: string,
    _capability: VolumeCapability,
    _readonly: boolean,
    _volumeContext: [string, string][],
  ): Promise<void> {
    if (!volumeId.startsWith("/")) {
      throw new StorageError("invalid-argument", `volume id "${volumeId}" is not a path`);
    }
    const st = await Deno.stat(volumeId).catch(() => null);
    if (!st?.isDirectory) {
      throw new StorageError(
        "not-found",
        `volume directory ${volumeId} does not exist on node ${this.nodeId}`,
      );
    }
    const current = await Deno.readLink(targetPath).catch(() => null);
    if (current === volumeId) return;
    if (current !== null) await Deno.remove(targetPath);
    await Deno.mkdir(targetPath.slice(0, targetPath.lastIndexOf("/")), { recursive: true });
    await Deno.symlink(volumeId, targetPath);
  }

  async nodeUnpublishVolume(_volumeId: string, targetPath: string): Promise<void> {
    const st = await Deno.lstat(targetPath).catch(() => null);
    if (!st) return;
    if (!st.isSymlink) {
      throw new StorageError("failed-precondition", `${targetPath} is not a published volume`);
    }
    await Deno.remove(targetPath);
  }
}

/** Publishes directories that already exist on the node (static `hostPath` and `local` PVs). */
export class HostDirectoryPublisher {
  async publish(path: string, targetPath: string): Promise<void> {
    const st = await Deno.stat(path).catch(() => null);
    if (!st?.isDirectory) throw new StorageError("not-found", `${path} is not a directory on this node`);
    const current = await Deno.readLink(targetPath).catch(() => null);
    if (current === path) return;
    if (current !== null) await Deno.remove(targetPath);
    await Deno.mkdir(targetPath.slice(0, targetPath.lastIndexOf("/")), { recursive: true });
    await Deno.symlink(path, targetPath);
  }
}
