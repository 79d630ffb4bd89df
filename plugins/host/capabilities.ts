/**
 * The host capabilities, as imports of one plugin instance, built from its grants. Nothing is
 * granted by default: a call to a capability the Plugin was not granted throws
 * {@linkcode CapabilityDenied}, which unwinds the guest, fails the call with reason
 * `CapabilityDenied` and recycles the instance. A granted capability past its bounds answers
 * `error::denied` (the plugin may handle it). The pure bound checks of the node-side
 * capabilities (`host-net`, `host-mount`, `host-process`) live here too; their effects are the
 * node agent's.
 * @module
 */
import type { Capability, Grant } from "../../control/api/plugins.ts";
import { CapabilityDenied } from "./protocol.ts";

/** Where capability effects go. */
export interface CapabilitySinks {
  log(level: string, message: string): void;
  /** Persists the state store (sync; the plugin is waiting). */
  saveState?(entries: [string, Uint8Array][]): void;
  loadState?(): [string, Uint8Array][];
  now?(): number;
  /**
   * Performs a node-side capability call on the host (a nested host call; synchronous for the
   * guest). Absent on the plugin host: a granted node-side capability then answers `denied`.
   */
  hostCall?(capability: string, fn: string, args: unknown[]): unknown;
  /** Sees each state store operation the guest makes (start-up tracing; absent: nothing). */
  traceState?(fn: "get" | "set" | "delete" | "list-keys", key: string, bytes: number): void;
}

/** The node-side capabilities and their WIT functions (performed by the host, bounds checked there). */
export const NODE_CAPABILITIES: Record<"host-net" | "host-mount" | "host-process", string[]> = {
  "host-net": ["create-veth", "add-address", "delete-address", "list-addresses", "add-route", "set-link-up", "delete-link", "add-nft-rule", "wire-veth"],
  "host-mount": ["bind-mount", "unmount", "make-dir", "remove-dir"],
  "host-process": ["exec"],
};

function num(b: Record<string, unknown> | undefined, key: string, dflt: number): number {
  const v = b?.[key];
  return typeof v === "number" && v >= 0 ? v : dflt;
}

function denied(plugin: string, cap: Capability, fn: string): never {
  throw new CapabilityDenied(
    `plugin "${plugin}" called skiff:host/${cap}.${fn}, which is not granted (add {capability: ${cap}} to spec.grants)`,
  );
}

/** The `skiff:host/*` imports of one instance (unversioned keys, as jco looks them up). */
export function capabilityImports(
  plugin: string,
  grants: readonly Grant[],
  sinks: CapabilitySinks,
): Record<string, Record<string, unknown>> {
  const grant = (c: Capability) => grants.find((g) => g.capability === c);
  const now = sinks.now ?? Date.now;
  const logGrant = grant("log");
  const maxBytes = num(logGrant?.bounds, "maxBytesPerCall", 4096);
  const maxLines = num(logGrant?.bounds, "maxLinesPerMinute", 600);
  let window = 0;
  let lines = 0;
  const log = {
    write(level: string, message: string) {
      if (!logGrant) denied(plugin, "log", "write");
      const minute = Math.floor(now() / 60_000);
      if (minute !== window) [window, lines] = [minute, 0];
      if (++lines > maxLines) return;
      sinks.log(level, message.length > maxBytes ? message.slice(0, maxBytes) + "…" : message);
    },
  };

  const stateGrant = grant("state");
  const maxKeys = num(stateGrant?.bounds, "maxKeys", 1024);
  const maxStateBytes = num(stateGrant?.bounds, "maxBytes", 1024 * 1024);
  const store = new Map<string, Uint8Array>(stateGrant ? sinks.loadState?.() ?? [] : []);
  /** Bytes held (keys and values), kept up to date rather than summed at every `set`. */
  let size = 0;
  for (const [k, v] of store) size += k.length + v.byteLength;
  const need = (fn: string) => {
    if (!stateGrant) denied(plugin, "state", fn);
  };
  const save = () => sinks.saveState?.([...store]);
  const seen = sinks.traceState;
  const state = {
    get(key: string) {
      need("get");
      const v = store.get(key);
      seen?.("get", key, v?.byteLength ?? 0);
      return v;
    },
    set(key: string, value: Uint8Array) {
      need("set");
      seen?.("set", key, value.byteLength);
      const grows = !store.has(key);
      if (grows && store.size >= maxKeys) throw { tag: "denied", val: `the state store is full (${maxKeys} keys)` };
      const old = store.get(key);
      const after = size - (old ? key.length + old.byteLength : 0) + key.length + value.byteLength;
      if (after > maxStateBytes) throw { tag: "denied", val: `the state store would exceed ${maxStateBytes} bytes` };
      store.set(key, value.slice());
      size = after;
      save();
    },
    delete(key: string) {
      need("delete");
      seen?.("delete", key, 0);
      const old = store.get(key);
      if (old && store.delete(key)) {
        size -= key.length + old.byteLength;
        save();
      }
    },
    listKeys(prefix: string) {
      need("list-keys");
      seen?.("list-keys", prefix, 0);
      return [...store.keys()].filter((k) => k.startsWith(prefix)).sort();
    },
  };
  // Node-side capabilities: performed by the host (nested host calls), which checks the bounds;
  // ungranted ones unwind the guest here, before anything crosses the pipe.
  const nodeSide = (cap: keyof typeof NODE_CAPABILITIES) =>
    Object.fromEntries(NODE_CAPABILITIES[cap].map((f) => [
      f.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()),
      (...args: unknown[]) => {
        if (!grant(cap)) denied(plugin, cap, f);
        if (!sinks.hostCall) throw { tag: "denied", val: `${cap} is performed by node agents; this host does not provide it` };
        return sinks.hostCall(cap, f, args);
      },
    ]));
  return {
    "skiff:host/types": {},
    "skiff:host/log": log,
    "skiff:host/state": state,
    "skiff:host/host-net": nodeSide("host-net"),
    "skiff:host/host-mount": nodeSide("host-mount"),
    "skiff:host/host-process": nodeSide("host-process"),
  };
}

/** `host-mount` bound: `path` (absolute, normalized) lies under `root`. Pure. */
export function underRoot(root: string, path: string): boolean {
  if (!path.startsWith("/") || path.split("/").includes("..")) return false;
  const r = root.replace(/\/+$/, "");
  const p = path.replace(/\/+$/, "");
  return p.startsWith(`${r}/`);
}

/** `host-process` bound: the binary is an allow-listed absolute path. Pure. */
export function allowedBinary(allow: readonly string[], binary: string): boolean {
  return binary.startsWith("/") && allow.includes(binary);
}

function ipv4(s: string): number | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

/** `host-net` bound: the address or route (CIDR) lies inside one of the granted pod CIDRs. Pure. */
export function insideCidrs(cidrs: readonly string[], cidr: string): boolean {
  const [addr, lenText = "32"] = cidr.split("/");
  const a = ipv4(addr);
  const len = Number(lenText);
  if (a === null || !(len >= 0 && len <= 32)) return false;
  return cidrs.some((c) => {
    const [net, nl] = c.split("/");
    const n = ipv4(net);
    const l = Number(nl);
    if (n === null || !(l >= 0 && l <= 32) || len < l) return false;
    const mask = l === 0 ? 0 : (~0 << (32 - l)) >>> 0;
    return ((a & mask) >>> 0) === ((n & mask) >>> 0);
  });
}
