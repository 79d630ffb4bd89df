/**
 * The direct path to an admission or scheduler plugin (plugins/host/direct.ts is the runner's
 * side): the API server (the scheduler) sends the call straight to the plugin's runner process, on the unix socket the plugin
 * host publishes (`POST /direct`: socket path, token and runner id per plugin), skipping the
 * relay through the plugin host (two process wake-ups per call instead of four). The line protocol
 * is the plugin host's channel (control/api/plugin_channel.ts) with the call's deadline (`ms`),
 * which the runner reports to the host; the host kills the runner when it passes.
 *
 * A call gets its answer as the plugin host would give it, or null: "send it through the plugin
 * host" — when the table does not name the plugin (yet), the socket cannot be reached (the API
 * server runs elsewhere, e.g. Deno Deploy: after repeated failures the direct path is off for a
 * minute), or the connection closed without an answer and the plugin host says the runner was
 * replaced or is still alive (a hot reload drains the old runner's connections). When the host
 * says the runner died under the call, the answer is that failure (`Timeout` for the call whose
 * deadline killed it, `Trap` for the others), as the host's own path reports it.
 *
 * The table is refreshed in the background (never on a call's clock): when first needed, after
 * a failed connection or a drained runner, and when it lacks a plugin (at most once a second).
 * @module
 */
import { eachLine, type PluginHostAnswer, writeAll } from "./plugin_channel.ts";
import type { PluginFailure } from "./plugins.ts";

/** Asks the plugin host `POST <path>` (its channel, or HTTP). */
export type AskHost = (path: string, body: unknown, timeoutMs: number) => Promise<PluginHostAnswer>;

/** A plugin's endpoint as the plugin host publishes it. */
interface Endpoint {
  path: string;
  token: string;
  runner: string;
}

interface Conn {
  conn: Deno.Conn;
  /** Calls in flight: how to settle each, and when the caller stops waiting (epoch ms). */
  pending: Map<number, { resolve(r: PluginHostAnswer): void; reject(e: Error): void; giveUpAt: number }>;
  /** The timer failing calls past `giveUpAt` (one per connection, not one per call). */
  sweep: ReturnType<typeof setInterval> | undefined;
  /** The last write queued (each starts when the one before it has ended). */
  writing: Promise<void>;
  /** Writes queued and not yet ended (0: the next write starts at once). */
  writes: number;
  closed: boolean;
}

const ENCODER = new TextEncoder();
const MISSING_REFRESH_MS = 1000;
const OFF_MS = 60_000;
const RETRY_MS = 5000;
const CONNECT_FAILURES_BEFORE_OFF = 3;
/**
 * How often a connection looks for calls past their `giveUpAt`. One timer per connection instead
 * of a `setTimeout` + `clearTimeout` per call (≈5 µs of the caller's CPU per call, measured): the
 * host kills a runner at the call's deadline and the connection closing fails the call at once;
 * this only bounds a caller's wait on a host that failed to (at most this much late).
 */
const SWEEP_MS = 250;

/** The connection closed before the call was answered. */
class Closed extends Error {}

/** Direct calls to admission and scheduler plugins' runners. `close()` when done. */
export class PluginDirectCaller {
  readonly #ask: AskHost;
  #table: Record<string, Endpoint> | null = null;
  #fetchedAt = 0;
  #stale = true;
  #refreshing: Promise<void> | null = null;
  #offUntil = 0;
  #connectFailures = 0;
  #everConnected = false;
  #next = 1;
  #closed = false;
  readonly #conns = new Map<string, Promise<Conn | null>>();
  /** The connections of {@linkcode #conns} that are open, by runner id. */
  readonly #ready = new Map<string, Conn>();
  /** Calls answered directly, and calls handed back to the plugin host (benchmarks, tests). */
  readonly stats = { direct: 0, viaHost: 0 };

  constructor(ask: AskHost) {
    this.#ask = ask;
  }

  /**
   * `POST <path>` to `plugin`'s runner; null: send it through the plugin host. `key` is the
   * call's AdmissionReview `request.uid` (a scheduling cycle's `key`); `deadlineMs` the plugin's timeoutSeconds (the host
   * kills the runner when it passes); the caller gives up 1 s after it (at most {@linkcode SWEEP_MS} later).
   */
  async post(
    plugin: string,
    path: string,
    body: unknown,
    key: string,
    deadlineMs: number,
  ): Promise<PluginHostAnswer | null> {
    const ep = this.#endpoint(plugin);
    if (!ep) return this.#viaHost();
    // An open connection is used in this same turn: the call is on the wire when `post` returns
    // its promise, and the caller's own work until it awaits overlaps with the runner's.
    const c = this.#ready.get(ep.runner) ?? await this.#connection(ep);
    if (!c) return this.#viaHost();
    try {
      const answer = await this.#send(c, { path, body, ms: deadlineMs }, deadlineMs + 1000);
      this.stats.direct++;
      return answer;
    } catch (e) {
      if (!(e instanceof Closed)) throw e;
    }
    // No answer: the host knows whether the runner died under the call, and why.
    this.#stale = true;
    const why = await this.#ask("/direct/failure", { runner: ep.runner, key }, 2000).catch(() => null);
    const f = (why?.body as { failure?: { reason: PluginFailure["reason"]; message: string } } | null)
      ?.failure;
    if (why?.status === 200 && f) {
      this.stats.direct++;
      return {
        status: f.reason === "NotLoaded" ? 503 : 500,
        body: { kind: "PluginFailure", plugin, reason: f.reason, message: f.message },
      };
    }
    return this.#viaHost();
  }

  /**
   * The id of the runner `plugin`'s direct calls go to now (undefined: none known; calls go
   * through the host). A caller keeping per-runner state (the scheduler's node caches) keys it
   * by this: a recycled or replaced runner is a new process with a new id, holding nothing.
   * `post` right after (in the same synchronous turn) uses this runner or none.
   */
  runner(plugin: string): string | undefined {
    return this.#endpoint(plugin)?.runner;
  }

  /** Closes every direct connection (calls in flight on them go through the host). */
  close(): void {
    this.#closed = true;
    for (const p of this.#conns.values()) void p.then((c) => c && this.#drop(c));
    this.#conns.clear();
    this.#ready.clear();
  }

  #viaHost(): null {
    this.stats.viaHost++;
    return null;
  }

  /** The plugin's endpoint from the table, refreshing the table in the background when due. */
  #endpoint(plugin: string): Endpoint | undefined {
    const now = Date.now();
    if (this.#closed || now < this.#offUntil) return undefined;
    const ep = this.#table?.[plugin];
    if (this.#stale || (!ep && now - this.#fetchedAt >= MISSING_REFRESH_MS)) this.#refresh();
    return ep;
  }

  #refresh(): void {
    this.#refreshing ??= (async () => {
      this.#stale = false;
      this.#fetchedAt = Date.now();
      try {
        const r = await this.#ask("/direct", {}, 2000);
        const plugins = (r.body as { plugins?: Record<string, Endpoint> } | null)?.plugins;
        if (r.status === 200 && plugins && typeof plugins === "object") this.#table = plugins;
        // A plugin host without the direct path (an older version): ask again later.
        else this.#offUntil = Date.now() + OFF_MS;
      } catch {
        // The host did not answer: try the direct path again in a few seconds.
        this.#stale = true;
        this.#offUntil = Date.now() + RETRY_MS;
      }
    })().finally(() => (this.#refreshing = null));
  }

  /** The open connection to a runner, opening it (null: it cannot be reached). */
  #connection(ep: Endpoint): Promise<Conn | null> {
    let p = this.#conns.get(ep.runner);
    if (!p) {
      p = this.#open(ep);
      this.#conns.set(ep.runner, p);
      p.then((c) => !c && this.#conns.get(ep.runner) === p && this.#conns.delete(ep.runner));
    }
    return p;
  }

  async #open(ep: Endpoint): Promise<Conn | null> {
    let conn: Deno.Conn;
    try {
      conn = await Deno.connect({ transport: "unix", path: ep.path });
    } catch {
      // Replaced runners' sockets are gone: forget the endpoint, refresh the table. A control
      // plane that never reached the host's sockets (another machine, Deno Deploy) stops trying
      // for a while.
      this.#stale = true;
      for (const [name, e] of Object.entries(this.#table ?? {})) {
        if (e.runner === ep.runner) delete this.#table![name];
      }
      if (!this.#everConnected && ++this.#connectFailures >= CONNECT_FAILURES_BEFORE_OFF) {
        this.#offUntil = Date.now() + OFF_MS;
        this.#connectFailures = 0;
      }
      return null;
    }
    this.#everConnected = true;
    const c: Conn = {
      conn,
      pending: new Map(),
      sweep: undefined,
      writing: Promise.resolve(),
      writes: 0,
      closed: false,
    };
    c.sweep = setInterval(() => {
      const now = Date.now();
      for (const [id, p] of c.pending) {
        if (p.giveUpAt > now) continue;
        c.pending.delete(id);
        p.reject(new Error("no answer within the call's deadline"));
      }
    }, SWEEP_MS);
    if (!this.#closed) this.#ready.set(ep.runner, c);
    this.#write(c, JSON.stringify({ token: ep.token }));
    void this.#read(c, ep.runner);
    return c;
  }

  #send(
    c: Conn,
    line: { path: string; body: unknown; ms: number },
    timeoutMs: number,
  ): Promise<PluginHostAnswer> {
    if (c.closed) return Promise.reject(new Closed());
    const id = this.#next++;
    const { promise, resolve, reject } = Promise.withResolvers<PluginHostAnswer>();
    c.pending.set(id, { resolve, reject, giveUpAt: Date.now() + timeoutMs });
    this.#write(c, JSON.stringify({ id, ...line }));
    return promise;
  }

  /** Queues a line; with no write in progress it starts now (no promise turn before the syscall). */
  #write(c: Conn, line: string): void {
    const bytes = ENCODER.encode(line + "\n");
    const write = () => writeAll(c.conn, bytes);
    c.writes++;
    c.writing = (c.writes === 1 ? write() : c.writing.then(write))
      .catch(() => this.#drop(c))
      .finally(() => void c.writes--);
  }

  async #read(c: Conn, runner: string): Promise<void> {
    await eachLine(c.conn, (line) => {
      let r: { id: number; status: number; body: unknown };
      try {
        r = JSON.parse(line);
      } catch {
        return false;
      }
      const p = c.pending.get(r.id);
      if (p) {
        c.pending.delete(r.id);
        p.resolve({ status: r.status, body: r.body ?? null });
      }
      return true;
    });
    // The runner closed it: drained (replaced, stopped) or dead. Forget it; refresh the table.
    const cur = this.#conns.get(runner);
    if (cur) void cur.then((x) => x === c && this.#conns.get(runner) === cur && this.#conns.delete(runner));
    this.#stale = true;
    this.#drop(c);
  }

  #drop(c: Conn): void {
    if (c.closed) return;
    c.closed = true;
    clearInterval(c.sweep);
    for (const [runner, open] of this.#ready) if (open === c) this.#ready.delete(runner);
    try {
      c.conn.close();
    } catch { /* closed */ }
    for (const p of c.pending.values()) p.reject(new Closed());
    c.pending.clear();
  }
}
