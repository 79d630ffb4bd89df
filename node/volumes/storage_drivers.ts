/**
 * The node's CSI drivers: storage Plugins loaded on this node, each registering the driver name
 * its `get-plugin-info` answers (as a CSI node plugin registers with the kubelet through
 * node-driver-registrar). StorageClasses name the driver in `provisioner`, PersistentVolumes in
 * `spec.csi.driver`. When two Plugins answer the same name, the first in the node's order wins
 * (users' Plugins before the built-ins), so a user's Plugin can take over `local-path.skiff.dev`.
 *
 * A {@linkcode StorageDriver} is the typed face of one Plugin: the storage WIT verbs, answering
 * values or throwing {@linkcode StorageError} (a CSI error, with the plugin's message) or
 * PluginCallError (the plugin failed: trap, timeout, not loaded).
 * @module
 */
import type { CsiVolume, StorageCapabilities, VolumeCapability } from "../../plugins/storage/binding.ts";
import { StorageError, unwrapStorage } from "../../plugins/storage/binding.ts";
import type { NodePlugins } from "../plugins.ts";

export { StorageError };

/** What the drivers need of the node's plugin host. */
export interface StoragePluginHost {
  /** The storage Plugins that apply to this node, in order of preference. */
  storagePlugins(): string[];
  /** The loaded version of a Plugin (digest and generation), or undefined when it is not loaded. */
  version(plugin: string): string | undefined;
  call(plugin: string, op: string, args: unknown[]): Promise<unknown>;
}

/** The storage Plugins of a node's plugin host (users' Plugins first, then the built-ins). */
export function nodeStorageHost(plugins: NodePlugins): StoragePluginHost {
  return {
    storagePlugins: () => plugins.ordered("storage").map((p) => p.metadata.name!),
    version: (name) => {
      const e = plugins.host.list().find((x) => x.name === name && x.ready);
      return e ? `${e.digest}@${e.generation}` : undefined;
    },
    call: (name, op, args) => plugins.call(name, op, args),
  };
}

/** One storage Plugin, as a CSI driver. */
export class StorageDriver {
  constructor(
    readonly name: string,
    readonly plugin: string,
    readonly capabilities: StorageCapabilities,
    readonly host: StoragePluginHost,
  ) {}

  async #call<T>(op: string, ...args: unknown[]): Promise<T> {
    return unwrapStorage<T>(await this.host.call(this.plugin, op, args));
  }

  createVolume(
    name: string,
    bytes: number,
    caps: VolumeCapability[],
    parameters: [string, string][],
  ): Promise<CsiVolume> {
    return this.#call("createVolume", name, bytes, caps, parameters);
  }
  deleteVolume(id: string): Promise<void> {
    return this.#call("deleteVolume", id);
  }
  controllerExpandVolume(id: string, bytes: number): Promise<number> {
    return this.#call("controllerExpandVolume", id, bytes);
  }
  nodeStageVolume(
    id: string,
    staging: string,
    cap: VolumeCapability,
    publishContext: [string, string][],
    ctx: [string, string][],
  ): Promise<void> {
    return this.#call("nodeStageVolume", id, staging, cap, publishContext, ctx);
  }
  nodeUnstageVolume(id: string, staging: string): Promise<void> {
    return this.#call("nodeUnstageVolume", id, staging);
  }
  nodePublishVolume(
    id: string,
    staging: string | undefined,
    target: string,
    cap: VolumeCapability,
    readOnly: boolean,
    ctx: [string, string][],
  ): Promise<void> {
    return this.#call("nodePublishVolume", id, staging ?? null, target, cap, readOnly, ctx);
  }
  nodeUnpublishVolume(id: string, target: string): Promise<void> {
    return this.#call("nodeUnpublishVolume", id, target);
  }
}

interface Known {
  version: string;
  driver: StorageDriver;
}

/** The node's drivers, by name. */
export class StorageDrivers {
  readonly #host: StoragePluginHost;
  readonly #known = new Map<string, Known>();

  constructor(host: StoragePluginHost) {
    this.#host = host;
  }

  /** The driver of one loaded Plugin (asks it for its name and capabilities once per version). */
  async #resolve(plugin: string): Promise<StorageDriver | null> {
    const version = this.#host.version(plugin);
    if (version === undefined) return null;
    const k = this.#known.get(plugin);
    if (k?.version === version) return k.driver;
    try {
      const info = unwrapStorage<{ name: string }>(await this.#host.call(plugin, "getPluginInfo", []));
      const caps = unwrapStorage<StorageCapabilities>(
        await this.#host.call(plugin, "getPluginCapabilities", []),
      );
      const driver = new StorageDriver(info.name, plugin, caps, this.#host);
      this.#known.set(plugin, { version, driver });
      return driver;
    } catch {
      return null; // not ready (restarting, failing): as a driver that has not registered
    }
  }

  /** The driver of the Plugin named `plugin`, or null (not loaded, not a storage Plugin here). */
  async ofPlugin(plugin: string): Promise<StorageDriver | null> {
    return this.#host.storagePlugins().includes(plugin) ? await this.#resolve(plugin) : null;
  }

  /** The driver registered as `name` on this node, or null (none, or not loaded yet). */
  async get(name: string): Promise<StorageDriver | null> {
    for (const p of this.#host.storagePlugins()) {
      const d = await this.#resolve(p);
      if (d?.name === name) return d;
    }
    return null;
  }

  /** The driver names registered on this node, in order. */
  async names(): Promise<string[]> {
    const out: string[] = [];
    for (const p of this.#host.storagePlugins()) {
      const d = await this.#resolve(p);
      if (d && !out.includes(d.name)) out.push(d.name);
    }
    return out;
  }
}
