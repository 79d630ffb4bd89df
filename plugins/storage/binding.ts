/**
 * The storage kind's guest side: {@linkcode storageOps} run in the runner on the plugin's
 * `identity`, `controller` and `node` exports (CSI verbs over `skiff:storage@0.1.0`, jco's
 * camelCase), plus the shapes both sides share. Pure.
 *
 * A CSI error (`error::not-found`, `error::internal`, ...) is an answer, not a plugin failure:
 * the op returns it as `{ error: { tag, val } }` (so the caller gets the code and the plugin's
 * own message, and the instance is not recycled), and {@linkcode unwrapStorage} turns it into a
 * {@linkcode StorageError} on the host. Traps, timeouts, ungranted capabilities and malformed
 * answers stay plugin failures (PluginCallError). u64 values cross the runner pipe as JSON
 * numbers and reach the guest as BigInt.
 * @module
 */
import { type GuestOps, MalformedResult } from "../host/protocol.ts";

/** The WIT `error` tags (CSI's gRPC codes). */
export const STORAGE_ERRORS = [
  "invalid-argument",
  "not-found",
  "already-exists",
  "resource-exhausted",
  "failed-precondition",
  "unimplemented",
  "denied",
  "internal",
] as const;
export type StorageErrorTag = typeof STORAGE_ERRORS[number];

/** A CSI error a storage plugin answered: `tag` is the code, the message the plugin's. */
export class StorageError extends Error {
  override name = "StorageError";
  constructor(readonly tag: StorageErrorTag, message: string) {
    super(message);
  }
}

/** The WIT `volume-capability`. */
export interface VolumeCapability {
  accessType: string;
  fsType: string;
  mountFlags: string[];
  accessMode: string;
}

/** The WIT `volume` (capacity as a number on the host). */
export interface CsiVolume {
  volumeId: string;
  capacityBytes: number;
  volumeContext: [string, string][];
  accessibleTopology: [string, string][][];
}

/** The WIT `capabilities`. */
export interface StorageCapabilities {
  controllerService: boolean;
  createDeleteVolume: boolean;
  publishUnpublishVolume: boolean;
  stageUnstageVolume: boolean;
  expandVolume: boolean;
  volumeAccessibilityConstraints: boolean;
}

/** The capability of a mounted (filesystem) volume with upstream's access mode. Pure. */
export function mountCapability(accessMode: string | undefined): VolumeCapability {
  const modes: Record<string, string> = {
    ReadWriteOnce: "single-node-writer",
    ReadOnlyMany: "multi-node-reader-only",
    ReadWriteMany: "multi-node-multi-writer",
    ReadWriteOncePod: "single-node-single-writer",
  };
  return {
    accessType: "mount",
    fsType: "",
    mountFlags: [],
    accessMode: modes[accessMode ?? ""] ?? "single-node-writer",
  };
}

/** An op's answer: the value, or the plugin's CSI error. */
export type StorageAnswer<T> = { ok: T } | { error: { tag: StorageErrorTag; val: string } };

/** The value of an answer; throws {@linkcode StorageError} for a CSI error. */
export function unwrapStorage<T>(answer: unknown): T {
  const a = answer as StorageAnswer<T>;
  if (a && typeof a === "object" && "error" in a) throw new StorageError(a.error.tag, a.error.val);
  if (a && typeof a === "object" && "ok" in a) return a.ok;
  throw new StorageError("internal", `malformed answer from the storage plugin: ${JSON.stringify(answer)}`);
}

function csiError(e: unknown): { tag: StorageErrorTag; val: string } | null {
  const p = (e as { payload?: unknown })?.payload ?? e;
  if (!p || typeof p !== "object" || e instanceof MalformedResult) return null;
  const { tag, val } = p as { tag?: unknown; val?: unknown };
  if (typeof tag !== "string" || !(STORAGE_ERRORS as readonly string[]).includes(tag)) return null;
  return { tag: tag as StorageErrorTag, val: typeof val === "string" ? val : JSON.stringify(val) };
}

type Fn = (...a: unknown[]) => unknown;

/** Calls a guest function; a CSI error becomes an answer, anything else propagates. */
function answer(
  f: unknown,
  name: string,
  args: unknown[],
  out: (v: unknown) => unknown = (v) => v,
): StorageAnswer<unknown> {
  if (typeof f !== "function") throw new MalformedResult(`the plugin does not export ${name}`);
  try {
    return { ok: out((f as Fn)(...args)) ?? null };
  } catch (e) {
    const err = csiError(e);
    if (err) return { error: err };
    throw e;
  }
}

const big = (n: unknown) => BigInt(Math.max(0, Math.floor(Number(n ?? 0))));

function checkVolume(v: unknown): CsiVolume {
  const r = v as Record<string, unknown>;
  if (!r || typeof r.volumeId !== "string" || !r.volumeId) {
    throw new MalformedResult("create-volume answered no volume-id");
  }
  return {
    volumeId: r.volumeId,
    capacityBytes: Number(r.capacityBytes ?? 0),
    volumeContext: (r.volumeContext as [string, string][] | undefined) ?? [],
    accessibleTopology: (r.accessibleTopology as [string, string][][] | undefined) ?? [],
  };
}

function checkCapabilities(c: unknown): StorageCapabilities {
  const r = c as Record<string, unknown>;
  const keys = [
    "controllerService",
    "createDeleteVolume",
    "publishUnpublishVolume",
    "stageUnstageVolume",
    "expandVolume",
    "volumeAccessibilityConstraints",
  ];
  if (!r || keys.some((k) => typeof r[k] !== "boolean")) {
    throw new MalformedResult("get-plugin-capabilities answered something else than flags");
  }
  return r as unknown as StorageCapabilities;
}

const opt = (s: unknown) => (typeof s === "string" ? s : undefined);

/** The storage kind's operations, as the runner calls them (answers: {@linkcode StorageAnswer}). */
export const storageOps: GuestOps = {
  // `configure` throws: a refused configuration fails the load (ConfigInvalid).
  configure: (p, settings: string) => (p.configure as Fn)(settings),
  getPluginInfo: (p) =>
    answer(p.getPluginInfo, "get-plugin-info", [], (v) => {
      const r = v as { name?: unknown };
      if (typeof r?.name !== "string" || !r.name) {
        throw new MalformedResult("get-plugin-info answered no name");
      }
      return v;
    }),
  getPluginCapabilities: (p) =>
    answer(p.getPluginCapabilities, "get-plugin-capabilities", [], checkCapabilities),
  probe: (p) => answer(p.probe, "probe", []),
  createVolume: (p, name: string, bytes: number, caps: VolumeCapability[], params: [string, string][]) =>
    answer(p.createVolume, "create-volume", [name, big(bytes), caps, params], checkVolume),
  deleteVolume: (p, id: string) => answer(p.deleteVolume, "delete-volume", [id]),
  controllerPublishVolume: (
    p,
    id: string,
    nodeId: string,
    cap: VolumeCapability,
    ro: boolean,
    ctx: [string, string][],
  ) => answer(p.controllerPublishVolume, "controller-publish-volume", [id, nodeId, cap, ro, ctx]),
  controllerUnpublishVolume: (p, id: string, nodeId: string) =>
    answer(p.controllerUnpublishVolume, "controller-unpublish-volume", [id, nodeId]),
  controllerExpandVolume: (p, id: string, bytes: number) =>
    answer(p.controllerExpandVolume, "controller-expand-volume", [id, big(bytes)], (v) => Number(v)),
  nodeStageVolume: (
    p,
    id: string,
    staging: string,
    cap: VolumeCapability,
    pub: [string, string][],
    ctx: [string, string][],
  ) => answer(p.nodeStageVolume, "node-stage-volume", [id, staging, cap, pub, ctx]),
  nodeUnstageVolume: (p, id: string, staging: string) =>
    answer(p.nodeUnstageVolume, "node-unstage-volume", [id, staging]),
  nodePublishVolume: (
    p,
    id: string,
    staging: string | null,
    target: string,
    cap: VolumeCapability,
    ro: boolean,
    ctx: [string, string][],
  ) => answer(p.nodePublishVolume, "node-publish-volume", [id, opt(staging), target, cap, ro, ctx]),
  nodeUnpublishVolume: (p, id: string, target: string) =>
    answer(p.nodeUnpublishVolume, "node-unpublish-volume", [id, target]),
  nodeGetInfo: (p) => answer(p.nodeGetInfo, "node-get-info", []),
};
