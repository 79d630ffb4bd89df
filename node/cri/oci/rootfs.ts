/**
 * A container's root filesystem over its image's layer directories, without copying them:
 *
 * - **overlay** (the default where the kernel has overlayfs): the layers are the read-only lower
 *   directories, `<bundle>/upper` takes the container's writes; mounted inside the agent's mount
 *   namespace (invisible to the host) by its spawner's mount(2), unmounted when the container is
 *   removed. Cost: one mount(2), no process.
 * - **copy** (the fallback where overlayfs cannot be mounted, e.g. on a file system overlayfs
 *   does not accept as upper layer): the layers are copied into `<bundle>/rootfs`, bottom first,
 *   applying whiteouts and opaque directories. Cost: every byte of the image, per container
 *   (measured in tests/bench/containers.ts).
 *
 * Also reads single files of an image (`/etc/passwd`) straight from the layer directories.
 * @module
 */
import { getXattr } from "../../mountns/libc.ts";
import type { MountNamespace } from "../../mountns/mount_ns.ts";

export type RootfsMode = "overlay" | "copy";

/** Whether overlayfs works here: the kernel has it and a trial mount in `scratch` succeeds. */
export async function overlaySupported(ns: MountNamespace, scratch: string): Promise<boolean> {
  try {
    const fs = await Deno.readTextFile("/proc/filesystems");
    if (!/\toverlay$/m.test(fs)) return false;
  } catch {
    return false;
  }
  const dir = `${scratch}/overlay-probe-${crypto.randomUUID().slice(0, 8)}`;
  try {
    for (const d of ["l", "u", "w", "m"]) await Deno.mkdir(`${dir}/${d}`, { recursive: true });
    await ns.mount({ source: "overlay", target: "m", fstype: "overlay", data: "lowerdir=l,upperdir=u,workdir=w", wd: dir });
    await ns.unmount(`${dir}/m`);
    return true;
  } catch {
    return false;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** A container's overlay rootfs mount: the layers (topmost last) under `<bundle>/upper`. Pure. */
export function overlayMount(layerNames: string[], bundle: string): OverlayMount {
  const lower = [...layerNames].reverse().join(":"); // topmost first
  return {
    source: "overlay",
    target: `${bundle}/rootfs`,
    fstype: "overlay",
    data: `lowerdir=${lower},upperdir=${bundle}/upper,workdir=${bundle}/work`,
  };
}

/** What `MountNamespace.mount` takes for an overlay rootfs. */
export interface OverlayMount {
  source: string;
  target: string;
  fstype: string;
  data: string;
}

/**
 * The shell command that mounts the overlay (run with the layers directory as working directory,
 * so lower directories are short relative names: the mount options must fit in one page).
 */
export function overlayMountCommand(layerNames: string[], bundle: string): string {
  const m = overlayMount(layerNames, bundle);
  return `mount -t overlay overlay -o '${m.data}' '${m.target}'`;
}

/** Unmounts a container's rootfs inside the namespace (lazily; idempotent). */
export async function unmountRootfs(ns: MountNamespace, rootfs: string): Promise<void> {
  await ns.unmount(rootfs, { detach: true }).catch(() => {});
}

async function lstat(p: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(p);
  } catch {
    return undefined;
  }
}

function isWhiteout(st: Deno.FileInfo): boolean {
  return st.isCharDevice === true && (st.rdev ?? 0) === 0;
}

/** Copies one layer directory onto `dst`, applying its whiteouts and opaque directories. */
export async function copyLayer(src: string, dst: string): Promise<void> {
  for await (const e of Deno.readDir(src)) {
    const s = `${src}/${e.name}`;
    const d = `${dst}/${e.name}`;
    const st = await Deno.lstat(s);
    if (isWhiteout(st)) {
      await Deno.remove(d, { recursive: true }).catch(() => {});
      continue;
    }
    const existing = await lstat(d);
    if (st.isDirectory) {
      if (existing && !existing.isDirectory) await Deno.remove(d, { recursive: true });
      if (existing?.isDirectory && getXattr(s, "trusted.overlay.opaque") === "y") {
        await Deno.remove(d, { recursive: true });
      }
      if (!(await lstat(d))) await Deno.mkdir(d);
      await copyLayer(s, d);
      await Deno.chmod(d, st.mode! & 0o7777);
      await Deno.chown(d, st.uid, st.gid);
      continue;
    }
    if (existing) await Deno.remove(d, { recursive: true });
    if (st.isSymlink) await Deno.symlink(await Deno.readLink(s), d);
    else if (st.isFile) {
      await Deno.copyFile(s, d);
      await Deno.chown(d, st.uid, st.gid);
      await Deno.chmod(d, st.mode! & 0o7777);
    }
    // FIFOs are not carried over in copy mode.
  }
}

/** Builds `<rootfs>` by copying the layers, bottom first (the fallback mode). */
export async function copyRootfs(layerDirs: string[], rootfs: string): Promise<void> {
  for (const l of layerDirs) await copyLayer(l, rootfs);
}

/**
 * Reads `path` (absolute, inside the image) from the layers, topmost first: the first layer that
 * has it (or a whiteout of it, or an opaque parent) decides. Undefined when the image lacks it.
 */
export async function readImageFile(layerDirs: string[], path: string): Promise<string | undefined> {
  const parts = path.split("/").filter(Boolean);
  for (let i = layerDirs.length - 1; i >= 0; i--) {
    const st = await lstat(`${layerDirs[i]}/${parts.join("/")}`);
    if (st) {
      if (isWhiteout(st) || !st.isFile) return undefined;
      return await Deno.readTextFile(`${layerDirs[i]}/${parts.join("/")}`);
    }
    // An opaque parent directory hides every lower layer.
    for (let k = parts.length - 1; k > 0; k--) {
      const dir = `${layerDirs[i]}/${parts.slice(0, k).join("/")}`;
      const dst = await lstat(dir);
      if (dst && isWhiteout(dst)) return undefined;
      if (dst?.isDirectory && getXattr(dir, "trusted.overlay.opaque") === "y") return undefined;
    }
  }
  return undefined;
}
