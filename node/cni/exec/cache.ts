/**
 * The result cache, as libcni keeps it (`<dir>/results/<network>-<containerID>-<ifName>`, JSON
 * of kind `cniCacheV1` with the list's bytes in base64 and the ADD result): DEL and CHECK get the
 * ADD's result as `prevResult`, and DEL runs with the configuration the ADD ran with. One field
 * is ours: `netns`, so that attachments sharing a namespace can be told apart.
 * @module
 */
import type { CniResult } from "../api.ts";

export interface CacheEntry {
  kind: "cniCacheV1";
  containerId: string;
  /** The network configuration list, base64 (libcni's `config`). */
  config: string;
  ifName: string;
  networkName: string;
  cniArgs?: [string, string][];
  result: CniResult;
  netns: string;
}

export class ResultCache {
  constructor(readonly dir: string) {}

  path(network: string, containerId: string, ifName: string): string {
    return `${this.dir}/results/${network}-${containerId}-${ifName}`;
  }

  async put(e: CacheEntry): Promise<void> {
    await Deno.mkdir(`${this.dir}/results`, { recursive: true });
    const p = this.path(e.networkName, e.containerId, e.ifName);
    await Deno.writeTextFile(`${p}.tmp`, JSON.stringify(e));
    await Deno.rename(`${p}.tmp`, p);
  }

  async remove(e: Pick<CacheEntry, "networkName" | "containerId" | "ifName">): Promise<void> {
    await Deno.remove(this.path(e.networkName, e.containerId, e.ifName)).catch(() => {});
  }

  /** Every cached attachment. */
  async list(): Promise<CacheEntry[]> {
    const out: CacheEntry[] = [];
    try {
      for await (const f of Deno.readDir(`${this.dir}/results`)) {
        if (!f.isFile || f.name.endsWith(".tmp")) continue;
        try {
          const e = JSON.parse(await Deno.readTextFile(`${this.dir}/results/${f.name}`));
          if (e?.kind === "cniCacheV1" && typeof e.containerId === "string") out.push(e);
        } catch { /* removed meanwhile, or not ours */ }
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return out;
  }

  /** The attachment of `containerId`, whatever its interface name. */
  async find(containerId: string): Promise<CacheEntry | undefined> {
    return (await this.list()).find((e) => e.containerId === containerId);
  }
}

/** The configuration bytes an entry was added with. */
export function cachedConfig(e: CacheEntry): string {
  return new TextDecoder().decode(Uint8Array.from(atob(e.config), (c) => c.charCodeAt(0)));
}

export function encodeConfig(raw: string): string {
  let s = "";
  for (const b of new TextEncoder().encode(raw)) s += String.fromCharCode(b);
  return btoa(s);
}
