/**
 * Writes the entries of one image layer into its own directory, in the form overlayfs reads as a
 * lower layer (as containerd's overlay snapshotter does):
 *
 * - `.wh.<name>` becomes a whiteout, a 0:0 character device named `<name>`;
 * - `.wh..wh..opq` marks its directory opaque (`trusted.overlay.opaque=y`).
 *
 * It refuses, failing the whole layer:
 * - paths that leave the layer: `..` components (absolute paths are taken as relative to the
 *   root, as tar does), and any entry whose parent directory inside the layer is a symlink —
 *   nothing is ever written through a symlink, so `link -> /etc` followed by `link/passwd` cannot
 *   reach the host;
 * - hard links whose target leaves the layer or is not in it;
 * - device nodes (character and block), and `trusted.overlay.*` extended attributes, which would
 *   let a layer forge overlayfs metadata.
 *
 * Every file-system call is synchronous: one entry costs a few system calls of microseconds
 * each, where an async Deno op costs a hop through the blocking pool and back to the event loop
 * (≈0.1–0.7 ms each under load). Run it off the node agent's thread (`unpack_worker.ts`).
 * Entries are created optimistically (`O_EXCL`-style) and an existing one is looked at only when
 * the creation reports it, so a fresh entry costs no `lstat`.
 * @module
 */
import { lchown, mkFifo, mkWhiteout, OsError, setXattr } from "../mountns/libc.ts";
import type { TarEntry } from "./tar.ts";

/** A layer that must not be unpacked. */
export class LayerError extends Error {
  override name = "LayerError";
}

const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";
/** Extended attributes copied from archives (others, `trusted.*` above all, are dropped). */
const XATTR_ALLOWED = /^(security\.capability|user\..+)$/;
const EEXIST = 17;

/** Splits an archive path into safe components; throws on `..`. */
export function safeComponents(path: string): string[] {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new LayerError(`the layer entry "${path}" escapes the root (..)`);
  for (const p of parts) {
    if (p.includes("\0")) throw new LayerError(`the layer entry "${path}" has a NUL byte`);
  }
  return parts;
}

function lstat(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

function removeAny(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

function exists(e: unknown): boolean {
  return e instanceof Deno.errors.AlreadyExists || (e instanceof OsError && e.errno === EEXIST);
}

/** Runs `create`; when something is already at `abs`, removes it and runs `create` again. */
function replacing(abs: string, create: () => void): void {
  try {
    create();
  } catch (e) {
    if (!exists(e)) throw e;
    removeAny(abs);
    create();
  }
}

/** Unpacks one layer's entries into `root`; remembers the directories it made (checked once). */
export class LayerWriter {
  readonly root: string;
  readonly #dirs = new Set<string>([""]);
  readonly #dirTimes: [string, number][] = [];

  constructor(root: string) {
    this.root = root;
  }

  /** Makes sure every parent of `parts` is a real directory; returns the absolute path. */
  #parents(parts: string[], original: string): string {
    let rel = "";
    for (let i = 0; i < parts.length - 1; i++) {
      rel = rel ? `${rel}/${parts[i]}` : parts[i];
      if (this.#dirs.has(rel)) continue;
      const st = lstat(`${this.root}/${rel}`);
      if (!st) Deno.mkdirSync(`${this.root}/${rel}`, { mode: 0o755 });
      else if (st.isSymlink) {
        throw new LayerError(`the layer entry "${original}" goes through the symlink "${rel}"`);
      } else if (!st.isDirectory) {
        throw new LayerError(`the layer entry "${original}" goes through "${rel}", which is not a directory`);
      }
      this.#dirs.add(rel);
    }
    return `${this.root}/${parts.join("/")}`;
  }

  /** Writes one entry (its body, for a file, is read from the archive here). */
  async apply(e: TarEntry): Promise<void> {
    const parts = safeComponents(e.path);
    if (parts.length === 0) {
      if (e.type === "dir") Deno.chmodSync(this.root, e.mode);
      return;
    }
    const base = parts[parts.length - 1];
    if (base.startsWith(WHITEOUT)) return this.#whiteout(parts, e);
    const abs = this.#parents(parts, e.path);
    const rel = parts.join("/");
    if (e.type !== "dir") this.#forget(rel);
    switch (e.type) {
      case "dir": {
        try {
          Deno.mkdirSync(abs, { mode: 0o755 });
        } catch (err) {
          if (!exists(err)) throw err;
          if (!lstat(abs)?.isDirectory) {
            removeAny(abs);
            Deno.mkdirSync(abs, { mode: 0o755 });
          }
        }
        this.#dirs.add(rel);
        break;
      }
      case "file": {
        let f!: Deno.FsFile;
        replacing(abs, () => f = Deno.openSync(abs, { write: true, createNew: true, mode: 0o600 }));
        try {
          await e.copyTo({ write: (p) => Promise.resolve(f.writeSync(p)) });
        } finally {
          f.close();
        }
        break;
      }
      case "symlink":
        replacing(abs, () => Deno.symlinkSync(e.linkname, abs));
        break;
      case "hardlink": {
        const target = this.#existingInLayer(safeComponents(e.linkname), e);
        replacing(abs, () => Deno.linkSync(target, abs));
        return; // a hard link shares its target's metadata
      }
      case "fifo":
        replacing(abs, () => mkFifo(abs, e.mode));
        break;
      case "char":
      case "block":
        throw new LayerError(`the layer holds the device node "${e.path}"; device nodes are not allowed`);
    }
    lchown(abs, e.uid, e.gid);
    for (const [name, value] of Object.entries(e.xattrs)) {
      if (XATTR_ALLOWED.test(name)) setXattr(abs, name, value);
    }
    if (e.type !== "symlink") {
      Deno.chmodSync(abs, e.mode); // after chown, which clears set-id bits
      if (e.type === "dir") this.#dirTimes.push([abs, e.mtime]);
      else Deno.utimeSync(abs, e.mtime, e.mtime);
    }
  }

  #whiteout(parts: string[], e: TarEntry): void {
    const base = parts[parts.length - 1];
    const abs = this.#parents(parts, e.path);
    const dir = abs.slice(0, abs.lastIndexOf("/"));
    if (base === OPAQUE) {
      setXattr(dir, "trusted.overlay.opaque", "y");
      return;
    }
    const name = base.slice(WHITEOUT.length);
    if (!name) throw new LayerError(`the whiteout "${e.path}" names nothing`);
    this.#forget([...parts.slice(0, -1), name].join("/"));
    const target = `${dir}/${name}`;
    removeAny(target);
    mkWhiteout(target);
  }

  /** Forgets that `rel` (and what is under it) was a directory: it is being replaced. */
  #forget(rel: string): void {
    if (!this.#dirs.has(rel)) return; // nothing under it was cached either
    for (const d of this.#dirs) if (d === rel || d.startsWith(`${rel}/`)) this.#dirs.delete(d);
  }

  #existingInLayer(parts: string[], e: TarEntry): string {
    if (parts.length === 0) throw new LayerError(`the hard link "${e.path}" points at the root`);
    let rel = "";
    for (const [i, p] of parts.entries()) {
      rel = rel ? `${rel}/${p}` : p;
      const st = lstat(`${this.root}/${rel}`);
      if (!st) {
        throw new LayerError(
          `the hard link "${e.path}" points at "${e.linkname}", which is not in this layer`,
        );
      }
      if (i < parts.length - 1 && !st.isDirectory) {
        throw new LayerError(`the hard link "${e.path}" points through "${rel}", which is not a directory`);
      }
    }
    return `${this.root}/${rel}`;
  }

  /** Directory times last: entries added to a directory change its mtime. */
  finish(): void {
    for (const [abs, mtime] of this.#dirTimes.reverse()) Deno.utimeSync(abs, mtime, mtime);
  }
}
