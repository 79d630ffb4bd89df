/**
 * The API bench's HTTP client: HTTP/1.1 keep-alive connections written to directly, as `wrk` and
 * other load generators do, with every request encoded before the clock starts. Deno's `fetch`
 * allocates tens of KiB per request (headers, streams, promises), and in the load worker that set
 * off young-generation scavenges of several milliseconds each that stalled the worker itself, so the
 * client-side p99 measured the client too; this one allocates next to nothing per request.
 *
 * It speaks only what the bench needs: one request at a time per connection (a new connection when
 * every open one is busy), responses framed by `Content-Length` (what the API server sends for a
 * JSON object or Status), no redirects, no TLS.
 *
 * @example
 * ```ts ignore
 * const http = new RawHttp("127.0.0.1", 8080);
 * const req = encodeRequest("POST", "/api/v1/namespaces/default/configmaps", "127.0.0.1:8080", json);
 * const { status } = await http.send(req);
 * http.close();
 * ```
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CR = 13;
const LF = 10;

/** An HTTP/1.1 request with a JSON body, as bytes. */
export function encodeRequest(method: string, path: string, host: string, body: string): Uint8Array {
  const payload = encoder.encode(body);
  const head = encoder.encode(
    `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
      `Accept: application/json\r\nContent-Length: ${payload.length}\r\n\r\n`,
  );
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

/** What the bench reads of a response: its status and, when asked for, one header's value. */
export interface RawResponse {
  status: number;
  /** The value of the header named in `send`, if the response has it. */
  header: string | null;
  /** The body, decoded, only when the status was not the expected one (for the error message). */
  body?: string;
}

/** Index of the first CRLFCRLF in `buf[from, to)`, or -1. */
function headEnd(buf: Uint8Array, from: number, to: number): number {
  for (let i = Math.max(3, from); i < to; i++) {
    if (buf[i] === LF && buf[i - 1] === CR && buf[i - 2] === LF && buf[i - 3] === CR) return i + 1;
  }
  return -1;
}

/** Whether the header line starting at `at` has the name `lower` (lower case, with its colon). */
function nameIs(buf: Uint8Array, at: number, lower: Uint8Array): boolean {
  for (let j = 0; j < lower.length; j++) {
    const c = buf[at + j];
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== lower[j]) return false;
  }
  return true;
}

const CONTENT_LENGTH = encoder.encode("content-length:");
const headerNames = new Map<string, Uint8Array>();
const TRANSFER_ENCODING = encoder.encode("transfer-encoding:");

/** The server closed the connection; `early` when no byte of the response had arrived. */
class ConnectionClosed extends Error {
  constructor(readonly early: boolean) {
    super("the server closed the connection");
  }
}

class Connection {
  /** Whether a request has completed on it (a kept-alive connection the server may have closed). */
  reused = false;
  readonly #conn: Deno.TcpConn;
  #buf = new Uint8Array(16 * 1024);
  #len = 0;

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  async #fill(): Promise<void> {
    if (this.#len === this.#buf.length) {
      const grown = new Uint8Array(this.#buf.length * 2);
      grown.set(this.#buf);
      this.#buf = grown;
    }
    const n = await this.#conn.read(this.#buf.subarray(this.#len));
    if (n === null) throw new ConnectionClosed(this.#len === 0);
    this.#len += n;
  }

  async roundTrip(req: Uint8Array, header: Uint8Array | null, expected: number): Promise<RawResponse> {
    try {
      for (let sent = 0; sent < req.length;) sent += await this.#conn.write(req.subarray(sent));
    } catch {
      throw new ConnectionClosed(true); // reset or broken pipe: the server never read the request
    }
    let end = -1;
    let scanned = 0;
    while ((end = headEnd(this.#buf, scanned, this.#len)) < 0) {
      scanned = this.#len;
      await this.#fill();
    }
    const buf = this.#buf;
    const status = (buf[9] - 48) * 100 + (buf[10] - 48) * 10 + (buf[11] - 48);
    let length = -1;
    let value: string | null = null;
    for (let at = 0; at < end - 2;) {
      let eol = at;
      while (buf[eol] !== CR) eol++;
      if (nameIs(buf, at, CONTENT_LENGTH)) {
        length = 0;
        for (let j = at + CONTENT_LENGTH.length; j < eol; j++) {
          if (buf[j] >= 48 && buf[j] <= 57) length = length * 10 + buf[j] - 48;
        }
      } else if (nameIs(buf, at, TRANSFER_ENCODING)) {
        throw new Error("the bench's HTTP client reads only responses with a Content-Length");
      } else if (header && nameIs(buf, at, header)) {
        value = decoder.decode(buf.subarray(at + header.length, eol)).trim();
      }
      at = eol + 2;
    }
    if (length < 0) throw new Error(`a response without a Content-Length (status ${status})`);
    while (this.#len < end + length) await this.#fill();
    // (Reading may have grown the buffer: use the current one.)
    const body = status === expected ? undefined : decoder.decode(this.#buf.subarray(end, end + length));
    // Keep what follows (nothing, one request at a time) at the front.
    this.#buf.copyWithin(0, end + length, this.#len);
    this.#len -= end + length;
    return { status, header: value, ...(body !== undefined ? { body } : {}) };
  }

  close() {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

/** A pool of keep-alive connections to one server, each carrying one request at a time. */
export class RawHttp {
  readonly #hostname: string;
  readonly #port: number;
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();

  constructor(hostname: string, port: number) {
    this.#hostname = hostname;
    this.#port = port;
  }

  /**
   * Sends one encoded request and reads its whole response. `header` (lower case) names a response
   * header to return; a status other than `expected` also returns the body.
   */
  async send(req: Uint8Array, expected: number, header?: string): Promise<RawResponse> {
    let name = header ? headerNames.get(header) : undefined;
    if (header && !name) headerNames.set(header, name = encoder.encode(`${header}:`));
    for (;;) {
      const conn = this.#idle.pop() ?? await this.#connect();
      try {
        const res = await conn.roundTrip(req, name ?? null, expected);
        conn.reused = true;
        this.#idle.push(conn);
        return res;
      } catch (e) {
        this.#all.delete(conn);
        conn.close();
        // A kept-alive connection the server had closed before reading this request: as other
        // HTTP clients do, send it again on a new connection.
        if (e instanceof ConnectionClosed && e.early && conn.reused) continue;
        throw e;
      }
    }
  }

  async #connect(): Promise<Connection> {
    const tcp = await Deno.connect({ hostname: this.#hostname, port: this.#port });
    tcp.setNoDelay(true);
    const conn = new Connection(tcp);
    this.#all.add(conn);
    return conn;
  }

  close() {
    for (const c of this.#all) c.close();
    this.#all.clear();
    this.#idle.length = 0;
  }
}
