/**
 * IPAM delegates of the built-in bridge: IPAM plugins (Plugin objects of kind `ipam`, loaded by
 * the node agent) that allocate pod addresses instead of the built-in host-local, as a CNI
 * network plugin delegates to the binary its `ipam.type` names. Which delegate allocated an
 * address is recorded with the allocation ({@linkcode DelegatedAllocations}, one file per
 * attachment), so that the address is released by the same plugin even after another one has
 * taken over new allocations.
 * @module
 */
import type { CniRequest } from "./api.ts";

/** What an IPAM delegate allocated: an address in CIDR notation, and which version did it. */
export interface DelegatedAddress {
  address: string;
  gateway?: string;
  /** The version that allocated it (`<digest>`, generation). */
  digest?: string;
  generation?: number;
}

/** One IPAM plugin, as the bridge calls it. `subnet` is the node's pod CIDR. */
export interface IpamDelegate {
  /** The Plugin's name (recorded with the allocation). */
  name: string;
  /** Allocates; null when the plugin failed and its failurePolicy is Ignore (use the built-in). Throws CniError. */
  add(req: CniRequest, subnet: string): Promise<DelegatedAddress | null>;
  /** Releases (idempotent). Throws CniError. */
  del(req: CniRequest, subnet: string): Promise<void>;
}

/** The IPAM plugins of a node. */
export interface IpamDelegates {
  /** The plugin that allocates new addresses now; null: the built-in host-local. */
  current(): IpamDelegate | null;
  /** A plugin by name, if this node still has it (to release what it allocated). */
  byName(name: string): IpamDelegate | null;
  log?(line: string): void;
}

/** The record of one delegated allocation. */
export interface DelegatedAllocation extends DelegatedAddress {
  plugin: string;
  containerId: string;
  ifName: string;
}

/** Delegated allocations on disk: `<dir>/<containerId>` holding the record as JSON. */
export class DelegatedAllocations {
  readonly dir: string;
  #cache = new Map<string, DelegatedAllocation>();
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
          const r = JSON.parse(await Deno.readTextFile(`${this.dir}/${e.name}`)) as DelegatedAllocation;
          this.#cache.set(r.containerId, r);
        } catch { /* torn or removed meanwhile */ }
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    this.#loaded = true;
  }

  async get(containerId: string): Promise<DelegatedAllocation | undefined> {
    await this.#load();
    return this.#cache.get(containerId);
  }

  async all(): Promise<DelegatedAllocation[]> {
    await this.#load();
    return [...this.#cache.values()];
  }

  async put(r: DelegatedAllocation): Promise<void> {
    await this.#load();
    await Deno.mkdir(this.dir, { recursive: true });
    const file = `${this.dir}/${fileName(r.containerId)}`;
    await Deno.writeTextFile(`${file}.tmp`, JSON.stringify(r));
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
