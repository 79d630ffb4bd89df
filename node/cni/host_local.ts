/**
 * Host-local IP address management, as the CNI `host-local` plugin: one file per allocated
 * address in a data directory (`<dir>/<ip>` holding the owner's ID), `last_reserved_ip.0`
 * remembering where the round-robin scan stopped. Addresses survive agent restarts; releasing
 * one deletes its file. One allocator per directory per process (the agent owns its data dir).
 *
 * @example
 * ```ts
 * const ipam = new HostLocalIpam(`${dataDir}/network/ipam`, "198.18.4.0/22");
 * const ip = await ipam.allocate("sandbox-1"); // "198.18.4.2"
 * await ipam.release("sandbox-1");
 * ```
 * @module
 */
import { type Cidr, ipToNumber, ipToString, parseCidr } from "../../control/api/cidr.ts";

export class HostLocalIpam {
  readonly dir: string;
  readonly range: Cidr;
  #lock: Promise<unknown> = Promise.resolve();
  #cache: Map<string, string> | null = null;
  #last = -1;

  constructor(dir: string, subnet: string) {
    this.dir = dir;
    this.range = parseCidr(subnet);
  }

  /** The gateway: the first address of the range. */
  get gateway(): string {
    return ipToString(this.range.base + 1);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#lock.then(fn, fn);
    this.#lock = next.catch(() => {});
    return next;
  }

  /** The address held by `id`, if any. */
  async find(id: string): Promise<string | undefined> {
    for (const [ip, owner] of await this.#entries()) if (owner === id) return ip;
    return undefined;
  }

  /** Every allocation: address → owner ID. */
  async allocations(): Promise<Map<string, string>> {
    return new Map(await this.#entries());
  }

  /** The allocations, read from disk once and then kept in step with every write. */
  async #entries(): Promise<Map<string, string>> {
    if (this.#cache) return this.#cache;
    const out = new Map<string, string>();
    try {
      for await (const e of Deno.readDir(this.dir)) {
        if (!e.isFile || ipToNumber(e.name) === null) continue;
        try {
          out.set(e.name, (await Deno.readTextFile(`${this.dir}/${e.name}`)).trim());
        } catch { /* released meanwhile */ }
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    this.#cache = out;
    return out;
  }

  /**
   * Allocates an address for `id` (or returns the one it already has), skipping `reserved`
   * (addresses another allocator of the node holds: the bridge's IPAM plugins).
   */
  allocate(id: string, reserved?: () => Promise<Set<string>>): Promise<string> {
    return this.#serial(async () => {
      await Deno.mkdir(this.dir, { recursive: true });
      const used = await this.#entries();
      for (const [ip, owner] of used) if (owner === id) return ip;
      const taken = (await reserved?.()) ?? new Set<string>();
      const size = 2 ** (32 - this.range.bits);
      // Usable: base+2 (base+1 is the gateway) .. base+size-2 (the last is broadcast).
      const first = 2, last = size - 2;
      if (last < first) {
        throw new RangeError(`the pod range ${ipToString(this.range.base)}/${this.range.bits} is too small`);
      }
      if (this.#last < 0) {
        try {
          this.#last = ipToNumber((await Deno.readTextFile(`${this.dir}/last_reserved_ip.0`)).trim()) ?? 0;
        } catch {
          this.#last = 0; // first allocation
        }
      }
      const prev = this.#last - this.range.base;
      const start = prev >= first && prev < last ? prev + 1 : first;
      const count = last - first + 1;
      for (let i = 0; i < count; i++) {
        const offset = first + ((start - first + i) % count);
        const ip = ipToString(this.range.base + offset);
        if (used.has(ip) || taken.has(ip)) continue;
        try {
          await Deno.writeTextFile(`${this.dir}/${ip}`, `${id}\n`, { createNew: true });
        } catch (e) {
          if (e instanceof Deno.errors.AlreadyExists) continue;
          throw e;
        }
        used.set(ip, id);
        this.#last = this.range.base + offset;
        await Deno.writeTextFile(`${this.dir}/last_reserved_ip.0`, ip);
        return ip;
      }
      throw new RangeError(`no free address left in ${ipToString(this.range.base)}/${this.range.bits}`);
    });
  }

  /** Releases whatever `id` holds (idempotent). Returns the released address. */
  release(id: string): Promise<string | undefined> {
    return this.#serial(async () => {
      for (const [ip, owner] of await this.#entries()) {
        if (owner !== id) continue;
        await Deno.remove(`${this.dir}/${ip}`).catch(() => {});
        this.#cache?.delete(ip);
        return ip;
      }
      return undefined;
    });
  }
}
