/**
 * The server side of SPDY/3.1 as Kubernetes streams use it (moby/spdystream): the client opens
 * streams with SYN_STREAM (headers compressed with zlib and SPDY's dictionary, one compression
 * context per direction), the server answers SYN_REPLY, both send DATA frames (FIN ends a
 * direction), PING is echoed, RST_STREAM and GOAWAY end streams. Flow control is not enforced
 * (spdystream does not either). kubectl 1.32 tunnels this protocol through a WebSocket for
 * port-forward (`SPDY/3.1+portforward.k8s.io`).
 *
 * Our own header blocks are written as stored (uncompressed) deflate blocks after a zlib header
 * that names the dictionary: valid zlib, no compressor needed.
 * @module
 */
import zlib from "node:zlib";

const VERSION = 3;
const SYN_STREAM = 1, SYN_REPLY = 2, RST_STREAM = 3, SETTINGS = 4, PING = 6, GOAWAY = 7, HEADERS = 8;
const WINDOW_UPDATE = 9;
const FLAG_FIN = 1;
const MAX_DATA = 32 * 1024;

/** The SPDY/3 header dictionary: length-prefixed names, then a run of common values. */
export function spdyDictionary(): Uint8Array {
  const words = [
    "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
    "accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
    "content-base", "content-encoding", "content-language", "content-length", "content-location",
    "content-md5", "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host",
    "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified",
    "location", "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
    "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via",
    "warning", "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url",
    "public", "set-cookie", "keep-alive", "origin",
  ];
  const tail = "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505" +
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized" +
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable" +
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT" +
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain," +
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";
  const enc = new TextEncoder();
  const parts: number[] = [];
  for (const w of words) {
    const b = enc.encode(w);
    parts.push(0, 0, 0, b.length, ...b);
  }
  parts.push(...enc.encode(tail));
  return new Uint8Array(parts);
}

/** Adler-32 (zlib's dictionary ID). */
export function adler32(b: Uint8Array): number {
  let a = 1, s = 0;
  for (const x of b) {
    a = (a + x) % 65521;
    s = (s + a) % 65521;
  }
  return ((s << 16) | a) >>> 0;
}

/** A header block: uint32 count, then length-prefixed names and values. */
export function encodeHeaders(h: Record<string, string>): Uint8Array {
  const enc = new TextEncoder();
  const entries = Object.entries(h);
  const chunks: Uint8Array[] = [];
  const u32 = (n: number) => new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  chunks.push(u32(entries.length));
  for (const [k, v] of entries) {
    const kb = enc.encode(k.toLowerCase()), vb = enc.encode(v);
    chunks.push(u32(kb.length), kb, u32(vb.length), vb);
  }
  return concat(chunks);
}

export function decodeHeaders(b: Uint8Array): Record<string, string> {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const dec = new TextDecoder();
  const n = view.getUint32(0);
  const out: Record<string, string> = {};
  let off = 4;
  for (let i = 0; i < n; i++) {
    const kl = view.getUint32(off);
    const k = dec.decode(b.subarray(off + 4, off + 4 + kl));
    off += 4 + kl;
    const vl = view.getUint32(off);
    const v = dec.decode(b.subarray(off + 4, off + 4 + vl));
    off += 4 + vl;
    out[k.toLowerCase()] = v.split("\0")[0];
  }
  return out;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Writes header blocks as a zlib stream of stored blocks, naming the SPDY dictionary. */
export class StoredZlibWriter {
  #started = false;
  readonly #dictId: number;

  constructor(dictionary: Uint8Array) {
    this.#dictId = adler32(dictionary);
  }

  write(block: Uint8Array): Uint8Array {
    const parts: Uint8Array[] = [];
    if (!this.#started) {
      this.#started = true;
      // CMF 0x78 (deflate, 32K window); FLG: FDICT, level 3, check bits so that CMF·256+FLG ≡ 0 (mod 31).
      let flg = 0x20 | 0xc0;
      flg += (31 - ((0x78 * 256 + flg) % 31)) % 31;
      const d = this.#dictId;
      parts.push(new Uint8Array([0x78, flg, d >>> 24, (d >>> 16) & 255, (d >>> 8) & 255, d & 255]));
    }
    for (let off = 0; off < block.length; off += 65535) {
      const part = block.subarray(off, off + 65535);
      const len = part.length;
      parts.push(new Uint8Array([0, len & 255, len >>> 8, ~len & 255, (~len >>> 8) & 255]), part);
    }
    // An empty stored block, as zlib's Z_SYNC_FLUSH ends its output: Go's inflater hands out the
    // data of a stored block only when the next block starts, and must not wait for the next frame.
    parts.push(new Uint8Array([0, 0, 0, 0xff, 0xff]));
    return concat(parts);
  }
}

/** One stream of a session. */
export interface SpdyStream {
  readonly id: number;
  readonly headers: Record<string, string>;
  /** Data from the client. */
  onData?: (data: Uint8Array) => void;
  /** The client finished its direction (FIN) or reset the stream. */
  onEnd?: (reset: boolean) => void;
  write(data: Uint8Array): void;
  /** Ends our direction (FIN). */
  end(): void;
  reset(): void;
}

/** A server session over a byte transport. */
export class SpdyServerSession {
  readonly #send: (bytes: Uint8Array) => void;
  readonly #onStream: (s: SpdyStream) => void;
  readonly #dictionary = spdyDictionary();
  readonly #writer = new StoredZlibWriter(this.#dictionary);
  readonly #inflate: ReturnType<typeof zlib.createInflate>;
  #inflated: Uint8Array[] = [];
  #buffer: Uint8Array = new Uint8Array(0);
  readonly #streams = new Map<number, SpdyStream & { ended: boolean; finished: boolean }>();
  #closed = false;
  #lastStream = 0;

  constructor(send: (bytes: Uint8Array) => void, onStream: (s: SpdyStream) => void) {
    this.#send = send;
    this.#onStream = onStream;
    this.#inflate = zlib.createInflate({ dictionary: this.#dictionary });
    this.#inflate.on("data", (c: Uint8Array) => this.#inflated.push(new Uint8Array(c)));
    this.#inflate.on("error", () => this.close());
  }

  /** Feeds bytes from the client (call in order, awaiting each). */
  async receive(bytes: Uint8Array): Promise<void> {
    this.#buffer = this.#buffer.length ? concat([this.#buffer, bytes]) : bytes;
    while (this.#buffer.length >= 8 && !this.#closed) {
      const b = this.#buffer;
      const length = (b[5] << 16) | (b[6] << 8) | b[7];
      if (b.length < 8 + length) break;
      const payload = b.subarray(8, 8 + length);
      const flags = b[4];
      this.#buffer = b.subarray(8 + length);
      if (b[0] & 0x80) await this.#control(((b[2] << 8) | b[3]), flags, payload, b.subarray(0, 8 + length));
      else this.#data(((b[0] & 0x7f) << 24) | (b[1] << 16) | (b[2] << 8) | b[3], flags, payload);
    }
  }

  async #decompress(block: Uint8Array): Promise<Uint8Array> {
    this.#inflated = [];
    this.#inflate.write(block);
    await new Promise<void>((resolve) => this.#inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    return concat(this.#inflated);
  }

  async #control(type: number, flags: number, p: Uint8Array, raw: Uint8Array): Promise<void> {
    const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
    switch (type) {
      case SYN_STREAM: {
        const id = view.getUint32(0) & 0x7fffffff;
        const headers = decodeHeaders(await this.#decompress(p.subarray(10)));
        this.#lastStream = id;
        const stream = this.#stream(id, headers);
        this.#send(this.#frameControl(SYN_REPLY, 0, concat([u32(id), this.#writer.write(encodeHeaders({}))])));
        this.#onStream(stream);
        if (flags & FLAG_FIN) this.#ended(id, false);
        return;
      }
      case HEADERS:
        await this.#decompress(p.subarray(4)); // keep the compression context in step
        return;
      case RST_STREAM:
        this.#ended(view.getUint32(0) & 0x7fffffff, true);
        return;
      case PING:
        this.#send(raw.slice()); // echoed as it came
        return;
      case GOAWAY:
        this.close();
        return;
      case SETTINGS:
      case WINDOW_UPDATE:
      default:
        return;
    }
  }

  #data(id: number, flags: number, p: Uint8Array): void {
    const s = this.#streams.get(id);
    if (!s || s.ended) return;
    if (p.length) guard(() => s.onData?.(p.slice()));
    if (flags & FLAG_FIN) this.#ended(id, false);
  }

  #ended(id: number, reset: boolean): void {
    const s = this.#streams.get(id);
    if (!s || s.ended) return;
    s.ended = true;
    guard(() => s.onEnd?.(reset));
    if (reset) s.finished = true;
    if (s.finished) this.#streams.delete(id);
  }

  #frameControl(type: number, flags: number, payload: Uint8Array): Uint8Array {
    const h = new Uint8Array(8);
    h[0] = 0x80 | (VERSION >> 8);
    h[1] = VERSION & 255;
    h[2] = type >> 8;
    h[3] = type & 255;
    h[4] = flags;
    h[5] = (payload.length >> 16) & 255;
    h[6] = (payload.length >> 8) & 255;
    h[7] = payload.length & 255;
    return concat([h, payload]);
  }

  #frameData(id: number, flags: number, payload: Uint8Array): Uint8Array {
    const h = u32(id & 0x7fffffff);
    const out = new Uint8Array(8 + payload.length);
    out.set(h);
    out[4] = flags;
    out[5] = (payload.length >> 16) & 255;
    out[6] = (payload.length >> 8) & 255;
    out[7] = payload.length & 255;
    out.set(payload, 8);
    return out;
  }

  #stream(id: number, headers: Record<string, string>) {
    const session = this;
    const s = {
      id,
      headers,
      ended: false,
      finished: false,
      write(data: Uint8Array) {
        if (s.finished || session.#closed) return;
        for (let off = 0; off < data.length; off += MAX_DATA) {
          session.#send(session.#frameData(id, 0, data.subarray(off, off + MAX_DATA)));
        }
      },
      end() {
        if (s.finished || session.#closed) return;
        s.finished = true;
        session.#send(session.#frameData(id, FLAG_FIN, new Uint8Array()));
        if (s.ended) session.#streams.delete(id);
      },
      reset() {
        if (session.#closed) return;
        s.finished = true;
        session.#send(session.#frameControl(RST_STREAM, 0, concat([u32(id), u32(5 /* CANCEL */)])));
        session.#ended(id, true);
      },
    } as SpdyStream & { ended: boolean; finished: boolean };
    this.#streams.set(id, s);
    return s;
  }

  /** Ends the session: every stream is reset, a GOAWAY is sent. */
  close(): void {
    if (this.#closed) return;
    try {
      this.#send(this.#frameControl(GOAWAY, 0, concat([u32(this.#lastStream), u32(0)])));
    } catch { /* transport gone */ }
    this.#closed = true;
    for (const s of this.#streams.values()) {
      if (!s.ended) {
        s.ended = true;
        guard(() => s.onEnd?.(true));
      }
    }
    this.#streams.clear();
    this.#inflate.close();
  }
}

/** A stream handler's failure must not end the session. */
function guard(f: () => void): void {
  try {
    f();
  } catch (e) {
    console.error("spdy: a stream handler failed:", e);
  }
}

function u32(n: number): Uint8Array {
  return new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}
