/**
 * How the API server and the scheduler call the plugin host (control/api/plugins.ts): over one
 * long-lived WebSocket, the host's `GET /channel` on its own URL (same TLS, same bearer token),
 * carrying every call as a message `{"id", "path", "body"}` answered by `{"id", "status",
 * "body"}` — the status and body the host would answer to `POST <path>`. A per-call HTTP request
 * costs several times the round trip of a message on an open socket (Deno's fetch: ≈0.12 ms p50
 * and ≈0.4–1.1 ms p99 on loopback, against ≈0.04 ms and ≈0.15–0.25 ms; docs/benchmarks.md), and
 * the admission and scheduling calls are on the request's and the cycle's critical paths.
 *
 * When the channel cannot be opened (a host without it, a platform without outbound WebSockets)
 * calls go over HTTP (`POST <url><path>`) and the channel is tried again 5 s later. A call whose
 * channel closes before it is answered is sent again over HTTP while its deadline allows (every
 * plugin call is idempotent).
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

/** A message on the channel, host → caller. */
interface Reply {
  id: number;
  status: number;
  body: unknown;
}

const RETRY_CHANNEL_MS = 5000;
const OPEN_TIMEOUT_MS = 2000;

/** Calls the plugin host: the channel when it opens, HTTP otherwise. `close()` when done. */
export class PluginHostCaller {
  readonly #opts: PluginHostCallerOptions;
  readonly #client: Deno.HttpClient | undefined;
  readonly #fetch: (req: Request) => Promise<Response>;
  #socket: WebSocket | null = null;
  #opening: Promise<WebSocket | null> | null = null;
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
   * within `timeoutMs`.
   */
  async post(path: string, body: unknown, timeoutMs: number): Promise<PluginHostAnswer> {
    const deadline = Date.now() + timeoutMs;
    const socket = await this.#channel(Math.min(timeoutMs, OPEN_TIMEOUT_MS));
    if (socket) {
      try {
        const r = await this.#send(socket, path, body, deadline);
        this.stats.channel++;
        return r;
      } catch (e) {
        if (!(e instanceof ChannelClosed) || Date.now() >= deadline) throw e;
      }
    }
    const res = await this.#fetch(
      new Request(`${this.#opts.url}${path}`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          ...(this.#opts.token ? { Authorization: `Bearer ${this.#opts.token}` } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
      }),
    );
    const answer = { status: res.status, body: await res.json().catch(() => null) };
    this.stats.http++;
    return answer;
  }

  /** Closes the channel; calls in flight on it fail. */
  close(): void {
    this.#closed = true;
    this.#drop(this.#socket);
    this.#client?.close();
  }

  #send(socket: WebSocket, path: string, body: unknown, deadline: number): Promise<Reply> {
    const id = this.#next++;
    const { promise, resolve, reject } = Promise.withResolvers<Reply>();
    const timer = setTimeout(() => {
      this.#pending.delete(id);
      reject(new Error(`no answer within ${Math.round((deadline - Date.now()) / 1000 + 0.5)} s (the call's deadline)`));
    }, Math.max(1, deadline - Date.now()));
    this.#pending.set(id, {
      resolve: (r) => (clearTimeout(timer), resolve(r)),
      reject: (e) => (clearTimeout(timer), reject(e)),
    });
    try {
      socket.send(JSON.stringify({ id, path, body }));
    } catch {
      this.#drop(socket);
    }
    return promise;
  }

  /** The open channel, opening it if needed; null: use HTTP for now. */
  #channel(openTimeoutMs: number): Promise<WebSocket | null> | WebSocket | null {
    if (this.#socket?.readyState === WebSocket.OPEN) return this.#socket;
    if (this.#closed || Date.now() < this.#retryAt) return null;
    const base = this.#opts.channelUrl ? this.#opts.channelUrl() : this.#opts.fetch ? null : this.#opts.url;
    if (!base) return null;
    return this.#opening ??= this.#open(base, openTimeoutMs).finally(() => (this.#opening = null));
  }

  async #open(base: string, timeoutMs: number): Promise<WebSocket | null> {
    let socket: WebSocket;
    try {
      socket = new WebSocket(`${base.replace(/^http/, "ws")}/channel`, {
        headers: this.#opts.token ? { Authorization: `Bearer ${this.#opts.token}` } : {},
        ...(this.#client ? { client: this.#client } : {}),
      });
    } catch {
      this.#retryAt = Date.now() + RETRY_CHANNEL_MS;
      return null;
    }
    const opened = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      socket.onopen = () => (clearTimeout(timer), resolve(true));
      socket.onerror = socket.onclose = () => (clearTimeout(timer), resolve(false));
    });
    if (!opened || this.#closed) {
      this.#retryAt = Date.now() + RETRY_CHANNEL_MS;
      this.#drop(socket);
      return null;
    }
    socket.onmessage = (e) => {
      let r: Reply;
      try {
        r = JSON.parse(e.data as string);
      } catch {
        return this.#drop(socket);
      }
      const p = this.#pending.get(r.id);
      if (!p) return;
      this.#pending.delete(r.id);
      p.resolve(r);
    };
    socket.onerror = socket.onclose = () => this.#drop(socket);
    this.#socket = socket;
    return socket;
  }

  /** Forgets a socket: closes it and fails the calls waiting on it. */
  #drop(socket: WebSocket | null): void {
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
    if (socket.readyState === WebSocket.CONNECTING || socket.readyState === WebSocket.OPEN) socket.close();
    if (this.#socket !== socket) return;
    this.#socket = null;
    for (const p of this.#pending.values()) p.reject(new ChannelClosed("the plugin host's channel closed"));
    this.#pending.clear();
  }
}

/** The channel closed before a call was answered (the call is sent again over HTTP). */
class ChannelClosed extends Error {}
