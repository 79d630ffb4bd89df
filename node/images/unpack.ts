/**
 * Unpacking one image layer into its own directory, in the form overlayfs reads as a lower layer
 * (as containerd's overlay snapshotter does):
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
 * The digest of the uncompressed stream is the layer's diffID, checked by the caller against the
 * image config's `rootfs.diff_ids`.
 * @module
 */
import { createHash } from "node:crypto";
import { lchown, mkFifo, mkWhiteout, setXattr } from "../mountns/libc.ts";
import { decompress } from "./decompress.ts";
import { readTar, type TarEntry } from "./tar.ts";

/** A layer that must not be unpacked. */
export class LayerError extends Error {
  override name = "LayerError";
}

export interface UnpackResult {
  /** `sha256:` digest of the uncompressed tar. */
  diffId: string;
  /** Bytes of the uncompressed tar. */
  size: number;
  entries: number;
}

const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";
/** Extended attributes copied from archives (others, `trusted.*` above all, are dropped). */
const XATTR_ALLOWED = /^(security\.capability|user\..+)$/;

/** Splits an archive path into safe components; throws on `..`. */
export function safeComponents(path: string): string[] {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new LayerError(`the layer entry "${path}" escapes the root (..)`);
  for (const p of parts) {
    if (p.includes("\0")) throw new LayerError(`the layer entry "${path}" has a NUL byte`);
  }
  return parts;
}

async function lstat(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

async function removeAny(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
}

/** Unpacks layers into directories; remembers the directories it made (so they are checked once). */
class LayerWriter {
  readonly root: string;
  readonly #dirs = new Set<string>([""]);
  readonly #dirTimes: [string, number][] = [];

  constructor(root: string) {
    this.root = root;
  }

  /** Makes sure every parent of `parts` is a real directory; returns the absolute path. */
  async #parents(parts: string[], original: string): Promise<string> {
    let rel = "";
    for (const p of parts.slice(0, -1)) {
      rel = rel ? `${rel}/${p}` : p;
      if (this.#dirs.has(rel)) continue;
      const st = await lstat(`${this.root}/${rel}`);
      if (!st) await Deno.mkdir(`${this.root}/${rel}`, { mode: 0o755 });
      else if (st.isSymlink) {
        throw new LayerError(`the layer entry "${original}" goes through the symlink "${rel}"`);
      } else if (!st.isDirectory) {
        throw new LayerError(`the layer entry "${original}" goes through "${rel}", which is not a directory`);
      }
      this.#dirs.add(rel);
    }
    return `${this.root}/${parts.join("/")}`;
  }

  async apply(e: TarEntry): Promise<void> {
    const parts = safeComponents(e.path);
    if (parts.length === 0) {
      if (e.type === "dir") await Deno.chmod(this.root, e.mode);
      return;
    }
    const base = parts[parts.length - 1];
    if (base.startsWith(WHITEOUT)) {
      const abs = await this.#parents(parts, e.path);
      const dir = abs.slice(0, abs.lastIndexOf("/"));
      if (base === OPAQUE) {
        setXattr(dir, "trusted.overlay.opaque", "y");
        return;
      }
      const target = `${dir}/${base.slice(WHITEOUT.length)}`;
      if (!base.slice(WHITEOUT.length)) throw new LayerError(`the whiteout "${e.path}" names nothing`);
      this.#forget([...parts.slice(0, -1), base.slice(WHITEOUT.length)].join("/"));
      await removeAny(target);
      mkWhiteout(target);
      return;
    }
    const abs = await this.#parents(parts, e.path);
    const rel = parts.join("/");
    if (e.type !== "dir") this.#forget(rel);
    const existing = await lstat(abs);
    switch (e.type) {
      case "dir": {
        if (existing && !existing.isDirectory) await removeAny(abs);
        if (!existing || !existing.isDirectory) await Deno.mkdir(abs, { mode: 0o755 });
        this.#dirs.add(rel);
        break;
      }
      case "file": {
        if (existing) await removeAny(abs);
        const f = await Deno.open(abs, { write: true, createNew: true, mode: 0o600 });
        try {
          await e.copyTo(f);
        } finally {
          f.close();
        }
        break;
      }
      case "symlink":
        if (existing) await removeAny(abs);
        await Deno.symlink(e.linkname, abs);
        break;
      case "hardlink": {
        const targetParts = safeComponents(e.linkname);
        const target = await this.#existingInLayer(targetParts, e);
        if (existing) await removeAny(abs);
        await Deno.link(target, abs);
        return; // a hard link shares its target's metadata
      }
      case "fifo":
        if (existing) await removeAny(abs);
        mkFifo(abs, e.mode);
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
      await Deno.chmod(abs, e.mode); // after chown, which clears set-id bits
      if (e.type === "dir") this.#dirTimes.push([abs, e.mtime]);
      else await Deno.utime(abs, e.mtime, e.mtime);
    }
  }

  /** Forgets that `rel` (and what is under it) was a directory: it is being replaced. */
  #forget(rel: string): void {
    if (!this.#dirs.has(rel)) return; // nothing under it was cached either
    for (const d of this.#dirs) if (d === rel || d.startsWith(`${rel}/`)) this.#dirs.delete(d);
  }

  async #existingInLayer(parts: string[], e: TarEntry): Promise<string> {
    if (parts.length === 0) throw new LayerError(`the hard link "${e.path}" points at the root`);
    let rel = "";
    for (const [i, p] of parts.entries()) {
      rel = rel ? `${rel}/${p}` : p;
      const st = await lstat(`${this.root}/${rel}`);
      if (!st) {
        throw new LayerError(`the hard link "${e.path}" points at "${e.linkname}", which is not in this layer`);
      }
      if (i < parts.length - 1 && !st.isDirectory) {
        throw new LayerError(`the hard link "${e.path}" points through "${rel}", which is not a directory`);
      }
    }
    return `${this.root}/${rel}`;
  }

  /** Directory times last: entries added to a directory change its mtime. */
  async finish(): Promise<void> {
    for (const [abs, mtime] of this.#dirTimes.reverse()) await Deno.utime(abs, mtime, mtime);
  }
}

/**
 * Unpacks the (compressed or not) layer `blob` into the empty directory `dest`. On a LayerError
 * or a malformed archive it throws; the caller removes `dest`.
 */
export async function unpackLayer(blob: ReadableStream<Uint8Array>, dest: string): Promise<UnpackResult> {
  const hash = createHash("sha256");
  let size = 0;
  const counted = (await decompress(blob)).pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        hash.update(chunk);
        size += chunk.length;
        c.enqueue(chunk);
      },
    }),
  );
  const w = new LayerWriter(dest);
  let entries = 0;
  const reader = counted.getReader();
  // The tar reader stops at the end-of-archive blocks; drain the rest so the digest covers it all.
  const tee = new ReadableStream<Uint8Array>({
    async pull(c) {
      const r = await reader.read();
      if (r.done) c.close();
      else c.enqueue(r.value);
    },
  }, { highWaterMark: 0 });
  const src = tee.getReader();
  let sawEnd = false;
  const forTar = new ReadableStream<Uint8Array>({
    async pull(c) {
      const r = await src.read();
      if (r.done) {
        sawEnd = true;
        c.close();
      } else c.enqueue(r.value);
    },
    cancel() {
      // readTar cancels at the end of the archive: keep the source for draining.
    },
  }, { highWaterMark: 0 });
  for await (const e of readTar(forTar)) {
    await w.apply(e);
    entries++;
  }
  await w.finish();
  if (!sawEnd) for (let r = await src.read(); !r.done; r = await src.read()) { /* padding */ }
  return { diffId: `sha256:${hash.digest("hex")}`, size, entries };
}
