/**
 * The direct endpoint, runner side: an admission plugin's runner serves the API server's calls
 * itself, on a unix socket in the plugin host's private directory, instead of the API server →
 * plugin host → runner → plugin host → API server relay (four process wake-ups per call; two
 * here). The plugin host stays the supervisor: the runner writes `begin` (with the call's
 * deadline) and `end` lines to its stdout without waiting for the host, and the host kills the
 * runner when a deadline passes without its `end`; the caller then sees the connection close
 * and asks the host why (control/api/plugin_direct.ts).
 *
 * The wire is the plugin host's channel (plugins/host/channel.ts): the connection starts with
 * `{"token"}`, then each line `{"id", "path", "body", "ms"}` is answered by `{"id", "status",
 * "body"}`, the status and body the plugin host would answer to `POST <path>`. Only this
 * runner's plugin's admission paths are served. Calls run one at a time, in arrival order, with
 * the calls arriving on stdin from the host (one instance).
 *
 * Draining (the host replaces or stops the runner): the listener closes at once; each
 * connection closes once its calls in flight are answered; lines read after that are not run
 * (the caller sends them through the plugin host, which routes them to the new version).
 * @module
 */
import { lines, writeAll } from "../../control/api/plugin_channel.ts";
import type { PluginFailure } from "../../control/api/plugins.ts";
import {
  type AdmissionPhase,
  type AdmissionReviewRequest,
  reviewAnswer,
  toWitRequest,
} from "../admission/binding.ts";
import type { CallFailure, RunnerCall, RunnerMessage } from "./protocol.ts";
import { startDeadlineWatch } from "./direct_watch.ts";

/** Options of {@linkcode serveDirect}. */
export interface DirectOptions {
  path: string;
  token: string;
  plugin: string;
  /** Runs one call on the instance, answering through `reply` (inside {@linkcode serial}). */
  run(call: RunnerCall, reply: (m: RunnerMessage) => void): Promise<void>;
  /** Runs `f` after every call queued before it (one instance: one call at a time). */
  serial(f: () => Promise<void>): Promise<void>;
  /** Tells the host (stdout). */
  notify(m: RunnerMessage): void;
}

/** A line of a direct connection, caller → runner. */
interface DirectCall {
  id?: unknown;
  path?: unknown;
  body?: { request?: AdmissionReviewRequest };
  ms?: unknown;
  token?: unknown;
}

/** What `POST <path>` answers. */
export interface DirectAnswer {
  status: number;
  body: unknown;
}

const ROUTE = /^\/admission\/([^/]+)\/(validate|mutate|mutate-validate)$/;
const ENCODER = new TextEncoder();

/** The plugin host's answer to a failed call (as plugins/host/server.ts answers it). Pure. */
export function failureAnswer(plugin: string, f: CallFailure): DirectAnswer {
  const body: PluginFailure = { kind: "PluginFailure", plugin, reason: f.reason, message: f.message };
  return { status: f.reason === "NotLoaded" ? 503 : 500, body };
}

/** Whether two tokens are equal, in time independent of where they differ. Pure. */
export function sameToken(a: unknown, b: string): boolean {
  if (typeof a !== "string" || a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}

/** Serves the direct endpoint until `drain()` resolves (every connection closed). */
export function serveDirect(opts: DirectOptions): { drain(): Promise<void> } {
  const listener = Deno.listen({ transport: "unix", path: opts.path });
  const watch = startDeadlineWatch();
  const conns = new Map<Deno.Conn, { calls: number; done: Promise<void> }>();
  let draining = false;
  let next = 0;

  const closeQuietly = (c: Deno.Conn) => {
    try {
      c.close();
    } catch { /* closed */ }
  };

  const call = async (m: DirectCall): Promise<DirectAnswer> => {
    const route = typeof m.path === "string" ? ROUTE.exec(m.path) : null;
    if (!route || decodeURIComponent(route[1]) !== opts.plugin) {
      return {
        status: 404,
        body: { kind: "Status", message: `no route for POST ${String(m.path)} on this runner`, code: 404 },
      };
    }
    const request = m.body?.request;
    if (!request?.uid) {
      return {
        status: 400,
        body: { kind: "Status", message: "the body is not an AdmissionReview with a request", code: 400 },
      };
    }
    const phase = route[2] as AdmissionPhase;
    const key = String(request.uid);
    const ms = typeof m.ms === "number" && m.ms > 0 ? m.ms : 10_000;
    const since = Date.now();
    let answer: DirectAnswer = failureAnswer(opts.plugin, {
      reason: "Trap",
      message: "the call was not run",
    });
    const call: RunnerCall = { id: -2 - (next++ % 1e9), op: phase, args: [toWitRequest(request)] };
    await opts.serial(async () => {
      // The watcher reports the call to the host only if it is still running at its next look.
      const watched = watch.begin(key, ms, since);
      if (!watched) {
        opts.notify({ id: 0, begin: { key, ms: Math.max(1, ms - (Date.now() - since)), deadline: ms } });
      }
      let fail: { fail: CallFailure; recycled?: boolean } | null = null;
      try {
        await opts.run(call, (r) => {
          if ("ok" in r) answer = { status: 200, body: reviewAnswer(request.uid, phase, r.ok) };
          else if ("fail" in r) {
            answer = failureAnswer(opts.plugin, r.fail);
            fail = { fail: r.fail, ...("recycled" in r && r.recycled ? { recycled: true } : {}) };
          }
        });
      } finally {
        if (watched) watch.end();
        // The host records the plugin's failures (rare: a pipe write then is no cost).
        if (fail || !watched) opts.notify({ id: 0, end: { key, ...(fail ?? {}) } });
      }
    });
    return answer;
  };

  const serve = async (conn: Deno.Conn, state: { calls: number }) => {
    let authenticated = false;
    let writing = Promise.resolve();
    let idle = Promise.withResolvers<void>();
    idle.resolve();
    for await (const line of lines(conn)) {
      if (draining) break;
      let m: DirectCall;
      try {
        m = JSON.parse(line);
      } catch {
        break;
      }
      if (!authenticated) {
        // The first line presents the runner's token; a wrong one closes the connection.
        if (!sameToken(m.token, opts.token)) break;
        authenticated = true;
        continue;
      }
      if (state.calls++ === 0) idle = Promise.withResolvers<void>();
      void call(m).catch((e) =>
        failureAnswer(opts.plugin, { reason: "Trap", message: String((e as Error)?.message ?? e) })
      ).then((a) => {
        const bytes = ENCODER.encode(JSON.stringify({ id: m.id, ...a }) + "\n");
        writing = writing.then(() => writeAll(conn, bytes)).catch(() => closeQuietly(conn));
        return writing;
      }).finally(() => {
        if (--state.calls === 0) idle.resolve();
        if (draining && state.calls === 0) closeQuietly(conn);
      });
    }
    await idle.promise;
    await writing;
    closeQuietly(conn);
  };

  const accepting = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      if (draining) {
        closeQuietly(conn);
        continue;
      }
      const state = { calls: 0, done: Promise.resolve() };
      state.done = serve(conn, state).finally(() => conns.delete(conn));
      conns.set(conn, state);
    }
  })();

  return {
    async drain() {
      if (!draining) {
        draining = true;
        try {
          listener.close();
        } catch { /* closed */ }
        for (const [c, s] of conns) if (s.calls === 0) closeQuietly(c);
      }
      await accepting;
      await Promise.allSettled([...conns.values()].map((s) => s.done));
      await Deno.remove(opts.path).catch(() => {});
    },
  };
}
