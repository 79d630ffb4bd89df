/**
 * Built-in storage plugin `local-path` (CSI driver `local-path.skiff.dev`), as rancher's
 * local-path-provisioner with a CSI face: a volume is a directory on the node. Everything on the
 * node's filesystem goes through `skiff:host/host-mount` (grant `host-mount`, bounded to the
 * node's volume roots; `hostPaths: true` for the hostPath volumes below), the record of the
 * volumes it created through `skiff:host/state` (grant `state`):
 *
 * - `v/<name>` → `<capacity bytes> <directory>`; `d/<directory>` → `<name>`.
 *
 * Controller: `create-volume(name)` makes `<parent>/<name>` (parent: the class parameter
 * `nodePath`, default the setting `root`), idempotent by name; `delete-volume(id)` removes a
 * directory it created (an unknown id succeeds); `controller-expand-volume` records the new size
 * (a directory has no size of its own). Node: `node-stage-volume` bind-mounts the volume
 * directory on the staging path (the node's global mount); `node-publish-volume` bind-mounts the
 * staging path (or the directory) on the pod's target, read-only when asked; unpublish and
 * unstage unmount and remove what publish and stage made. All are idempotent.
 *
 * Node-local volume kinds go through the same node verbs, named by the volume context `type`:
 * `emptyDir` (publish makes the target directory; unpublish removes it and its data) and
 * `hostPath` (`path`: publish bind-mounts it on the target).
 *
 * Settings (`spec.config`, plus what the node adds): `nodeId` (this node's name, for the
 * topology), `root` (where new volumes go).
 * @module
 */
import { bindMount, makeDir, removeDir, unmount } from "skiff:host/host-mount@0.1.0";
import { write } from "skiff:host/log@0.1.0";
import { delete as remove, get, set } from "skiff:host/state@0.1.0";
import type { Capabilities, NodeInfo, PluginInfo, Volume, VolumeCapability } from "skiff:storage/types@0.1.0";

const DRIVER = "local-path.skiff.dev";
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

let nodeId = "";
let root = "";

// QuickJS has no TextEncoder: keys and values are ASCII (paths are checked to be).
const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const dec = (b: Uint8Array) => String.fromCharCode(...b);

type Tag = "invalid-argument" | "not-found" | "failed-precondition" | "unimplemented" | "internal";
function fail(tag: Tag, val: string): never {
  throw { tag, val };
}

/** The message of a failed host call (jco throws the `error` variant, or an Error carrying it). */
function why(e: unknown): string {
  const p = (e as { payload?: { val?: unknown } })?.payload ?? e;
  const v = (p as { val?: unknown })?.val;
  if (typeof v === "string") return v;
  return e instanceof Error ? e.message : String(e);
}

function absolute(path: string, what: string): string {
  if (!path.startsWith("/") || path.split("/").includes("..") || !/^[\x20-\x7e]+$/.test(path)) {
    fail("invalid-argument", `${what} "${path}" must be an absolute path`);
  }
  return path.replace(/\/+$/, "");
}

function text(key: string): string | undefined {
  const v = get(key);
  return v ? dec(v) : undefined;
}

function record(name: string): { bytes: number; dir: string } | undefined {
  const t = text(`v/${name}`);
  if (t === undefined) return undefined;
  const at = t.indexOf(" ");
  return { bytes: Number(t.slice(0, at)), dir: t.slice(at + 1) };
}

function volume(dir: string, bytes: bigint | number): Volume {
  return {
    volumeId: dir,
    capacityBytes: bytes as bigint,
    volumeContext: [["path", dir]],
    accessibleTopology: nodeId ? [[["kubernetes.io/hostname", nodeId]]] : [],
  };
}

const context = (ctx: [string, string][]) => new Map(ctx);

export const identity = {
  configure(settings: string): void {
    let s: { nodeId?: unknown; root?: unknown };
    try {
      s = JSON.parse(settings || "{}");
    } catch {
      fail("invalid-argument", "settings are not JSON");
    }
    if (s.nodeId !== undefined && typeof s.nodeId !== "string") {
      fail("invalid-argument", "nodeId must be a string");
    }
    if (s.root !== undefined && typeof s.root !== "string") fail("invalid-argument", "root must be a string");
    nodeId = (s.nodeId as string) ?? "";
    root = s.root ? absolute(s.root as string, "root") : "";
  },
  getPluginInfo(): PluginInfo {
    return { name: DRIVER, vendorVersion: "0.1.0", manifest: [] };
  },
  getPluginCapabilities(): Capabilities {
    return {
      controllerService: true,
      createDeleteVolume: true,
      publishUnpublishVolume: false,
      stageUnstageVolume: true,
      expandVolume: true,
      volumeAccessibilityConstraints: true,
    };
  },
  probe(): boolean {
    return true;
  },
};

export const controller = {
  createVolume(
    name: string,
    capacityBytes: bigint,
    _caps: VolumeCapability[],
    parameters: [string, string][],
  ): Volume {
    if (!NAME.test(name)) fail("invalid-argument", `invalid volume name "${name}"`);
    const have = record(name);
    if (have) return volume(have.dir, capacityBytes);
    const params = new Map(parameters);
    for (const k of params.keys()) {
      if (k !== "nodePath" && !k.startsWith("csi.storage.k8s.io/")) {
        fail("invalid-argument", `unknown parameter "${k}" (local-path knows nodePath)`);
      }
    }
    const parent = params.has("nodePath") ? absolute(params.get("nodePath")!, "nodePath") : root;
    if (!parent) {
      fail("failed-precondition", "no volume root: set nodePath in the StorageClass or root in the settings");
    }
    const dir = `${parent}/${name}`;
    try {
      makeDir(dir);
    } catch (e) {
      fail("internal", `failed to create volume directory ${dir}: ${why(e)}`);
    }
    set(`v/${name}`, enc(`${Number(capacityBytes)} ${dir}`));
    set(`d/${dir}`, enc(name));
    write("info", `created volume ${name} at ${dir}`);
    return volume(dir, capacityBytes);
  },
  deleteVolume(volumeId: string): void {
    const name = text(`d/${volumeId}`);
    if (name === undefined) return; // not ours, or deleted already
    try {
      removeDir(volumeId);
    } catch (e) {
      fail("internal", `failed to delete volume directory ${volumeId}: ${why(e)}`);
    }
    remove(`v/${name}`);
    remove(`d/${volumeId}`);
    write("info", `deleted volume ${name} at ${volumeId}`);
  },
  controllerPublishVolume(): [string, string][] {
    fail("unimplemented", "local-path volumes need no attach step (no PUBLISH_UNPUBLISH_VOLUME)");
  },
  controllerUnpublishVolume(): void {
    fail("unimplemented", "local-path volumes need no attach step (no PUBLISH_UNPUBLISH_VOLUME)");
  },
  controllerExpandVolume(volumeId: string, capacityBytes: bigint): bigint {
    const name = text(`d/${volumeId}`);
    if (name === undefined) fail("not-found", `volume ${volumeId} was not created by ${DRIVER}`);
    const r = record(name)!;
    if (Number(capacityBytes) > r.bytes) set(`v/${name}`, enc(`${Number(capacityBytes)} ${r.dir}`));
    return capacityBytes;
  },
};

function mount(source: string, target: string, readOnly: boolean): void {
  try {
    bindMount(source, target, readOnly);
  } catch (e) {
    fail("internal", `bind mount of ${source} on ${target} failed: ${why(e)}`);
  }
}

function unmountAndRemove(target: string): void {
  try {
    unmount(target);
    removeDir(target);
  } catch (e) {
    fail("internal", `unmount of ${target} failed: ${why(e)}`);
  }
}

export const node = {
  nodeStageVolume(
    volumeId: string,
    staging: string,
    _cap: VolumeCapability,
    _pub: [string, string][],
    ctx: [string, string][],
  ): void {
    const c = context(ctx);
    if (c.get("type") === "emptyDir" || c.get("type") === "hostPath") return;
    mount(absolute(volumeId, "volume id"), absolute(staging, "staging path"), false);
  },
  nodeUnstageVolume(_volumeId: string, staging: string): void {
    unmountAndRemove(absolute(staging, "staging path"));
  },
  nodePublishVolume(
    volumeId: string,
    staging: string | undefined,
    target: string,
    _cap: VolumeCapability,
    readonly: boolean,
    ctx: [string, string][],
  ): void {
    const c = context(ctx);
    const t = absolute(target, "target path");
    switch (c.get("type")) {
      case "emptyDir":
        try {
          makeDir(t);
        } catch (e) {
          fail("internal", `failed to create emptyDir ${t}: ${why(e)}`);
        }
        return;
      case "hostPath":
        return mount(absolute(c.get("path") ?? "", "hostPath path"), t, readonly);
      case undefined:
        return mount(
          staging ? absolute(staging, "staging path") : absolute(volumeId, "volume id"),
          t,
          readonly,
        );
      default:
        fail("invalid-argument", `unknown volume type "${c.get("type")}"`);
    }
  },
  nodeUnpublishVolume(_volumeId: string, target: string): void {
    unmountAndRemove(absolute(target, "target path"));
  },
  nodeGetInfo(): NodeInfo {
    return {
      nodeId,
      maxVolumesPerNode: 0,
      accessibleTopology: nodeId ? [["kubernetes.io/hostname", nodeId]] : [],
    };
  },
};
