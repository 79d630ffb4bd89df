/**
 * A streaming tar reader (POSIX ustar, pax extended headers, GNU long names) and a small tar
 * writer (for tests and image builders). The reader yields one entry at a time; its body must be
 * consumed (or skipped) before the next entry is read, as the archive is a single stream.
 *
 * @example
 * ```ts ignore
 * for await (const entry of readTar(stream)) {
 *   if (entry.type === "file") await entry.copyTo(file);
 * }
 * ```
 * @module
 */

export type TarEntryType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

export interface TarHeader {
  /** The path as archived (pax `path` and GNU long names applied), not normalized. */
  path: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Target of a symlink or hardlink. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** `SCHILY.xattr.*` pax records, by attribute name. */
  xattrs: Record<string, string>;
}

export interface TarEntry extends TarHeader {
  /** Writes the body to `sink` (call once, before reading the next entry). */
  copyTo(sink: { write(p: Uint8Array): Promise<number> }): Promise<void>;
  /** The body in memory (small entries only). */
  bytes(): Promise<Uint8Array>;
}

/** A malformed archive. */
export class TarError extends Error {
  override name = "TarError";
}

const BLOCK = 512;
const dec = new TextDecoder();

/** Pulls exact byte counts out of a chunked stream. */
class ByteReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #off = 0;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  async #fill(): Promise<boolean> {
    while (this.#off >= this.#chunk.length) {
      const r = await this.#reader.read();
      if (r.done) return false;
      this.#chunk = r.value;
      this.#off = 0;
    }
    return true;
  }

  /** Exactly `n` bytes, or null at a clean end of stream before any byte. */
  async read(n: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      if (!(await this.#fill())) {
        if (got === 0) return null;
        throw new TarError("The archive ends in the middle of a block");
      }
      const take = Math.min(n - got, this.#chunk.length - this.#off);
      out.set(this.#chunk.subarray(this.#off, this.#off + take), got);
      this.#off += take;
      got += take;
    }
    return out;
  }

  /** Passes `n` bytes to `each` in the chunks they come in. */
  async pipe(n: number, each: (p: Uint8Array) => Promise<void> | void): Promise<void> {
    let left = n;
    while (left > 0) {
      if (!(await this.#fill())) throw new TarError("The archive ends in the middle of an entry");
      const take = Math.min(left, this.#chunk.length - this.#off);
      await each(this.#chunk.subarray(this.#off, this.#off + take));
      this.#off += take;
      left -= take;
    }
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

function str(b: Uint8Array, off: number, len: number): string {
  const field = b.subarray(off, off + len);
  const nul = field.indexOf(0);
  return dec.decode(nul >= 0 ? field.subarray(0, nul) : field);
}

function num(b: Uint8Array, off: number, len: number): number {
  if (b[off] & 0x80) {
    // GNU base-256: big-endian, first byte's top bit is the marker.
    let v = b[off] & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i];
    return v;
  }
  const s = str(b, off, len).trim();
  if (!s) return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarError(`Bad numeric field "${s}" in a tar header`);
  return parseInt(s, 8);
}

function checksumOk(h: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
  return num(h, 148, 8) === sum;
}

/** Parses pax records (`<len> <key>=<value>\n`). */
export function parsePax(body: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < body.length) {
    const sp = body.indexOf(0x20, off);
    if (sp < 0) break;
    const len = Number(dec.decode(body.subarray(off, sp)));
    if (!Number.isSafeInteger(len) || len <= 0 || off + len > body.length) {
      throw new TarError("Bad pax record length");
    }
    const rec = dec.decode(body.subarray(sp + 1, off + len - 1));
    const eq = rec.indexOf("=");
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    off += len;
  }
  return out;
}

const TYPES: Record<string, TarEntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

/** Reads the entries of an (uncompressed) tar stream. */
export async function* readTar(stream: ReadableStream<Uint8Array>): AsyncGenerator<TarEntry> {
  const r = new ByteReader(stream);
  let pax: Record<string, string> = {};
  let globalPax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  try {
    while (true) {
      const h = await r.read(BLOCK);
      if (!h || h.every((x) => x === 0)) break; // end of archive (a second zero block may follow)
      if (!checksumOk(h)) throw new TarError("A tar header has a bad checksum");
      const flag = String.fromCharCode(h[156]);
      const size = num(h, 124, 12);
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
        if (size > 1 << 20) throw new TarError("A tar metadata entry is larger than 1 MiB");
        const body = (await r.read(padded))?.subarray(0, size);
        if (!body) throw new TarError("The archive ends inside a metadata entry");
        if (flag === "x") pax = { ...pax, ...parsePax(body) };
        else if (flag === "g") globalPax = { ...globalPax, ...parsePax(body) };
        else if (flag === "L") longName = str(body, 0, body.length);
        else longLink = str(body, 0, body.length);
        continue;
      }
      const type = TYPES[flag];
      const records = { ...globalPax, ...pax };
      const magic = str(h, 257, 6);
      const prefix = magic.startsWith("ustar") ? str(h, 345, 155) : "";
      let path = records.path ?? longName ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
      const linkname = records.linkpath ?? longLink ?? str(h, 157, 100);
      const realSize = records.size !== undefined ? Number(records.size) : size;
      const xattrs: Record<string, string> = {};
      for (const [k, v] of Object.entries(records)) {
        if (k.startsWith("SCHILY.xattr.")) xattrs[k.slice("SCHILY.xattr.".length)] = v;
      }
      pax = {};
      longName = longLink = undefined;
      if (!type) {
        // Unknown entry kinds (GNU sparse, volume headers, ...) are refused: silently skipping
        // them would produce a different file system than the image describes.
        throw new TarError(`Unsupported tar entry type "${flag}" for ${path}`);
      }
      if (type === "dir" && !path.endsWith("/")) path += "/";
      const bodySize = type === "file" ? realSize : 0;
      const bodyPadded = type === "file" ? Math.ceil(realSize / BLOCK) * BLOCK : padded;
      let consumed = false;
      const consume = async (each: (p: Uint8Array) => Promise<void> | void) => {
        if (consumed) throw new TarError("A tar entry's body was read twice");
        consumed = true;
        await r.pipe(bodySize, each);
        if (bodyPadded > bodySize) await r.pipe(bodyPadded - bodySize, () => {});
      };
      const entry: TarEntry = {
        path,
        type,
        mode: num(h, 100, 8) & 0o7777,
        uid: records.uid !== undefined ? Number(records.uid) : num(h, 108, 8),
        gid: records.gid !== undefined ? Number(records.gid) : num(h, 116, 8),
        size: bodySize,
        mtime: records.mtime !== undefined ? Math.floor(Number(records.mtime)) : num(h, 136, 12),
        linkname,
        devmajor: num(h, 329, 8),
        devminor: num(h, 337, 8),
        xattrs,
        copyTo: (sink) =>
          consume(async (p) => {
            for (let off = 0; off < p.length;) off += await sink.write(p.subarray(off));
          }),
        bytes: async () => {
          const out = new Uint8Array(bodySize);
          let at = 0;
          await consume((p) => {
            out.set(p, at);
            at += p.length;
          });
          return out;
        },
      };
      yield entry;
      if (!consumed) await consume(() => {});
    }
  } finally {
    await r.cancel();
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

/** An entry to write. */
export interface TarInput {
  path: string;
  type?: TarEntryType;
  /** File content. */
  data?: Uint8Array | string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, written as pax `SCHILY.xattr.<name>` records. */
  xattrs?: Record<string, string>;
}

const FLAGS: Record<TarEntryType, string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  dir: "5",
  fifo: "6",
};

const enc = new TextEncoder();

function putStr(h: Uint8Array, off: number, len: number, s: string) {
  const b = enc.encode(s);
  if (b.length > len) throw new TarError(`"${s}" does not fit a ${len}-byte tar field`);
  h.set(b, off);
}

function putNum(h: Uint8Array, off: number, len: number, n: number) {
  putStr(h, off, len, n.toString(8).padStart(len - 1, "0"));
}

function header(name: string, flag: string, size: number, e: TarInput, linkname: string): Uint8Array {
  const h = new Uint8Array(BLOCK);
  putStr(h, 0, 100, name);
  putNum(h, 100, 8, e.mode ?? (flag === "5" ? 0o755 : 0o644));
  putNum(h, 108, 8, e.uid ?? 0);
  putNum(h, 116, 8, e.gid ?? 0);
  putNum(h, 124, 12, size);
  putNum(h, 136, 12, e.mtime ?? 0);
  h[156] = flag.charCodeAt(0);
  putStr(h, 157, 100, linkname);
  putStr(h, 257, 8, "ustar\u000000");
  putNum(h, 329, 8, e.devmajor ?? 0);
  putNum(h, 337, 8, e.devminor ?? 0);
  h.fill(32, 148, 156);
  let sum = 0;
  for (const x of h) sum += x;
  putStr(h, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

function padTo(data: Uint8Array): Uint8Array[] {
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
  return pad ? [data, new Uint8Array(pad)] : [data];
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + enc.encode(body).length !== len) len = String(len).length + enc.encode(body).length;
  return `${len}${body}`;
}

/**
 * Builds a tar archive in memory. Long paths, long link names and xattrs get a pax header. Paths
 * are written as given (tests use this to craft hostile archives).
 */
export function writeTar(entries: TarInput[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const type = e.type ?? (e.data !== undefined ? "file" : "dir");
    const data = typeof e.data === "string" ? enc.encode(e.data) : e.data ?? new Uint8Array();
    const linkname = e.linkname ?? "";
    const pax: string[] = [];
    let name = e.path;
    if (enc.encode(name).length > 100) {
      pax.push(paxRecord("path", name));
      name = name.slice(0, 99);
    }
    let link = linkname;
    if (enc.encode(link).length > 100) {
      pax.push(paxRecord("linkpath", link));
      link = link.slice(0, 99);
    }
    for (const [k, v] of Object.entries(e.xattrs ?? {})) pax.push(paxRecord(`SCHILY.xattr.${k}`, v));
    if (pax.length) {
      const body = enc.encode(pax.join(""));
      parts.push(header("PaxHeader", "x", body.length, { path: "" }, ""), ...padTo(body));
    }
    const size = type === "file" ? data.length : 0;
    parts.push(header(name, FLAGS[type], size, e, link));
    if (size) parts.push(...padTo(data));
  }
  parts.push(new Uint8Array(BLOCK * 2));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
