/**
 * Reads a CRI log file back as `kubectl logs` output, as the kubelet's `ReadLogs`: `tailLines`
 * (last N entries), `since` (skip older entries), `timestamps` (prefix each new line with its
 * time), `limitBytes` (stop after N bytes), and `follow` (keep streaming new entries, across
 * rotation, until the container stops or the reader cancels). Partial (`P`) entries are joined
 * with the entry that completes them.
 *
 * @example
 * ```ts
 * const body = readLogs("/data/pods/ns_web_uid/app/0.log", { tailLines: 10 });
 * return new Response(body);
 * ```
 * @module
 */
import { type LogEntry, parseEntry } from "./cri_format.ts";

export interface LogReadOptions {
  /** Only the last N entries (upstream counts file lines). */
  tailLines?: number;
  /** Skip entries older than this time (ms since the epoch). */
  sinceMs?: number;
  timestamps?: boolean;
  /** Stop after this many bytes of output. */
  limitBytes?: number;
  follow?: boolean;
}

export interface FollowOptions {
  /** Whether the container still runs; following ends at the end of the file once it does not. */
  running(): boolean | Promise<boolean>;
  /** How often, at most, the file is re-checked without a change notice (ms, default 1000). */
  recheckMs?: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Turns entries into output, carrying partial-line state across calls. Pure apart from its state. */
export class LogRenderer {
  #opts: LogReadOptions;
  #written = 0;
  #midLine = false;

  constructor(opts: LogReadOptions) {
    this.#opts = opts;
  }

  /** Whether `limitBytes` is used up. */
  get done(): boolean {
    return this.#opts.limitBytes !== undefined && this.#written >= this.#opts.limitBytes;
  }

  /** The output bytes for `entries` (already filtered by tail). */
  render(entries: LogEntry[]): Uint8Array {
    let out = "";
    for (const e of entries) {
      if (this.#opts.sinceMs !== undefined && e.ms < this.#opts.sinceMs) continue;
      if (this.#opts.timestamps && !this.#midLine) out += `${e.time} `;
      out += e.partial ? e.content : `${e.content}\n`;
      this.#midLine = e.partial;
    }
    let bytes = enc.encode(out);
    if (this.#opts.limitBytes !== undefined) {
      bytes = bytes.subarray(0, Math.max(0, this.#opts.limitBytes - this.#written));
    }
    this.#written += bytes.length;
    return bytes;
  }
}

/** Parses the complete lines of `text`; returns the entries and the unterminated remainder. */
export function parseLines(text: string): { entries: LogEntry[]; rest: string } {
  const entries: LogEntry[] = [];
  let start = 0;
  for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
    const e = parseEntry(text.slice(start, nl));
    if (e) entries.push(e);
    start = nl + 1;
  }
  return { entries, rest: text.slice(start) };
}

/** A stream of the log at `path` rendered with `opts`; `follow` needs `followOpts`. */
export function readLogs(
  path: string,
  opts: LogReadOptions,
  followOpts?: FollowOptions,
): ReadableStream<Uint8Array> {
  const renderer = new LogRenderer(opts);
  const abort = new AbortController();
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      try {
        await pump(path, opts, renderer, (b) => b.length && controller.enqueue(b), abort.signal, followOpts);
        controller.close();
      } catch (e) {
        if (abort.signal.aborted) return;
        controller.error(e);
      }
    },
    cancel() {
      abort.abort();
    },
  });
}

async function pump(
  path: string,
  opts: LogReadOptions,
  renderer: LogRenderer,
  emit: (b: Uint8Array) => void,
  signal: AbortSignal,
  follow?: FollowOptions,
): Promise<void> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound && !opts.follow) return;
    throw e;
  }
  let ino = (await file.stat()).ino;
  let offset = 0;
  let rest = "";
  try {
    // First read: everything, then keep the last `tailLines` entries.
    const all = await readFrom(file, 0);
    offset = all.length;
    const parsed = parseLines(dec.decode(all));
    rest = parsed.rest;
    const first = opts.tailLines !== undefined && opts.tailLines >= 0
      ? parsed.entries.slice(Math.max(0, parsed.entries.length - opts.tailLines))
      : parsed.entries;
    emit(renderer.render(first));
    if (!opts.follow || !follow || renderer.done) return;

    const watcher = Deno.watchFs(path.slice(0, path.lastIndexOf("/")), { recursive: false });
    const onAbort = () => watcher.close();
    signal.addEventListener("abort", onAbort, { once: true });
    const changes = new ChangeWaiter(watcher);
    try {
      while (!signal.aborted && !renderer.done) {
        // Rotation: the path now names a new file; finish the old one, then switch.
        const now = await statOrNull(path);
        if (now && now.ino !== ino) {
          const tail = await readFrom(file, offset);
          const p = parseLines(rest + dec.decode(tail));
          emit(renderer.render(p.entries));
          file.close();
          file = await Deno.open(path);
          ino = now.ino;
          offset = 0;
          rest = "";
        }
        const more = await readFrom(file, offset);
        if (more.length) {
          offset += more.length;
          const p = parseLines(rest + dec.decode(more, { stream: true }));
          rest = p.rest;
          emit(renderer.render(p.entries));
          continue;
        }
        if (!(await follow.running())) {
          // One last look: the container may have written just before it stopped.
          const last = await readFrom(file, offset);
          if (last.length) {
            offset += last.length;
            emit(renderer.render(parseLines(rest + dec.decode(last)).entries));
          }
          return;
        }
        await changes.wait(follow.recheckMs ?? 1000);
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      try {
        watcher.close();
      } catch { /* already closed */ }
    }
  } finally {
    try {
      file.close();
    } catch { /* already closed */ }
  }
}

async function readFrom(file: Deno.FsFile, offset: number): Promise<Uint8Array> {
  const { size } = await file.stat();
  if (size <= offset) return new Uint8Array(0);
  await file.seek(offset, Deno.SeekMode.Start);
  const buf = new Uint8Array(size - offset);
  let o = 0;
  while (o < buf.length) {
    const n = await file.read(buf.subarray(o));
    if (n === null) break;
    o += n;
  }
  return buf.subarray(0, o);
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch {
    return null;
  }
}

/** Waits for the next file-system event or a timeout, keeping one pending `next()` at a time. */
class ChangeWaiter {
  #it: AsyncIterator<Deno.FsEvent>;
  #pending: Promise<unknown> | null = null;

  constructor(watcher: Deno.FsWatcher) {
    this.#it = watcher[Symbol.asyncIterator]();
  }

  async wait(ms: number): Promise<void> {
    this.#pending ??= this.#it.next().catch(() => {}).then(() => this.#pending = null);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
    try {
      await Promise.race([this.#pending, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
