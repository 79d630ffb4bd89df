/**
 * Writes a container's stdout and stderr to its CRI log file (see cri_format.ts), as containerd's
 * log redirector does: bytes are cut into lines; a line longer than `maxLineBytes` is written as
 * `P` entries; what is left without a newline when the stream ends is one `P` entry. The file is
 * rotated at `maxBytes` (renamed to `<path>.<UTC yyyyMMdd-HHmmss>`), keeping `maxFiles` files in
 * all, as the kubelet's container log manager does (rotated files stay uncompressed).
 *
 * @example
 * ```ts
 * await using log = await CriLogWriter.open(`${dir}/0.log`);
 * log.write("stdout", new TextEncoder().encode("hello\n"));
 * ```
 * @module
 */
import { formatEntry, type LogStream } from "./cri_format.ts";

export interface CriLogWriterOptions {
  /** Rotate when the file would grow past this size (default 10 MiB, the kubelet's `containerLogMaxSize`). */
  maxBytes?: number;
  /** Files kept, the current one included (default 5, the kubelet's `containerLogMaxFiles`). */
  maxFiles?: number;
  /** Longest line written as one entry (default 16 KiB, containerd's `max_container_log_line_size`). */
  maxLineBytes?: number;
  now?: () => number;
}

const enc = new TextEncoder();

/** Appends CRI log entries to one file; serializes writes; rotates by size. */
export class CriLogWriter implements AsyncDisposable {
  readonly path: string;
  #file: Deno.FsFile;
  #size: number;
  #pending: Record<LogStream, Uint8Array[]> = { stdout: [], stderr: [] };
  #pendingLen: Record<LogStream, number> = { stdout: 0, stderr: 0 };
  #lastMs = 0;
  #seq = 0;
  readonly #opts: Required<CriLogWriterOptions>;
  #closed = false;

  private constructor(path: string, file: Deno.FsFile, size: number, opts: Required<CriLogWriterOptions>) {
    this.path = path;
    this.#file = file;
    this.#size = size;
    this.#opts = opts;
  }

  /** Opens (appending to) the log file at `path`; its directory must exist. */
  static async open(path: string, opts: CriLogWriterOptions = {}): Promise<CriLogWriter> {
    const file = await Deno.open(path, { append: true, create: true, mode: 0o640 });
    const { size } = await file.stat();
    return new CriLogWriter(path, file, size, {
      maxBytes: opts.maxBytes ?? 10 * 1024 * 1024,
      maxFiles: opts.maxFiles ?? 5,
      maxLineBytes: opts.maxLineBytes ?? 16 * 1024,
      now: opts.now ?? Date.now,
    });
  }

  /** Appends output of `stream`; complete lines are written at once (synchronously). */
  write(stream: LogStream, chunk: Uint8Array): void {
    if (this.#closed) return;
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== 10) continue;
      this.#append(stream, chunk.subarray(start, i));
      this.#emit(stream, "F");
      start = i + 1;
    }
    if (start < chunk.length) this.#append(stream, chunk.subarray(start));
  }

  /** Writes what is buffered without a newline as `P` entries (the end of a stream). */
  flushPartial(stream?: LogStream): void {
    for (const s of stream ? [stream] : ["stdout", "stderr"] as const) {
      if (this.#pendingLen[s] > 0) this.#emit(s, "P");
    }
  }

  /** Flushes partial lines and closes the file. */
  close(): void {
    if (this.#closed) return;
    this.flushPartial();
    this.#closed = true;
    this.#file.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #append(stream: LogStream, bytes: Uint8Array) {
    const max = this.#opts.maxLineBytes;
    while (bytes.length > 0) {
      const room = max - this.#pendingLen[stream];
      const part = bytes.subarray(0, room);
      this.#pending[stream].push(part.slice());
      this.#pendingLen[stream] += part.length;
      bytes = bytes.subarray(part.length);
      if (this.#pendingLen[stream] >= max) this.#emit(stream, "P");
    }
  }

  #emit(stream: LogStream, tag: "F" | "P") {
    const parts = this.#pending[stream];
    const content = new Uint8Array(this.#pendingLen[stream]);
    let o = 0;
    for (const p of parts) {
      content.set(p, o);
      o += p.length;
    }
    this.#pending[stream] = [];
    this.#pendingLen[stream] = 0;
    // Keep entries strictly ordered even within one millisecond: count nanoseconds up.
    const ms = this.#opts.now();
    if (ms !== this.#lastMs) {
      this.#lastMs = ms;
      this.#seq = 0;
    } else this.#seq++;
    const head = enc.encode(formatEntry(ms, stream, tag, "", Math.min(this.#seq, 999_999)).slice(0, -1));
    const line = new Uint8Array(head.length + content.length + 1);
    line.set(head);
    line.set(content, head.length);
    line[line.length - 1] = 10;
    if (this.#size > 0 && this.#size + line.length > this.#opts.maxBytes) this.#rotate();
    writeAllSync(this.#file, line);
    this.#size += line.length;
  }

  #rotate() {
    this.#file.close();
    const stamp = new Date(this.#opts.now()).toISOString().replace(/[-:]/g, "").replace("T", "-").slice(
      0,
      15,
    );
    let target = `${this.path}.${stamp}`;
    for (let i = 1; exists(target); i++) target = `${this.path}.${stamp}.${i}`;
    Deno.renameSync(this.path, target);
    const dir = this.path.slice(0, this.path.lastIndexOf("/"));
    const base = this.path.slice(this.path.lastIndexOf("/") + 1);
    const rotated = [...Deno.readDirSync(dir)]
      .filter((e) => e.isFile && e.name.startsWith(`${base}.`))
      .map((e) => e.name)
      .sort();
    for (const name of rotated.slice(0, Math.max(0, rotated.length - (this.#opts.maxFiles - 1)))) {
      Deno.removeSync(`${dir}/${name}`);
    }
    this.#file = Deno.openSync(this.path, { append: true, create: true, mode: 0o640 });
    this.#size = 0;
  }
}

function writeAllSync(file: Deno.FsFile, bytes: Uint8Array) {
  let o = 0;
  while (o < bytes.length) o += file.writeSync(bytes.subarray(o));
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
