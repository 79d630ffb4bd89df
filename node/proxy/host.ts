/**
 * The host settings the service proxy changes, each recorded so it can be put back: per-interface
 * sysctls of the bridge (`forwarding`, never the global `ip_forward`; `route_localnet` for node
 * ports on 127.0.0.1), the guard routes (pod and service ranges never leave through the uplink:
 * `unreachable 198.18.0.0/16` and `198.19.0.0/16 dev <bridge>`, with a metric unique to the
 * bridge so several nodes on one machine coexist), and hairpin mode on the bridge's ports.
 * @module
 */
import { ip, ipBatch, IpError, ipJson, isExists, isMissing } from "../cni/ip.ts";
import { shortHash } from "./nft_rules.ts";
import { hairpinNewPorts } from "./hairpin.ts";

/** Reads a sysctl (`net.ipv4.conf.skiff0.forwarding`); undefined when it does not exist. */
export function readSysctl(key: string): string | undefined {
  try {
    return Deno.readTextFileSync(`/proc/sys/${key.replaceAll(".", "/")}`).trim();
  } catch {
    return undefined;
  }
}

/** Writes a sysctl. */
export function writeSysctl(key: string, value: string): void {
  if (!/^[a-z0-9_.-]+$/i.test(key)) throw new TypeError(`bad sysctl name ${key}`);
  Deno.writeTextFileSync(`/proc/sys/${key.replaceAll(".", "/")}`, value);
}

/** Changes made to the host, undone in reverse order by {@linkcode HostChanges.revert}. */
export class HostChanges {
  #undo: (() => Promise<void> | void)[] = [];
  #hairpinned = new Set<string>();
  readonly bridge: string;

  constructor(bridge: string) {
    this.bridge = bridge;
  }

  /** The guard routes' metric, unique per bridge name. */
  get metric(): number {
    return 3000 + (parseInt(shortHash(this.bridge), 36) % 60000);
  }

  /** Sets a sysctl, remembering its old value. */
  sysctl(key: string, value: string): void {
    const old = readSysctl(key);
    if (old === undefined) throw new Error(`sysctl ${key} does not exist`);
    if (old === value) return;
    writeSysctl(key, value);
    this.#undo.push(() => {
      if (readSysctl(key) !== undefined) writeSysctl(key, old);
    });
  }

  /** Adds a route (`ip route add <spec>`), removed on revert. */
  async route(spec: string[]): Promise<void> {
    try {
      await ip(["route", "add", ...spec]);
    } catch (e) {
      if (!isExists(e)) throw e;
    }
    this.#undo.push(async () => {
      try {
        await ip(["route", "del", ...spec]);
      } catch (e) {
        if (!isMissing(e) && !(e instanceof IpError && /No such process/.test(e.stderr))) throw e;
      }
    });
  }

  /** The guard routes for the pod and service ranges. */
  async guardRoutes(gateway: string): Promise<void> {
    const metric = String(this.metric);
    await this.route(["unreachable", "198.18.0.0/16", "metric", metric]);
    await this.route(["198.19.0.0/16", "dev", this.bridge, "src", gateway, "metric", metric]);
  }

  /**
   * Turns hairpin mode on for bridge ports not seen before (a pod reaching itself through a
   * Service): with rtnetlink (hairpin.ts, no process), or with `ip` when rtnetlink cannot be used.
   */
  async hairpin(): Promise<void> {
    try {
      await hairpinNewPorts(this.bridge, this.#hairpinned);
      return;
    } catch {
      // No FFI (or the dump failed): the `ip` processes below do the same.
    }
    const ports = await ipJson<{ ifname: string }[]>(["link", "show", "master", this.bridge]).catch(() => []);
    const fresh = ports.map((p) => p.ifname).filter((n) => !this.#hairpinned.has(n));
    if (!fresh.length) return;
    await ipBatch(fresh.map((n) => `link set dev ${n} type bridge_slave hairpin on`), { force: true }).catch(
      () => {},
    );
    for (const n of fresh) this.#hairpinned.add(n);
  }

  /** Undoes everything, newest first; keeps going past failures and reports the first. */
  async revert(): Promise<void> {
    let first: unknown;
    for (const undo of this.#undo.splice(0).reverse()) {
      try {
        await undo();
      } catch (e) {
        first ??= e;
      }
    }
    if (first) throw first;
  }
}
