/**
 * `wasi:io` (error, poll, streams) for one component instance. Blocking calls never block the
 * sandbox's event loop: when nothing is ready they return a Promise, and the component is
 * transpiled with JSPI so that only this guest is suspended until it settles. Every wait also
 * ends when the instance's abort signal fires, which unwinds the guest (how a container is
 * stopped).
 * @module
 */

/** `wasi:io/error.error`. */
export class IoError {
  readonly #message: string;
  /** The `wasi:http` error code this error stands for, when it comes from an HTTP body. */
  readonly httpErrorCode?: unknown;

  constructor(message: string, httpErrorCode?: unknown) {
    this.#message = message;
    this.httpErrorCode = httpErrorCode;
  }

  toDebugString(): string {
    return this.#message;
  }
}

/** Something a pollable waits for. */
export interface Readiness {
  ready(): boolean;
  /** Settles when `ready()` has become true (it may settle early; callers re-check). */
  wait(): Promise<void>;
}

/** Always ready. */
export const READY: Readiness = { ready: () => true, wait: () => Promise.resolve() };

/** Ready once `p` settles. */
export function promiseReadiness(p: Promise<unknown>): Readiness {
  let done = false;
  const settled = p.then(() => {
    done = true;
  }, () => {
    done = true;
  });
  return { ready: () => done, wait: () => settled };
}

/** Rejects with `signal.reason` when it aborts first. */
export function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then((v) => {
      signal.removeEventListener("abort", onAbort);
      resolve(v);
    }, (e) => {
      signal.removeEventListener("abort", onAbort);
      reject(e);
    });
  });
}

/** A source of bytes behind an input stream. */
export interface ByteSource extends Readiness {
  /** Up to `max` bytes that are available now (maybe none); `null` at the end. Throws IoError. */
  read(max: number): Uint8Array | null;
  close?(): void;
}

/** A sink of bytes behind an output stream. */
export interface ByteSink {
  /** Takes bytes (the sink must copy them if it keeps them). Throws IoError when it fails. */
  write(bytes: Uint8Array): void;
  /** How many bytes `write` accepts now (default: 1 MiB). */
  capacity?(): number;
  /** Readiness of capacity (default: always ready). */
  readiness?: Readiness;
  flush?(): void | Promise<void>;
  close?(): void;
}

const CLOSED = { tag: "closed" } as const;

/** The streams and pollables of one instance. */
export interface IoImports {
  "wasi:io/error": { Error: typeof IoError };
  "wasi:io/poll": { Pollable: typeof Pollable; poll(list: Pollable[]): Uint32Array | Promise<Uint32Array> };
  "wasi:io/streams": { InputStream: typeof InputStream; OutputStream: typeof OutputStream };
}

/** `wasi:io/poll.pollable`: `block` suspends the guest (JSPI) until ready or aborted. */
export class Pollable {
  readonly #src: Readiness;
  readonly #signal?: AbortSignal;

  constructor(src: Readiness = READY, signal?: AbortSignal) {
    this.#src = src;
    this.#signal = signal;
  }

  ready(): boolean {
    return this.#src.ready();
  }

  block(): void | Promise<void> {
    if (this.#src.ready()) return;
    return this.#wait();
  }

  /** Settles when ready (or rejects when the instance is aborted). */
  async #wait(): Promise<void> {
    while (!this.#src.ready()) {
      await (this.#signal ? abortable(this.#src.wait(), this.#signal) : this.#src.wait());
    }
  }

  /** For `poll`: settles when ready. */
  waitReady(): Promise<void> {
    return this.#src.ready() ? Promise.resolve() : this.#wait();
  }
}

/** `wasi:io/poll.poll`: the indices ready now, or a Promise of them when none is. */
export function poll(list: Pollable[]): Uint32Array | Promise<Uint32Array> {
  if (list.length === 0) throw new Error("poll list must not be empty");
  const now = readyIndices(list);
  if (now.length) return now;
  return Promise.race(list.map((p) => p.waitReady())).then(() => readyIndices(list));
}

function readyIndices(list: Pollable[]): Uint32Array {
  const out: number[] = [];
  for (let i = 0; i < list.length; i++) if (list[i].ready()) out.push(i);
  return Uint32Array.from(out);
}

/** `wasi:io/streams.input-stream`. */
export class InputStream {
  readonly #src: ByteSource;
  readonly #signal?: AbortSignal;
  #closed = false;

  constructor(src: ByteSource, signal?: AbortSignal) {
    this.#src = src;
    this.#signal = signal;
  }

  read(len: bigint): Uint8Array {
    if (this.#closed) throw CLOSED;
    const bytes = this.#src.read(Number(len > 0x7fffffffn ? 0x7fffffffn : len));
    if (bytes === null) throw CLOSED;
    return bytes;
  }

  blockingRead(len: bigint): Uint8Array | Promise<Uint8Array> {
    if (this.#closed) throw CLOSED;
    if (len === 0n || this.#src.ready()) return this.read(len);
    return this.#waitThen(() => this.read(len));
  }

  skip(len: bigint): bigint {
    return BigInt(this.read(len).byteLength);
  }

  blockingSkip(len: bigint): bigint | Promise<bigint> {
    const r = this.blockingRead(len);
    return r instanceof Promise ? r.then((b) => BigInt(b.byteLength)) : BigInt(r.byteLength);
  }

  subscribe(): Pollable {
    return new Pollable(this.#src, this.#signal);
  }

  async #waitThen<T>(f: () => T): Promise<T> {
    const p = new Pollable(this.#src, this.#signal);
    await p.waitReady();
    return f();
  }

  [Symbol.dispose](): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#src.close?.();
  }
}

const DEFAULT_CAPACITY = 1 << 20;

/** `wasi:io/streams.output-stream`. */
export class OutputStream {
  readonly #sink: ByteSink;
  readonly #signal?: AbortSignal;
  #closed = false;

  constructor(sink: ByteSink, signal?: AbortSignal) {
    this.#sink = sink;
    this.#signal = signal;
  }

  checkWrite(): bigint {
    if (this.#closed) throw CLOSED;
    return BigInt(this.#sink.capacity?.() ?? DEFAULT_CAPACITY);
  }

  write(contents: Uint8Array): void {
    if (this.#closed) throw CLOSED;
    try {
      this.#sink.write(contents);
    } catch (e) {
      throw failed(e);
    }
  }

  blockingWriteAndFlush(contents: Uint8Array): void | Promise<void> {
    if (this.#closed) throw CLOSED;
    const cap = this.#sink.readiness;
    if (cap && !cap.ready()) {
      return abortableWait(cap, this.#signal).then(() => this.blockingWriteAndFlush(contents));
    }
    this.write(contents);
    return this.blockingFlush();
  }

  flush(): void {
    if (this.#closed) throw CLOSED;
    try {
      const r = this.#sink.flush?.();
      if (r instanceof Promise) r.catch(() => {});
    } catch (e) {
      throw failed(e);
    }
  }

  blockingFlush(): void | Promise<void> {
    if (this.#closed) throw CLOSED;
    let r: void | Promise<void>;
    try {
      r = this.#sink.flush?.();
    } catch (e) {
      throw failed(e);
    }
    if (r instanceof Promise) {
      return (this.#signal ? abortable(r, this.#signal) : r).catch((e) => Promise.reject(failed(e)));
    }
  }

  subscribe(): Pollable {
    return new Pollable(this.#sink.readiness ?? READY, this.#signal);
  }

  writeZeroes(len: bigint): void {
    this.write(new Uint8Array(Number(len)));
  }

  blockingWriteZeroesAndFlush(len: bigint): void | Promise<void> {
    return this.blockingWriteAndFlush(new Uint8Array(Number(len)));
  }

  splice(src: InputStream, len: bigint): bigint {
    const n = BigInt(Math.min(Number(len), Number(this.checkWrite())));
    const bytes = src.read(n);
    this.write(bytes);
    return BigInt(bytes.byteLength);
  }

  blockingSplice(src: InputStream, len: bigint): bigint | Promise<bigint> {
    const n = BigInt(Math.min(Number(len), Number(this.checkWrite())));
    const r = src.blockingRead(n);
    const finish = (bytes: Uint8Array) => {
      this.write(bytes);
      return BigInt(bytes.byteLength);
    };
    return r instanceof Promise ? r.then(finish) : finish(r);
  }

  [Symbol.dispose](): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sink.close?.();
  }
}

function abortableWait(r: Readiness, signal?: AbortSignal): Promise<void> {
  return new Pollable(r, signal).waitReady();
}

function failed(e: unknown): { tag: "last-operation-failed"; val: IoError } | { tag: "closed" } {
  if (e && typeof e === "object" && (e as { tag?: string }).tag === "closed") return CLOSED;
  if (e instanceof IoError) return { tag: "last-operation-failed", val: e };
  return { tag: "last-operation-failed", val: new IoError(e instanceof Error ? e.message : String(e)) };
}

/**
 * A byte queue usable as a {@linkcode ByteSource}: producers `push`, `end` or `fail`; the
 * guest reads. Optionally pulls from a ReadableStream on first demand.
 */
export class ByteQueue implements ByteSource {
  #chunks: Uint8Array[] = [];
  #ended = false;
  #error?: IoError;
  #wake?: () => void;
  #waiting?: Promise<void>;
  #pull?: () => void;

  /** A queue fed from a stream, read lazily (the first read starts the pump). */
  static fromStream(stream: ReadableStream<Uint8Array> | null, onError?: (e: unknown) => IoError): ByteQueue {
    const q = new ByteQueue();
    if (!stream) {
      q.end();
      return q;
    }
    let started = false;
    q.#pull = () => {
      if (started) return;
      started = true;
      (async () => {
        try {
          for await (const chunk of stream) q.push(chunk);
          q.end();
        } catch (e) {
          q.fail(onError ? onError(e) : new IoError((e as Error)?.message ?? String(e)));
        }
      })();
    };
    return q;
  }

  push(chunk: Uint8Array): void {
    if (chunk.byteLength) this.#chunks.push(chunk);
    this.#notify();
  }

  end(): void {
    this.#ended = true;
    this.#notify();
  }

  fail(error: IoError): void {
    this.#error = error;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    this.#waiting = undefined;
    wake?.();
  }

  ready(): boolean {
    this.#pull?.();
    return this.#chunks.length > 0 || this.#ended || this.#error !== undefined;
  }

  wait(): Promise<void> {
    this.#pull?.();
    if (this.ready()) return Promise.resolve();
    this.#waiting ??= new Promise<void>((r) => (this.#wake = r));
    return this.#waiting;
  }

  read(max: number): Uint8Array | null {
    this.#pull?.();
    if (this.#chunks.length === 0) {
      if (this.#error) throw this.#error;
      return this.#ended ? null : new Uint8Array(0);
    }
    const first = this.#chunks[0];
    if (first.byteLength <= max) {
      this.#chunks.shift();
      return first;
    }
    this.#chunks[0] = first.subarray(max);
    return first.subarray(0, max);
  }

  close(): void {
    this.#chunks = [];
  }
}

/** The `wasi:io` imports. Every pollable and stream the host returns is of these classes. */
export function ioImports(): IoImports {
  return {
    "wasi:io/error": { Error: IoError },
    "wasi:io/poll": { Pollable, poll },
    "wasi:io/streams": { InputStream, OutputStream },
  };
}
