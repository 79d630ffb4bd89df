/**
 * The `host-mount` capability's effects (`skiff:host/host-mount@0.1.0`), performed by the node
 * agent for a storage plugin, with its bounds checked here, at the edge:
 *
 * - every path is absolute, without `..`, and is judged after resolving symlinks (a path that
 *   does not exist yet: its nearest existing ancestor, plus the rest);
 * - targets (`bind-mount`'s target, `unmount`, `make-dir`, `remove-dir`) lie strictly under one
 *   of the granted roots (never a root itself);
 * - `bind-mount` sources lie under a root too, unless the grant has `hostPaths: true` (hostPath
 *   volumes and static `hostPath`/`local` PersistentVolumes, which name any directory);
 * - `remove-dir` refuses a tree with a mount point in it (it would delete the mounted data).
 *
 * Paths are resolved, checked and then used resolved; a pod that swaps a path component for a
 * symlink between the check and the mount could still race it (the plugin itself cannot: it has
 * no filesystem access).
 *
 * The granted roots are the Plugin's `bounds.root` (a path or a list) narrowed to the node's
 * volume roots; without `root`, the node's volume roots (`<data-dir>/kubelet` and
 * `<data-dir>/storage`). Mounts are real bind mounts (node/mountns/libc.ts), read-only from birth
 * when asked. `bind-mount` creates a missing target (a directory, or an empty file when the
 * source is a file) and is idempotent: a target that already is a mount point is left alone.
 *
 * The node's volume roots are shared mounts ({@linkcode ensureSharedRoot}), so the bind mounts
 * made here in the agent's namespace (where Wasm pods run) propagate into crun's private mount
 * namespace (node/mountns/mount_ns.ts), which is a slave of the host's.
 * @module
 */
import type { Grant } from "../../control/api/plugins.ts";
import { underRoot } from "../../plugins/host/capabilities.ts";
import { hostDenied, hostFailed, type HostFunctions, hostInvalid } from "../../plugins/host/host_calls.ts";
import { bindMount, makeSharedMount, OsError, unmount } from "../mountns/libc.ts";
import { isMountPoint, parseMountInfo } from "../mountns/mount_ns.ts";

/** The WIT `skiff:host/types.error` variant, as host imports throw it. */
export class HostMountError extends Error {
  override name = "HostMountError";
  constructor(readonly tag: "denied" | "invalid" | "failed", message: string) {
    super(message);
  }
  get val(): string {
    return this.message;
  }
}

/** The bounds of one grant, resolved for this node. */
export interface HostMountBounds {
  /** Absolute, symlink-free roots. */
  roots: string[];
  /** Bind-mount sources may lie anywhere (hostPath volumes). */
  hostPaths: boolean;
}

/**
 * The grant's bounds on this node: `bounds.root` (string or list), each of which must lie in (or
 * be) one of the node's volume roots; absent, the node's roots. Throws HostMountError `denied`
 * for a root outside the node's. Pure.
 */
export function resolveBounds(
  bounds: Record<string, unknown> | undefined,
  nodeRoots: string[],
): HostMountBounds {
  const asked = bounds?.root === undefined ? nodeRoots : ([] as unknown[]).concat(bounds.root);
  const roots = asked.map((r) => {
    if (typeof r !== "string" || !r.startsWith("/")) {
      throw new HostMountError("invalid", `host-mount root ${JSON.stringify(r)} is not an absolute path`);
    }
    const clean = r.replace(/\/+$/, "");
    if (!nodeRoots.some((n) => n === clean || underRoot(n, clean))) {
      throw new HostMountError(
        "denied",
        `host-mount root ${clean} is outside this node's volume roots (${nodeRoots.join(", ")})`,
      );
    }
    return clean;
  });
  return { roots, hostPaths: bounds?.hostPaths === true };
}

/** `path` with symlinks resolved; for a missing path, its nearest existing ancestor's, plus the rest. */
export function resolvePath(path: string): string {
  if (!path.startsWith("/") || path.split("/").includes("..")) {
    throw new HostMountError("invalid", `${JSON.stringify(path)} is not an absolute path without ".."`);
  }
  const parts = path.split("/").filter(Boolean);
  for (let i = parts.length; i >= 0; i--) {
    try {
      const base = Deno.realPathSync(`/${parts.slice(0, i).join("/")}`);
      return [base.replace(/\/$/, ""), ...parts.slice(i)].join("/") || "/";
    } catch { /* go up */ }
  }
  return path;
}

function mountPoints(): string[] {
  return parseMountInfo(Deno.readTextFileSync("/proc/self/mountinfo")).map((m) => m.mountPoint);
}

function failed(what: string, e: unknown): HostMountError {
  return new HostMountError(
    "failed",
    `${what}: ${e instanceof OsError || e instanceof Error ? e.message : String(e)}`,
  );
}

/** The effects of one plugin's `host-mount` grant. Methods are synchronous (the guest waits). */
export class HostMount {
  readonly bounds: HostMountBounds;

  constructor(bounds: HostMountBounds) {
    this.bounds = bounds;
  }

  /** The resolved path, if it lies strictly under a root; throws `denied` otherwise. */
  #inside(path: string, what: string): string {
    const real = resolvePath(path);
    if (!this.bounds.roots.some((r) => underRoot(r, real))) {
      throw new HostMountError(
        "denied",
        `${what} ${path}${real !== path ? ` (${real})` : ""} is outside the granted root ${
          this.bounds.roots.join(", ")
        }`,
      );
    }
    return real;
  }

  bindMount(source: string, target: string, readOnly: boolean): void {
    const src = this.bounds.hostPaths ? resolvePath(source) : this.#inside(source, "source");
    const dst = this.#inside(target, "target");
    let st: Deno.FileInfo;
    try {
      st = Deno.statSync(src);
    } catch (e) {
      throw failed(`source ${source}`, e);
    }
    if (isMountPoint(dst)) return;
    try {
      const have = Deno.statSync(dst);
      if (have.isDirectory !== st.isDirectory) {
        throw new HostMountError(
          "failed",
          `target ${target} exists and is not a ${st.isDirectory ? "directory" : "file"}`,
        );
      }
    } catch (e) {
      if (e instanceof HostMountError) throw e;
      try {
        if (st.isDirectory) Deno.mkdirSync(dst, { recursive: true });
        else {
          Deno.mkdirSync(dst.slice(0, dst.lastIndexOf("/")), { recursive: true });
          Deno.writeFileSync(dst, new Uint8Array(), { mode: 0o644 });
        }
      } catch (e2) {
        throw failed(`target ${target}`, e2);
      }
    }
    try {
      bindMount(src, dst, readOnly);
    } catch (e) {
      throw failed(`bind mount of ${source} on ${target}`, e);
    }
  }

  unmount(target: string): void {
    const dst = this.#inside(target, "target");
    try {
      // Every mount stacked there (an earlier agent may have mounted twice).
      while (unmount(dst)) { /* again */ }
    } catch (e) {
      throw failed(`unmount of ${target}`, e);
    }
  }

  makeDir(path: string): void {
    const dst = this.#inside(path, "path");
    try {
      Deno.mkdirSync(dst, { recursive: true, mode: 0o777 });
      Deno.chmodSync(dst, 0o777);
    } catch (e) {
      throw failed(`make-dir ${path}`, e);
    }
  }

  removeDir(path: string): void {
    const dst = this.#inside(path, "path");
    // Never through a mount: removing would reach into the mounted data.
    const mounted = mountPoints().filter((m) => m === dst || m.startsWith(`${dst}/`));
    if (mounted.length) {
      throw new HostMountError(
        "failed",
        `remove-dir ${path}: ${mounted[0]} is a mount point (unmount it first)`,
      );
    }
    try {
      Deno.removeSync(dst, { recursive: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw failed(`remove-dir ${path}`, e);
    }
  }
}

/**
 * The `host-mount` functions bound to one grant (nested host calls; plugins/host/host_calls.ts).
 * A grant whose `root` lies outside `nodeRoots` has every call denied.
 */
export function hostMount(grant: Grant, nodeRoots: string[]): HostFunctions {
  let m: HostMount | HostMountError;
  try {
    m = new HostMount(resolveBounds(grant.bounds, nodeRoots));
  } catch (e) {
    m = e as HostMountError;
  }
  const str = (v: unknown, what: string): string => {
    if (typeof v !== "string") throw hostInvalid(`${what} must be a string`);
    return v;
  };
  const run = (f: (h: HostMount) => void) => {
    try {
      if (m instanceof HostMountError) throw m;
      f(m);
    } catch (e) {
      if (!(e instanceof HostMountError)) throw hostFailed((e as Error).message ?? String(e));
      throw e.tag === "denied"
        ? hostDenied(e.message)
        : e.tag === "invalid"
        ? hostInvalid(e.message)
        : hostFailed(e.message);
    }
  };
  return {
    "bind-mount": ([source, target, readOnly]) =>
      run((h) => h.bindMount(str(source, "source"), str(target, "target"), readOnly === true)),
    "unmount": ([target]) => run((h) => h.unmount(str(target, "target"))),
    "make-dir": ([path]) => run((h) => h.makeDir(str(path, "path"))),
    "remove-dir": ([path]) => run((h) => h.removeDir(str(path, "path"))),
  };
}

/**
 * Makes `dir` a shared mount on the host (a bind mount on itself), as `ip netns add` does for
 * `/run/netns`, so bind mounts made under it reach crun's mount namespace. Call it before that
 * namespace is created (a namespace made earlier does not see the new shared mount). Idempotent.
 */
export function ensureSharedRoot(dir: string): void {
  Deno.mkdirSync(dir, { recursive: true });
  const mounted = isMountPoint(dir);
  if (mounted && sharedMount(dir)) return;
  makeSharedMount(dir, mounted);
}

function sharedMount(dir: string): boolean {
  const line = Deno.readTextFileSync("/proc/self/mountinfo").split("\n").findLast((l) =>
    l.split(" ")[4] === dir
  );
  return !!line && / shared:\d+/.test(line.split(" - ")[0]);
}

/** Detaches a shared root and everything mounted under it (a clean node shutdown). */
export function releaseSharedRoot(dir: string): void {
  try {
    while (unmount(dir, true)) { /* stacked */ }
  } catch { /* gone */ }
}
