/**
 * Pod networking through standard CNI plugin binaries (CNI 1.0/1.1 exec protocol), configured by
 * a network configuration list in a directory (`--cni-conf-dir`), binaries in `--cni-bin-dir`.
 * It implements the same {@linkcode NetworkPlugin} as the built-in bridge, so the runtimes (OCI
 * sandboxes and Wasm sandbox groups) get their pod addresses from the chain unchanged:
 *
 * - ADD runs the plugins in order, each getting the previous one's result as `prevResult`; the
 *   last result is cached (libcni's cache, under the node's data dir) and returned. A failed ADD is
 *   rolled back with a DEL, so IPAM does not leak (as containerd does).
 * - DEL runs them in reverse with the cached result and the configuration the ADD used; it is
 *   idempotent (plugins treat a missing attachment as deleted) and drops the cache entry.
 * - CHECK runs them in order with the cached result (unless `disableCheck`).
 * - STATUS (1.1 lists) asks each plugin whether it can serve ADDs; VERSION checks, once per
 *   configuration, that every plugin exists and speaks the list's `cniVersion`; GC (1.1 lists,
 *   unless `disableGC`) deletes cached attachments the runtime no longer knows and then lets every
 *   plugin collect its own leftovers.
 *
 * The configuration is read again when it changes, as containerd watches its directory.
 *
 * One extension, as the built-in bridge: attachments may share a network namespace (a Wasm
 * sandbox group hosts the pods of one Kubernetes namespace). A second attachment asking for an
 * interface name already taken in that namespace gets its own: `p` + 8 hex digits of its ID.
 * @module
 */
import { CniError, type CniRequest, type CniResult, type NetworkPlugin } from "../api.ts";
import { netnsName } from "../netns.ts";
import { ip, isExists, isMissing } from "../ip.ts";
import { cachedConfig, type CacheEntry, encodeConfig, ResultCache } from "./cache.ts";
import { type Conflist, loadConflist, parseConflist } from "./conflist.ts";
import { execPlugin } from "./invoke.ts";
import {
  type Attachment,
  type CniCommand,
  invocationEnv,
  parseResult,
  parseVersion,
  pluginStdin,
  versionAtLeast,
} from "./protocol.ts";

export interface CniExecOptions {
  /** Directory of the network configuration (the first .conflist/.conf/.json in lexical order). */
  confDir: string;
  /** Directories of the plugin binaries (CNI_PATH). */
  binDirs: string[];
  /** Where the result cache lives (libcni's /var/lib/cni). */
  cacheDir: string;
  /** Per invocation (default 60 s). */
  timeoutMs?: number;
}

/** What the node learns from a bridge + host-local list: the bridge and its gateway, for the add-ons. */
export interface BridgeFacts {
  bridge?: string;
  gateway?: string;
  subnet?: string;
}

/** The bridge name, gateway and subnet a list's `bridge` and `host-local` plugins configure. */
export function bridgeFacts(list: Conflist): BridgeFacts {
  const out: BridgeFacts = {};
  for (const p of list.plugins) {
    if (p.type === "bridge" && !out.bridge) out.bridge = typeof p.bridge === "string" ? p.bridge : "cni0";
    const ipam = p.ipam as Record<string, unknown> | undefined;
    if (!ipam || ipam.type !== "host-local" || out.subnet) continue;
    const r = (Array.isArray(ipam.ranges) && Array.isArray(ipam.ranges[0]) ? ipam.ranges[0][0] : ipam) as
      | Record<string, unknown>
      | undefined;
    if (typeof r?.subnet !== "string") continue;
    out.subnet = r.subnet;
    out.gateway = typeof r.gateway === "string" ? r.gateway : firstHost(r.subnet);
  }
  return out;
}

function firstHost(cidr: string): string | undefined {
  const m = cidr.match(/^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/);
  if (!m) return undefined;
  const n = ((+m[1] << 24) | (+m[2] << 16) | (+m[3] << 8) | +m[4]) >>> 0;
  const mask = +m[5] === 0 ? 0 : (0xffffffff << (32 - +m[5])) >>> 0;
  const g = ((n & mask) + 1) >>> 0;
  return [g >>> 24, (g >>> 16) & 255, (g >>> 8) & 255, g & 255].join(".");
}

/** The interface name of an attachment that shares its namespace with an earlier one. */
export function sharedIfName(containerId: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < containerId.length; i++) h = Math.imul(h ^ containerId.charCodeAt(i), 0x01000193);
  return `p${(h >>> 0).toString(16).padStart(8, "0")}`;
}

export class CniExecNetwork implements NetworkPlugin {
  readonly opts: CniExecOptions;
  readonly cache: ResultCache;
  #list?: Conflist;
  /** Configurations whose plugins answered VERSION for the list's version (by text). */
  #verified = new Set<string>();
  #locks = new Map<string, Promise<unknown>>();
  #createdBridge = false;

  constructor(opts: CniExecOptions) {
    this.opts = opts;
    this.cache = new ResultCache(opts.cacheDir);
  }

  /** The configuration in use (loaded by `setUp`, re-read on every ADD and STATUS). */
  get list(): Conflist | undefined {
    return this.#list;
  }

  get bridge(): string | undefined {
    return this.#list ? bridgeFacts(this.#list).bridge : undefined;
  }

  /** The pods' gateway (the bridge's address), when the list is bridge + host-local. */
  get gateway(): string {
    return (this.#list && bridgeFacts(this.#list).gateway) ?? "";
  }

  /** The host-local subnet, when there is one. */
  get podCIDR(): string | undefined {
    return this.#list ? bridgeFacts(this.#list).subnet : undefined;
  }

  /**
   * Loads the configuration and, for a bridge + host-local list, creates the bridge with its
   * gateway address as the bridge plugin would on the first ADD (so that the node's add-ons —
   * the cluster DNS on the gateway — can start before any pod). A broken configuration does not
   * stop the node: STATUS reports it (the node is NotReady) and ADDs fail with it.
   */
  async setUp(): Promise<void> {
    try {
      this.#list = await loadConflist(this.opts.confDir);
    } catch (e) {
      console.error(`cni: ${(e as Error).message}`);
      return;
    }
    const f = bridgeFacts(this.#list);
    const isGateway = this.#list.plugins.some((p) => p.type === "bridge" && p.isGateway === true);
    if (!f.bridge || !f.gateway || !f.subnet || !isGateway) return;
    try {
      await ip(["link", "add", f.bridge, "type", "bridge"]);
      this.#createdBridge = true;
    } catch (e) {
      if (!isExists(e)) throw e;
    }
    try {
      await ip(["addr", "add", `${f.gateway}/${f.subnet.split("/")[1]}`, "dev", f.bridge]);
    } catch (e) {
      if (!isExists(e)) throw e;
    }
    await ip(["link", "set", f.bridge, "up"]);
  }

  /** Removes the bridge if `setUp` created it (a bridge the plugins made or found stays, as with the kubelet). */
  async tearDown(): Promise<void> {
    const b = this.bridge;
    if (!b || !this.#createdBridge) return;
    try {
      await ip(["link", "del", b]);
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
  }

  /** Nothing: DEL removed the attachment's interface. */
  detachNamespace(_netns: string): Promise<void> {
    return Promise.resolve();
  }

  async #current(): Promise<Conflist> {
    const list = await loadConflist(this.opts.confDir);
    this.#list = list;
    if (!this.#verified.has(list.raw)) {
      await this.#verifyVersions(list);
      this.#verified.add(list.raw);
    }
    return list;
  }

  async #verifyVersions(list: Conflist): Promise<void> {
    for (const p of list.plugins) {
      const out = await this.#exec(
        p.type,
        "VERSION",
        invocationEnv("VERSION", this.opts.binDirs),
        JSON.stringify({ cniVersion: list.cniVersion }),
      );
      const supported = parseVersion(p.type, out);
      if (!supported.includes(list.cniVersion)) {
        throw new CniError(
          1,
          `plugin ${p.type} does not support cniVersion ${list.cniVersion} of ${list.source} (it supports ${
            supported.join(", ")
          })`,
        );
      }
    }
  }

  #exec(type: string, cmd: CniCommand, env: Record<string, string>, stdin: string): Promise<string> {
    return execPlugin(type, this.opts.binDirs, cmd, env, stdin, this.opts.timeoutMs ?? 60_000);
  }

  #serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.#locks.set(key, tail);
    tail.then(() => {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    });
    return next;
  }

  add(req: CniRequest): Promise<CniResult> {
    return this.#serial(req.netns, async () => {
      const done = await this.cache.find(req.containerId);
      if (done) return done.result; // idempotent ADD
      const list = await this.#current();
      const taken = (await this.cache.list()).some((e) => e.netns === req.netns && e.ifName === req.ifName);
      const att: Attachment = { ...req, ifName: taken ? sharedIfName(req.containerId) : req.ifName };
      let prev: unknown;
      try {
        // The sandbox's loopback is up whatever the list says, as containerd and CRI-O make it
        // (the loopback plugin's DEL would take it down under the other pods of a shared namespace).
        await ip(["-n", netnsName(req.netns), "link", "set", "lo", "up"]);
        for (const p of list.plugins) {
          const out = await this.#exec(
            p.type,
            "ADD",
            invocationEnv("ADD", this.opts.binDirs, att),
            pluginStdin(list, p, { prevResult: prev }),
          );
          prev = parseResult(p.type, out);
        }
      } catch (e) {
        // Roll back what the plugins that ran did (IPAM above all).
        await this.#delList(list, att, prev).catch(() => {});
        throw e;
      }
      const result = prev as CniResult;
      if (!result.ips.length) {
        await this.#delList(list, att, result).catch(() => {});
        throw new CniError(999, `network ${list.name} gave ${req.containerId} no IP address`);
      }
      await this.cache.put({
        kind: "cniCacheV1",
        containerId: req.containerId,
        config: encodeConfig(list.raw),
        ifName: att.ifName,
        networkName: list.name,
        ...(req.args ? { cniArgs: Object.entries(req.args) } : {}),
        result,
        netns: req.netns,
      });
      return result;
    });
  }

  async #delList(list: Conflist, att: Attachment, prevResult: unknown): Promise<void> {
    const gone = !(await exists(att.netns));
    for (const p of [...list.plugins].reverse()) {
      await this.#exec(
        p.type,
        "DEL",
        invocationEnv("DEL", this.opts.binDirs, { ...att, netns: gone ? "" : att.netns }),
        pluginStdin(list, p, { prevResult }),
      );
    }
  }

  del(req: CniRequest): Promise<void> {
    return this.#serial(req.netns, async () => {
      const cached = await this.cache.find(req.containerId);
      const list = cached
        ? parseConflist(cachedConfig(cached), `cached configuration of ${req.containerId}`)
        : await this.#current();
      await this.#delList(list, { ...req, ifName: cached?.ifName ?? req.ifName }, cached?.result);
      if (cached) await this.cache.remove(cached);
    });
  }

  async check(req: CniRequest): Promise<void> {
    const cached = await this.cache.find(req.containerId);
    if (!cached) throw new CniError(100, `no cached result for ${req.containerId}: it was never added`);
    const list = await this.#current();
    if (list.disableCheck) return;
    const att = { ...req, ifName: cached.ifName };
    for (const p of list.plugins) {
      await this.#exec(
        p.type,
        "CHECK",
        invocationEnv("CHECK", this.opts.binDirs, att),
        pluginStdin(list, p, { prevResult: cached.result }),
      );
    }
  }

  async status(): Promise<void> {
    const list = await this.#current();
    if (!versionAtLeast(list.cniVersion, "1.1.0")) return; // STATUS is new in 1.1
    for (const p of list.plugins) {
      await this.#exec(p.type, "STATUS", invocationEnv("STATUS", this.opts.binDirs), pluginStdin(list, p));
    }
  }

  /** The versions every plugin of the list supports (VERSION). */
  async versions(): Promise<Record<string, string[]>> {
    const list = await this.#current();
    const out: Record<string, string[]> = {};
    for (const p of list.plugins) {
      out[p.type] = parseVersion(
        p.type,
        await this.#exec(
          p.type,
          "VERSION",
          invocationEnv("VERSION", this.opts.binDirs),
          JSON.stringify({ cniVersion: list.cniVersion }),
        ),
      );
    }
    return out;
  }

  /**
   * Garbage collection (libcni's GCNetworkList): DEL for every cached attachment whose ID is not
   * in `valid`, then, for 1.1 lists without `disableGC`, GC to every plugin with the attachments
   * that remain valid.
   */
  async gc(valid: Set<string>): Promise<void> {
    const entries = await this.cache.list();
    const errors: string[] = [];
    for (const e of entries.filter((e) => !valid.has(e.containerId))) {
      await this.del({ containerId: e.containerId, netns: e.netns, ifName: e.ifName }).catch((err) =>
        errors.push(err.message)
      );
    }
    const list = await this.#current();
    if (versionAtLeast(list.cniVersion, "1.1.0") && !list.disableGC) {
      const keep = entries.filter((e) => valid.has(e.containerId)).map((e) => ({
        containerID: e.containerId,
        ifname: e.ifName,
      }));
      for (const p of list.plugins) {
        await this.#exec(
          p.type,
          "GC",
          invocationEnv("GC", this.opts.binDirs),
          pluginStdin(list, p, { validAttachments: keep }),
        )
          .catch((err) => errors.push(err.message));
      }
    }
    if (errors.length) throw new CniError(999, `CNI GC: ${errors.join("; ")}`);
  }
}

async function exists(path: string): Promise<boolean> {
  if (!path) return false;
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

export type { CacheEntry };
