/**
 * A plugin's state file: the on-disk copy of its private state store (`skiff:host/state`), an
 * append-only log of changes. The first line is the header `{"skiff-state":2}`; each further
 * line is ONE flush (the changes of one plugin call, written with one `write`): a JSON array of
 * `[key, base64]` (set) and `[key, null]` (delete). Replay applies the lines in order; a last
 * line without its newline, or one that does not parse (a crash mid-write), ends the replay,
 * so a call's changes are all there or none are. The log is compacted (the live entries as one
 * line under a fresh header, written to `<file>.tmp` and renamed over it) when it grows past
 * twice the live size plus 64 KiB, and at start when it is over that, torn, or in the older
 * format (the whole store as one JSON array of `[key, base64]`, which still loads).
 * @module
 */

/** The first line of a state file in the log format. */
export const HEADER = '{"skiff-state":2}';
/** Log bytes allowed on top of twice the live size before compacting. */
export const COMPACT_FLOOR = 64 * 1024;

/** One change of a flush: a key's new value (base64), or null when it was deleted. */
export type Change = readonly [key: string, base64: string | null];

/** What a state file holds. Pure. */
export interface Decoded {
  /** The live entries (values in base64), in first-set order. */
  entries: Map<string, string>;
  /** `log` (this format), `legacy` (the older whole array), `empty` (nothing or unreadable). */
  format: "log" | "legacy" | "empty";
  /** The log ended in a torn or unreadable line, which was ignored. */
  torn: boolean;
}

const encoder = new TextEncoder();

function isChange(c: unknown): c is Change {
  return Array.isArray(c) && c.length === 2 && typeof c[0] === "string" &&
    (c[1] === null || typeof c[1] === "string");
}

function changesOf(line: string): Change[] | null {
  try {
    const v = JSON.parse(line) as unknown;
    return Array.isArray(v) && v.every(isChange) ? v : null;
  } catch {
    return null;
  }
}

/** Replays a state file's text (either format). Pure. */
export function decodeState(text: string): Decoded {
  const entries = new Map<string, string>();
  if (!text.startsWith(HEADER + "\n")) {
    // The older format: the whole store, one JSON array of [key, base64] (no newline).
    const all = text.trim() ? changesOf(text) : null;
    for (const [k, v] of all ?? []) if (v !== null) entries.set(k, v);
    return { entries, format: all ? "legacy" : "empty", torn: false };
  }
  const lines = text.slice(HEADER.length + 1).split("\n");
  // The text after the last newline is a line whose write did not finish (or nothing).
  let torn = lines.pop() !== "";
  for (const line of lines) {
    const changes = changesOf(line);
    if (!changes) {
      torn = true;
      break;
    }
    for (const [k, v] of changes) v === null ? entries.delete(k) : entries.set(k, v);
  }
  return { entries, format: "log", torn };
}

/** One flush's log line (with its newline). Pure. */
export function encodeChanges(changes: readonly Change[]): string {
  return JSON.stringify(changes) + "\n";
}

/** A whole state file holding exactly `entries`. Pure. */
export function encodeSnapshot(entries: Iterable<readonly [string, string]>): string {
  const all = [...entries];
  return HEADER + "\n" + (all.length ? encodeChanges(all) : "");
}

/** The bytes an entry takes in a snapshot line (JSON quoting of plain keys, brackets, comma). */
export function entryBytes(key: string, base64: string): number {
  return key.length + base64.length + 8;
}

/** Whether a log of `logBytes` holding `liveBytes` of live entries should be compacted. Pure. */
export function overgrown(logBytes: number, liveBytes: number, floor = COMPACT_FLOOR): boolean {
  return logBytes > 2 * liveBytes + floor;
}

/**
 * base64 of each stored value, kept while the value is stored: the state store keeps its own
 * copy of each value, so a value's bytes never change under the same object, and a compaction
 * re-encodes nothing.
 */
const encoded = new WeakMap<Uint8Array, string>();

/** `v` in base64 (cached per value object). */
export function base64(v: Uint8Array): string {
  let s = encoded.get(v);
  if (s === undefined) encoded.set(v, s = (v as Base64Bytes).toBase64());
  return s;
}

/** `Uint8Array.prototype.toBase64` / `Uint8Array.fromBase64` (V8 has them; TS's lib not yet). */
type Base64Bytes = Uint8Array & { toBase64(): string };
const fromBase64 = (s: string) =>
  (Uint8Array as unknown as { fromBase64(s: string): Uint8Array }).fromBase64(s);

/**
 * The changes that turn the saved store into `entries` (values compared by identity, since the
 * store copies every value it is given: an unchanged key keeps its object). Pure.
 */
export function changesFrom(
  saved: ReadonlyMap<string, Uint8Array>,
  entries: readonly (readonly [string, Uint8Array])[],
): [string, Uint8Array | null][] {
  const out: [string, Uint8Array | null][] = [];
  const seen = new Set<string>();
  let kept = 0;
  for (const [k, v] of entries) {
    seen.add(k);
    if (saved.has(k)) kept++;
    if (saved.get(k) !== v) out.push([k, v]);
  }
  if (kept < saved.size) { for (const k of saved.keys()) if (!seen.has(k)) out.push([k, null]); }
  return out;
}

/**
 * The state file of one plugin, open for its runner: the entries it held at start, and `save`,
 * which appends the changes since the last save with one synchronous write (compacting when
 * the log has grown too big).
 */
export class StateFile {
  readonly path: string;
  /** Why the file could not be read at start (the store then starts empty), if it could not. */
  readonly problem?: string;
  /** The store as on disk: the value objects the runner's store holds. */
  #saved = new Map<string, Uint8Array>();
  #liveBytes = 0;
  #logBytes = 0;
  #handle: Deno.FsFile | null = null;
  /** The next save rewrites the file (missing, older format, torn, or a write failed). */
  #rewrite = true;

  private constructor(path: string, text: string | null, problem?: string) {
    this.path = path;
    this.problem = problem;
    if (text === null) return;
    const d = decodeState(text);
    for (const [k, b] of d.entries) {
      const v = fromBase64(b);
      encoded.set(v, b);
      this.#saved.set(k, v);
      this.#liveBytes += entryBytes(k, b);
    }
    this.#logBytes = encoder.encode(text).length;
    this.#rewrite = d.format !== "log" || d.torn || overgrown(this.#logBytes, this.#liveBytes);
    if (d.format === "empty" && text.trim()) {
      this.problem = `${path} is not a state file; the state store starts empty`;
    }
  }

  /** Opens (and replays) `path`; compacts it at once when it is torn, overgrown or older. */
  static open(path: string): StateFile {
    let file: StateFile;
    try {
      file = new StateFile(path, Deno.readTextFileSync(path));
    } catch (e) {
      const missing = e instanceof Deno.errors.NotFound;
      return new StateFile(
        path,
        null,
        missing
          ? undefined
          : `${path} could not be read (${(e as Error).message}); the state store starts empty`,
      );
    }
    if (file.#rewrite) file.#compact();
    return file;
  }

  /** The stored entries (the same value objects `save` compares against). */
  entries(): [string, Uint8Array][] {
    return [...this.#saved];
  }

  /** Live entries and log size, in bytes (for tests and benchmarks). */
  get sizes(): { live: number; log: number } {
    return { live: this.#liveBytes, log: this.#logBytes };
  }

  /** Makes the file hold `entries`: appends what changed since the last save (one write). */
  save(entries: readonly (readonly [string, Uint8Array])[]): void {
    const changes = changesFrom(this.#saved, entries);
    if (!changes.length && !this.#rewrite) return;
    const lines: Change[] = [];
    for (const [k, v] of changes) {
      const old = this.#saved.get(k);
      if (old) this.#liveBytes -= entryBytes(k, base64(old));
      if (v) {
        const b = base64(v);
        this.#liveBytes += entryBytes(k, b);
        this.#saved.set(k, v);
        lines.push([k, b]);
      } else {
        this.#saved.delete(k);
        lines.push([k, null]);
      }
    }
    const bytes = encoder.encode(encodeChanges(lines));
    if (this.#rewrite || overgrown(this.#logBytes + bytes.length, this.#liveBytes)) return this.#compact();
    try {
      this.#handle ??= Deno.openSync(this.path, { append: true });
    } catch (e) {
      // Gone (removed under the runner): write it whole again.
      if (e instanceof Deno.errors.NotFound) return this.#compact();
      throw e;
    }
    try {
      for (let at = 0; at < bytes.length;) at += this.#handle.writeSync(bytes.subarray(at));
    } catch (e) {
      // Part of the line may be there: the next save rewrites the whole file.
      this.#rewrite = true;
      throw e;
    }
    this.#logBytes += bytes.length;
  }

  /** Rewrites the file as exactly the live entries (temp file + rename). */
  #compact(): void {
    this.#rewrite = true;
    const bytes = encoder.encode(encodeSnapshot([...this.#saved].map(([k, v]) => [k, base64(v)] as const)));
    this.#handle?.close();
    this.#handle = null;
    Deno.writeFileSync(`${this.path}.tmp`, bytes);
    Deno.renameSync(`${this.path}.tmp`, this.path);
    this.#logBytes = bytes.length;
    this.#rewrite = false;
  }

  /** Closes the append handle (the file stays). */
  close(): void {
    this.#handle?.close();
    this.#handle = null;
  }
}

/** The entries of the state file at `path` (either format; empty when missing). */
export function readStateFile(path: string): Map<string, Uint8Array> {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return new Map();
    throw e;
  }
  return new Map([...decodeState(text).entries].map(([k, b]) => [k, fromBase64(b)]));
}
