/**
 * The kubelet's CSI node calls (its `csiAttacher`/`csiMountMgr`, reduced): a volume of a pod is
 * staged (when the driver has `STAGE_UNSTAGE_VOLUME`) at the node-global
 * `<kubelet>/plugins/kubernetes.io/csi/<driver>/<sha256(volume id)>/globalmount`, then published
 * on the pod's target; on teardown it is unpublished, and unstaged once no pod on the node
 * publishes it any more.
 *
 * Restart-safe: before calling the driver, a record of the publication is written
 * (`<pod dir>/volume-data/<plugin dir>/<volume>.json`, as upstream's `vol_data.json`), so an
 * agent that stops half-way finds what to unpublish and unstage; every driver call is idempotent,
 * so doing a step twice is harmless. A volume already published (its target is a mount point,
 * or, for directories without a mount, the record says so) is not published again.
 * @module
 */
import type { VolumeCapability } from "../../plugins/storage/binding.ts";
import { isMountPoint } from "../mountns/mount_ns.ts";
import type { StorageDriver, StorageDrivers } from "./storage_drivers.ts";

/** What was published, and by whom. */
export interface PublishRecord {
  /** The driver name, and the Plugin that published it. */
  driver: string;
  plugin: string;
  volumeId: string;
  target: string;
  staging?: string;
  /** Publication finished (the driver answered). */
  published?: boolean;
}

/** A volume to publish. */
export interface Publication {
  /** The pod's volume plugin directory (`kubernetes.io~csi`, ...) and volume name. */
  pluginDir: string;
  name: string;
  volumeId: string;
  target: string;
  capability: VolumeCapability;
  readOnly: boolean;
  volumeContext: [string, string][];
  /** Publish without staging even when the driver stages (node-local kinds: emptyDir, hostPath). */
  unstaged?: boolean;
}

async function sha256(s: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function readRecord(path: string): Promise<PublishRecord | null> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as PublishRecord;
  } catch {
    return null;
  }
}

async function writeRecord(path: string, r: PublishRecord): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(r));
  await Deno.rename(`${path}.tmp`, path);
}

/** The node's publisher. */
export class NodePublisher {
  readonly #root: string;
  readonly #drivers: StorageDrivers;

  /** @param root the kubelet root (`<data-dir>/kubelet`) */
  constructor(root: string, drivers: StorageDrivers) {
    this.#root = root.replace(/\/+$/, "");
    this.#drivers = drivers;
  }

  #record(podDir: string, pluginDir: string, name: string): string {
    return `${podDir}/volume-data/${pluginDir}/${name}.json`;
  }

  /** Stages (if the driver stages) and publishes; idempotent. Throws StorageError / PluginCallError. */
  async publish(podDir: string, driver: StorageDriver, p: Publication): Promise<void> {
    const file = this.#record(podDir, p.pluginDir, p.name);
    const had = await readRecord(file);
    if (had?.published && had.volumeId === p.volumeId && (await this.#stillThere(had))) return;
    const staging = driver.capabilities.stageUnstageVolume && !p.unstaged
      ? `${this.#root}/plugins/kubernetes.io/csi/${driver.name}/${await sha256(p.volumeId)}/globalmount`
      : undefined;
    const record: PublishRecord = {
      driver: driver.name,
      plugin: driver.plugin,
      volumeId: p.volumeId,
      target: p.target,
      staging,
    };
    await writeRecord(file, record);
    if (staging) await driver.nodeStageVolume(p.volumeId, staging, p.capability, [], p.volumeContext);
    await driver.nodePublishVolume(p.volumeId, staging, p.target, p.capability, p.readOnly, p.volumeContext);
    await writeRecord(file, { ...record, published: true });
  }

  /** Whether the pod's volume is published (and still in place). */
  async published(podDir: string, pluginDir: string, name: string): Promise<boolean> {
    const r = await readRecord(this.#record(podDir, pluginDir, name));
    return !!r?.published && (await this.#stillThere(r));
  }

  /** A published volume is still in place (a mount; or a directory, for volumes without one). */
  async #stillThere(r: PublishRecord): Promise<boolean> {
    if (isMountPoint(r.target)) return true;
    return !r.staging && !!(await Deno.stat(r.target).catch(() => null));
  }

  /** Every publication record of one pod. */
  async #records(podDir: string): Promise<{ file: string; record: PublishRecord }[]> {
    const out: { file: string; record: PublishRecord }[] = [];
    const base = `${podDir}/volume-data`;
    try {
      for await (const d of Deno.readDir(base)) {
        if (!d.isDirectory) continue;
        for await (const f of Deno.readDir(`${base}/${d.name}`)) {
          if (!f.name.endsWith(".json")) continue;
          const record = await readRecord(`${base}/${d.name}/${f.name}`);
          if (record) out.push({ file: `${base}/${d.name}/${f.name}`, record });
        }
      }
    } catch { /* none */ }
    return out;
  }

  /** The driver that published a record: its Plugin, else whichever registers the name now. */
  async #driverOf(r: PublishRecord): Promise<StorageDriver> {
    const d = (await this.#drivers.ofPlugin(r.plugin)) ?? (await this.#drivers.get(r.driver));
    if (!d) throw new Error(`driver name ${r.driver} not found in the list of registered CSI drivers`);
    return d;
  }

  /**
   * Unpublishes every volume of the pod, and unstages those no other pod publishes; idempotent.
   * Throws (the caller retries) when a driver is missing or fails.
   */
  async unpublishAll(podDir: string): Promise<void> {
    for (const { file, record } of await this.#records(podDir)) {
      const driver = await this.#driverOf(record);
      await driver.nodeUnpublishVolume(record.volumeId, record.target);
      if (record.staging && !(await this.#stagingInUse(record.staging, file))) {
        await driver.nodeUnstageVolume(record.volumeId, record.staging);
      }
      await Deno.remove(file).catch(() => {});
    }
  }

  /** Whether another pod's record still uses a staging path. */
  async #stagingInUse(staging: string, except: string): Promise<boolean> {
    let pods: string[] = [];
    try {
      pods = (await Array.fromAsync(Deno.readDir(`${this.#root}/pods`))).filter((e) => e.isDirectory).map((
        e,
      ) => e.name);
    } catch { /* none */ }
    for (const uid of pods) {
      for (const { file, record } of await this.#records(`${this.#root}/pods/${uid}`)) {
        if (file !== except && record.staging === staging) return true;
      }
    }
    return false;
  }
}
