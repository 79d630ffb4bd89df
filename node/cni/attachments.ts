/**
 * The node's record of each pod network attachment, as libcni caches its results: which network
 * and IPAM Plugins set it up, the network configuration the ADD ran with (a DEL runs with the
 * same one, so an address is released by the IPAM Plugin that allocated it even after another
 * one took over new allocations), and the result. One JSON file per attachment under `dir`.
 * @module
 */
import type { CniResult } from "./api.ts";

/** One attachment. */
export interface AttachmentRecord {
  containerId: string;
  ifName: string;
  netns: string;
  /** The network Plugin that set it up. */
  network: string;
  /** The IPAM Plugin that allocated its address. */
  ipam: string;
  /** The network configuration (JSON) the ADD ran with. */
  config: string;
  /** The address without prefix, e.g. `198.18.0.5`. */
  address: string;
  result: CniResult;
  /** The plugin added nftables rules for it (host-net `add-nft-rule`): its DEL deletes them. */
  nftRules?: boolean;
}

/** Attachment records on disk: `<dir>/<containerId>` holding the record as JSON. */
export class AttachmentRecords {
  readonly dir: string;
  #cache = new Map<string, AttachmentRecord>();
  #loaded = false;

  constructor(dir: string) {
    this.dir = dir;
  }

  async #load(): Promise<void> {
    if (this.#loaded) return;
    try {
      for await (const e of Deno.readDir(this.dir)) {
        if (!e.isFile || e.name.endsWith(".tmp")) continue;
        try {
          const r = JSON.parse(await Deno.readTextFile(`${this.dir}/${e.name}`)) as AttachmentRecord;
          this.#cache.set(r.containerId, r);
        } catch { /* torn or removed meanwhile */ }
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    this.#loaded = true;
  }

  async get(containerId: string): Promise<AttachmentRecord | undefined> {
    await this.#load();
    return this.#cache.get(containerId);
  }

  async all(): Promise<AttachmentRecord[]> {
    await this.#load();
    return [...this.#cache.values()];
  }

  async put(r: AttachmentRecord): Promise<void> {
    await this.#load();
    const file = `${this.dir}/${fileName(r.containerId)}`;
    try {
      await Deno.writeTextFile(`${file}.tmp`, JSON.stringify(r));
    } catch (e) {
      // The first record (or the folder was removed): make the folder, once, not per record.
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      await Deno.mkdir(this.dir, { recursive: true });
      await Deno.writeTextFile(`${file}.tmp`, JSON.stringify(r));
    }
    await Deno.rename(`${file}.tmp`, file);
    this.#cache.set(r.containerId, r);
  }

  async delete(containerId: string): Promise<void> {
    await this.#load();
    await Deno.remove(`${this.dir}/${fileName(containerId)}`).catch(() => {});
    this.#cache.delete(containerId);
  }
}

function fileName(containerId: string): string {
  return containerId.replace(/[^A-Za-z0-9_.-]/g, "_");
}
