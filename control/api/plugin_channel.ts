/**
 * How the API server and the scheduler call the plugin host (control/api/plugins.ts): over one
 * long-lived TCP (TLS for an `https` host) connection, the host's channel, carrying every call as
 * a line `{"id", "path", "body"}` answered by `{"id", "status", "body"}` — the status and body
 * the host would answer to `POST <path>` (plugins/host/channel.ts is the host's side). The host's
 * HTTP API names the channel's port (`GET /channel`); the connection starts with the bearer
 * token (`{"token"}`). A per-call HTTP request costs several times the round trip of a line on
 * an open socket (Deno's fetch on loopback: ≈0.12 ms p50 and 0.4–1.1 ms p99, against ≈0.04 ms
 * and 0.2 ms; docs/benchmarks.md), and admission and scheduling calls are on the critical path
 * of a request and of a scheduling cycle.
 *
 * When the channel cannot be opened (a host without it, no route to its port) calls go over
 * HTTP (`POST <url><path>`), and the channel is tried again 5 s later. A call whose connection
 * closes before it is answered is sent again over HTTP while its deadline allows (every plugin
 * call is idempotent).
 * @module
 */

/** Options of a {@linkcode PluginHostCaller}. */
export interface PluginHostCallerOptions {
  /** The plugin host's URL (`https://127.0.0.1:<port>`); with `fetch`, maybe only its name. */
  url: string;
  /** Bearer token the plugin host expects. */
  token?: string;
  /** CA of the plugin host's serving certificate (PEM). */
  caCerts?: string[];
  /** Replaces fetch for the HTTP calls (tests, `./skiff up`). */
  fetch?: (req: Request) => Promise<Response>;
  /**
   * Where the host listens now, for the channel, when `url` only names it (`./skiff up`); null
   * while unknown. With `fetch` and without this, every call uses `fetch`.
   */
  channelUrl?: () => string | null;
}

/** A call's answer: the HTTP status the host chose and its JSON body (null: none, or not JSON). */
export interface PluginHostAnswer {
  status: number;
  body: unknown;
}

/** A line on the channel, host → caller. */
interface Reply {
  id: number;
  status: number;
  body: unknown;
}

const RETRY_CHANNEL_MS = 5000;
const OPEN_TIMEOUT_MS = 2000;
const ENCODER = new TextEncoder();

/** Calls the plugin host: over its channel when it opens, HTTP otherwise. `close()` when done. */
export class PluginHostCaller {
  readonly #opts: PluginHostCallerOptions;
  readonly #client: Deno.HttpClient | undefined;
  readonly #fetch: (req: Request) => Promise<Response>;
  #conn: Deno.Conn | null = null;
  #opening: Promise<Deno.Conn | null> | null = null;
  #writing: Promise<void> = Promise.resolve();
  #retryAt = 0;
  #next = 1;
  #closed = false;
  readonly #pending = new Map<number, { resolve(r: Reply): void; reject(e: Error): void }>();
  /** Calls answered over the channel and over HTTP (benchmarks, tests). */
  readonly stats = { channel: 0, http: 0 };

  constructor(opts: PluginHostCallerOptions) {
    this.#opts = opts;
    this.#client = opts.caCerts?.length ? Deno.createHttpClient({ caCerts: opts.caCerts }) : undefined;
    this.#fetch = opts.fetch ?? ((req) => fetch(req, this.#client ? { client: this.#client } : undefined));
  }

  /**
   * `POST <path>` with a JSON body; rejects when the host cannot be reached or does not answer
   * within `timeoutMs`. `counted: false` leaves it out of {@linkcode stats} (a question about
   * the calls, not a call: control/api/plugin_direct.ts).
   */
  async post(path: string, body: unknown, timeoutMs: number, opts?: { counted?: boolean }): Promise<PluginHostAnswer> {
    const count = opts?.counted !== false;
    const deadline = Date.now() + timeoutMs;
    const conn = this.#conn ?? await this.#channel(Math.min(timeoutMs, OPEN_TIMEOUT_MS));
    if (conn) {
      try {
        const r = await this.#send(conn, path, body, deadline);
        if (count) this.stats.channel++;
        return { status: r.status, body: r.body ?? null };
      } catch (e) {
        if (!(e instanceof ChannelClosed) || Date.now() >= deadline) throw e;
      }
    }
    const res = await this.#fetch(
      new Request(`${this.#opts.url}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...this.#auth() },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
      }),
    );
    const answer = { status: res.status, body: await res.json().catch(() => null) };
    if (count) this.stats.http++;
    return answer;
  }

  /** Closes the channel (calls in flight on it fail) and the HTTP client. */
  close(): void {
    this.#closed = true;
    this.#drop(this.#conn);
    this.#client?.close();
  }

  #auth(): Record<string, string> {
    return this.#opts.token ? { Authorization: `Bearer ${this.#opts.token}` } : {};
  }

  #send(conn: Deno.Conn, path: string, body: unknown, deadline: number): Promise<Reply> {
    const id = this.#next++;
    const { promise, resolve, reject } = Promise.withResolvers<Reply>();
    const timer = setTimeout(() => {
      this.#pending.delete(id);
      reject(new Error(`no answer within the call's deadline`));
    }, Math.max(1, deadline - Date.now()));
    this.#pending.set(id, {
      resolve: (r) => (clearTimeout(timer), resolve(r)),
      reject: (e) => (clearTimeout(timer), reject(e)),
    });
    this.#write(conn, JSON.stringify({ id, path, body }));
    return promise;
  }

  #write(conn: Deno.Conn, line: string): void {
    const bytes = ENCODER.encode(line + "\n");
    this.#writing = this.#writing.then(() => writeAll(conn, bytes)).catch(() => this.#drop(conn));
  }

  /** The open channel, opening it if needed; null: use HTTP for now. */
  #channel(openTimeoutMs: number): Promise<Deno.Conn | null> | null {
    if (this.#closed || Date.now() < this.#retryAt) return null;
    const base = this.#opts.channelUrl ? this.#opts.channelUrl() : this.#opts.fetch ? null : this.#opts.url;
    if (!base) return null;
    return this.#opening ??= this.#open(base, openTimeoutMs)
      .catch(() => {
        this.#retryAt = Date.now() + RETRY_CHANNEL_MS;
        return null;
      })
      .finally(() => (this.#opening = null));
  }

  async #open(base: string, timeoutMs: number): Promise<Deno.Conn | null> {
    const url = new URL(base);
    const signal = AbortSignal.timeout(timeoutMs);
    const res = await fetch(`${base}/channel`, { headers: this.#auth(), signal, ...(this.#client ? { client: this.#client } : {}) });
    const port = res.ok ? ((await res.json().catch(() => null)) as { port?: unknown } | null)?.port : await res.body?.cancel();
    if (typeof port !== "number") throw new Error(`the plugin host has no channel (${res.status})`);
    const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const conn: Deno.Conn = url.protocol === "https:"
      ? await Deno.connectTls({ hostname, port, caCerts: this.#opts.caCerts })
      : await Deno.connect({ hostname, port });
    if (this.#closed) {
      conn.close();
      return null;
    }
    (conn as Deno.TcpConn).setNoDelay?.(true);
    this.#conn = conn;
    this.#write(conn, JSON.stringify({ token: this.#opts.token ?? null }));
    void this.#read(conn);
    return conn;
  }

  async #read(conn: Deno.Conn): Promise<void> {
    await eachLine(conn, (line) => {
      let r: Reply;
      try {
        r = JSON.parse(line);
      } catch {
        return false;
      }
      const p = this.#pending.get(r.id);
      if (p) {
        this.#pending.delete(r.id);
        p.resolve(r);
      }
      return true;
    });
    this.#drop(conn);
  }

  /** Forgets a connection: closes it and fails the calls waiting on it. */
  #drop(conn: Deno.Conn | null): void {
    if (!conn || this.#conn !== conn) return;
    this.#conn = null;
    try {
      conn.close();
    } catch { /* already closed */ }
    for (const p of this.#pending.values()) p.reject(new ChannelClosed("the plugin host's channel closed"));
    this.#pending.clear();
  }
}

/** The channel closed before a call was answered (the call is sent again over HTTP). */
class ChannelClosed extends Error {}

/**
 * Calls `onLine` with each newline-delimited line of `conn` until it returns false, the
 * connection ends or fails, or a line passes {@linkcode MAX_LINE} (the peer is broken; the caller
 * closes the connection). The lines of one read are handled in the read's own turn (no async
 * generator between the socket and the handler).
 */
export async function eachLine(conn: Deno.Conn, onLine: (line: string) => boolean): Promise<void> {
  const decoder = new TextDecoder();
  const buf = new Uint8Array(64 * 1024);
  let text = "";
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(buf);
    } catch {
      return;
    }
    if (n === null) return;
    text += decoder.decode(buf.subarray(0, n), { stream: true });
    let start = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      if (nl > start && !onLine(text.slice(start, nl))) return;
      start = nl + 1;
    }
    text = start === text.length ? "" : text.slice(start);
    if (text.length > MAX_LINE) return;
  }
}

/** The longest line either end accepts (characters). */
const MAX_LINE = 32 << 20;

/** Writes every byte (Conn.write may write part). */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}
