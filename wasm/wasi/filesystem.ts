/**
 * `wasi:filesystem` over host directories, for one instance: only the preopens it is given (the
 * pod's volumeMounts), read-only where the mount says so. Paths are resolved inside their
 * preopen: absolute paths, `..` above the root and symlinks leading out of it are refused with
 * `not-permitted`, and guests cannot create symlinks. The sandbox's Deno permissions are the
 * second fence (docs/isolation.md).
 * @module
 */
import {
  type DescriptorFlags,
  errorCode,
  fsCall,
  type NewTimestamp,
  type OpenFlags,
  type PathFlags,
  statOf,
  typeOf,
} from "./fs_types.ts";
import { type ByteSink, type ByteSource, InputStream, IoError, OutputStream } from "./io.ts";

/** A host directory shown to the guest. */
export interface Preopen {
  /** Path the guest sees (`/data`). */
  guestPath: string;
  /** Absolute host directory. */
  hostPath: string;
  readOnly: boolean;
}

interface Root {
  /** The preopen's real host path. */
  real: string;
  readOnly: boolean;
}

function within(root: Root, real: string): boolean {
  return real === root.real || real.startsWith(root.real.endsWith("/") ? root.real : `${root.real}/`);
}

/** The filesystem of one instance; `close()` closes every file the guest left open. */
export function filesystemImports(preopens: readonly Preopen[]) {
  const open = new Set<Deno.FsFile>();

  class DirectoryEntryStream {
    #entries: { type: string; name: string }[];
    constructor(entries: { type: string; name: string }[]) {
      this.#entries = entries;
    }
    readDirectoryEntry() {
      return this.#entries.shift();
    }
  }

  class Descriptor {
    readonly #root: Root;
    readonly #path: string;
    readonly #flags: DescriptorFlags;
    readonly #file?: Deno.FsFile;

    constructor(root: Root, path: string, flags: DescriptorFlags, file?: Deno.FsFile) {
      this.#root = root;
      this.#path = path;
      this.#flags = flags;
      this.#file = file;
      if (file) open.add(file);
    }

    #isDir(): boolean {
      return !this.#file;
    }

    #writable(): void {
      if (this.#root.readOnly) throw "read-only";
    }

    /** Resolves `path` below this directory to a host path inside the root. */
    #resolve(path: string, follow: boolean): string {
      if (!this.#isDir()) throw "not-directory";
      if (path.startsWith("/")) throw "not-permitted";
      const segments = this.#path.slice(this.#root.real.length).split("/").filter(Boolean);
      for (const s of path.split("/")) {
        if (s === "" || s === ".") continue;
        if (s === "..") {
          if (!segments.length) throw "not-permitted";
          segments.pop();
        } else segments.push(s);
      }
      const lexical = segments.length ? `${this.#root.real}/${segments.join("/")}` : this.#root.real;
      if (lexical === this.#root.real) return lexical;
      const slash = lexical.lastIndexOf("/");
      const parent = fsCall(() => Deno.realPathSync(lexical.slice(0, slash)));
      if (!within(this.#root, parent)) throw "not-permitted";
      const candidate = `${parent}/${lexical.slice(slash + 1)}`;
      if (!follow) return candidate;
      let real: string;
      try {
        real = Deno.realPathSync(candidate);
      } catch (e) {
        if (errorCode(e) === "no-entry") return candidate; // to be created
        throw errorCode(e);
      }
      if (!within(this.#root, real)) throw "not-permitted";
      return real;
    }

    readViaStream(offset: bigint): InputStream {
      const file = this.#requireFile();
      let pos = offset;
      const src: ByteSource = {
        ready: () => true,
        wait: () => Promise.resolve(),
        read: (max) => {
          const buf = new Uint8Array(Math.min(max, 1 << 20));
          const n = fsCall(() => {
            file.seekSync(pos, Deno.SeekMode.Start);
            return file.readSync(buf);
          });
          if (n === null || (n === 0 && max > 0)) return null;
          pos += BigInt(n);
          return buf.subarray(0, n);
        },
      };
      return new InputStream(src);
    }

    writeViaStream(offset: bigint): OutputStream {
      this.#writable();
      const file = this.#requireFile();
      let pos = offset;
      return new OutputStream(this.#sink((bytes) => {
        file.seekSync(pos, Deno.SeekMode.Start);
        writeAll(file, bytes);
        pos += BigInt(bytes.byteLength);
      }));
    }

    appendViaStream(): OutputStream {
      this.#writable();
      const file = this.#requireFile();
      return new OutputStream(this.#sink((bytes) => {
        file.seekSync(0, Deno.SeekMode.End);
        writeAll(file, bytes);
      }));
    }

    #sink(write: (b: Uint8Array) => void): ByteSink {
      return {
        write: (bytes) => {
          try {
            write(bytes);
          } catch (e) {
            throw new IoError(`write failed: ${errorCode(e)}`);
          }
        },
      };
    }

    #requireFile(): Deno.FsFile {
      if (!this.#file) throw "is-directory";
      return this.#file;
    }

    advise(): void {}

    syncData(): void {
      if (this.#file) fsCall(() => this.#file!.syncDataSync());
    }

    sync(): void {
      if (this.#file) fsCall(() => this.#file!.syncSync());
    }

    getFlags(): DescriptorFlags {
      return { ...this.#flags };
    }

    getType(): string {
      return this.#isDir() ? "directory" : typeOf(fsCall(() => this.#file!.statSync()));
    }

    setSize(size: bigint): void {
      this.#writable();
      fsCall(() => this.#requireFile().truncateSync(Number(size)));
    }

    setTimes(atime: NewTimestamp, mtime: NewTimestamp): void {
      this.#writable();
      this.#setTimes(this.#path, atime, mtime);
    }

    #setTimes(path: string, atime: NewTimestamp, mtime: NewTimestamp): void {
      const info = fsCall(() => Deno.statSync(path));
      const pick = (t: NewTimestamp, current: Date | null) =>
        t.tag === "now"
          ? new Date()
          : t.tag === "timestamp"
          ? new Date(Number(t.val.seconds) * 1000 + t.val.nanoseconds / 1e6)
          : current ?? new Date();
      fsCall(() => Deno.utimeSync(path, pick(atime, info.atime), pick(mtime, info.mtime)));
    }

    read(length: bigint, offset: bigint): [Uint8Array, boolean] {
      const file = this.#requireFile();
      const buf = new Uint8Array(Math.min(Number(length), 1 << 24));
      const n = fsCall(() => {
        file.seekSync(offset, Deno.SeekMode.Start);
        return file.readSync(buf);
      });
      if (n === null) return [new Uint8Array(0), true];
      return [buf.subarray(0, n), n < buf.byteLength];
    }

    write(buffer: Uint8Array, offset: bigint): bigint {
      this.#writable();
      const file = this.#requireFile();
      fsCall(() => {
        file.seekSync(offset, Deno.SeekMode.Start);
        writeAll(file, buffer);
      });
      return BigInt(buffer.byteLength);
    }

    readDirectory(): DirectoryEntryStream {
      if (!this.#isDir()) throw "not-directory";
      const entries = fsCall(() =>
        [...Deno.readDirSync(this.#path)].map((e) => ({
          type: e.isFile
            ? "regular-file"
            : e.isDirectory
            ? "directory"
            : e.isSymlink
            ? "symbolic-link"
            : "unknown",
          name: e.name,
        }))
      );
      return new DirectoryEntryStream(entries);
    }

    createDirectoryAt(path: string): void {
      this.#writable();
      const host = this.#resolve(path, false);
      fsCall(() => Deno.mkdirSync(host));
    }

    stat() {
      return statOf(fsCall(() => (this.#file ? this.#file.statSync() : Deno.statSync(this.#path))));
    }

    statAt(flags: PathFlags, path: string) {
      const host = this.#resolve(path, !!flags.symlinkFollow);
      return statOf(fsCall(() => (flags.symlinkFollow ? Deno.statSync(host) : Deno.lstatSync(host))));
    }

    setTimesAt(flags: PathFlags, path: string, atime: NewTimestamp, mtime: NewTimestamp): void {
      this.#writable();
      this.#setTimes(this.#resolve(path, !!flags.symlinkFollow), atime, mtime);
    }

    linkAt(_flags: PathFlags, oldPath: string, newDir: Descriptor, newPath: string): void {
      this.#writable();
      newDir.#writable();
      const from = this.#resolve(oldPath, false);
      const to = newDir.#resolve(newPath, false);
      fsCall(() => Deno.linkSync(from, to));
    }

    openAt(pathFlags: PathFlags, path: string, openFlags: OpenFlags, flags: DescriptorFlags): Descriptor {
      const mutating = flags.write || flags.mutateDirectory || openFlags.create || openFlags.truncate;
      if (mutating && this.#root.readOnly) throw "read-only";
      const host = this.#resolve(path, pathFlags.symlinkFollow !== false);
      let info: Deno.FileInfo | undefined;
      try {
        info = Deno.statSync(host);
      } catch (e) {
        if (errorCode(e) !== "no-entry") throw errorCode(e);
      }
      if (info && openFlags.create && openFlags.exclusive) throw "exist";
      if (openFlags.directory) {
        if (openFlags.create) throw "invalid";
        if (!info) throw "no-entry";
        if (!info.isDirectory) throw "not-directory";
      }
      if (info?.isDirectory) {
        if (flags.write) throw "is-directory";
        return new Descriptor(this.#root, host, flags);
      }
      if (!info && !openFlags.create) throw "no-entry";
      const file = fsCall(() =>
        Deno.openSync(host, {
          read: true,
          write: !!(flags.write || openFlags.create || openFlags.truncate),
          create: !!openFlags.create,
          createNew: !!(openFlags.create && openFlags.exclusive),
          truncate: !!openFlags.truncate,
        })
      );
      return new Descriptor(this.#root, host, flags, file);
    }

    readlinkAt(path: string): string {
      const host = this.#resolve(path, false);
      return fsCall(() => Deno.readLinkSync(host));
    }

    removeDirectoryAt(path: string): void {
      this.#writable();
      const host = this.#resolve(path, false);
      if (host === this.#root.real) throw "not-permitted";
      const info = fsCall(() => Deno.lstatSync(host));
      if (!info.isDirectory) throw "not-directory";
      fsCall(() => Deno.removeSync(host));
    }

    renameAt(oldPath: string, newDir: Descriptor, newPath: string): void {
      this.#writable();
      newDir.#writable();
      const from = this.#resolve(oldPath, false);
      const to = newDir.#resolve(newPath, false);
      if (from === this.#root.real) throw "not-permitted";
      fsCall(() => Deno.renameSync(from, to));
    }

    symlinkAt(_oldPath: string, _newPath: string): never {
      throw "not-permitted";
    }

    unlinkFileAt(path: string): void {
      this.#writable();
      const host = this.#resolve(path, false);
      const info = fsCall(() => Deno.lstatSync(host));
      if (info.isDirectory) throw "is-directory";
      fsCall(() => Deno.removeSync(host));
    }

    isSameObject(other: Descriptor): boolean {
      const a = this.#identity();
      const b = other.#identity();
      return a.lower === b.lower && a.upper === b.upper;
    }

    #identity() {
      const info = fsCall(() => (this.#file ? this.#file.statSync() : Deno.statSync(this.#path)));
      return { lower: BigInt(info.ino ?? 0), upper: BigInt(info.dev ?? 0) };
    }

    metadataHash() {
      return this.#identity();
    }

    metadataHashAt(flags: PathFlags, path: string) {
      const host = this.#resolve(path, !!flags.symlinkFollow);
      const info = fsCall(() => (flags.symlinkFollow ? Deno.statSync(host) : Deno.lstatSync(host)));
      return { lower: BigInt(info.ino ?? 0), upper: BigInt(info.dev ?? 0) };
    }

    [Symbol.dispose](): void {
      if (this.#file && open.delete(this.#file)) this.#file.close();
    }
  }

  const roots = preopens.map((p) => ({
    guestPath: p.guestPath,
    root: { real: Deno.realPathSync(p.hostPath), readOnly: p.readOnly },
  }));

  return {
    imports: {
      "wasi:filesystem/types": {
        Descriptor,
        DirectoryEntryStream,
        filesystemErrorCode: (_err: IoError) => undefined,
      },
      "wasi:filesystem/preopens": {
        getDirectories: () =>
          roots.map(({ guestPath, root }) => [
            new Descriptor(root, root.real, {
              read: true,
              write: !root.readOnly,
              mutateDirectory: !root.readOnly,
            }),
            guestPath,
          ]),
      },
    },
    /** Closes every file the guest left open. */
    close(): void {
      for (const f of open) {
        try {
          f.close();
        } catch { /* closed */ }
      }
      open.clear();
    },
  };
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.byteLength;) off += file.writeSync(bytes.subarray(off));
}
