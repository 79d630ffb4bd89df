/**
 * The direct endpoint, runner side: an admission (or scheduler) plugin's runner serves the API
 * server's (the scheduler's) calls itself, on a unix socket in the plugin host's private directory, instead of the API server →
 * plugin host → runner → plugin host → API server relay (four process wake-ups per call; two
 * here). The plugin host stays the supervisor: the runner writes `begin` (with the call's
 * deadline) and `end` lines to its stdout without waiting for the host, and the host kills the
 * runner when a deadline passes without its `end`; the caller then sees the connection close
 * and asks the host why (control/api/plugin_direct.ts).
 *
 * The wire is the plugin host's channel (plugins/host/channel.ts): the connection starts with
 * `{"token"}`, then each line `{"id", "path", "body", "ms"}` is answered by `{"id", "status",
 * "body"}`, the status and body the plugin host would answer to `POST <path>`. Only this
 * runner's plugin's paths are served: an admission plugin's `/admission/<plugin>/<phase>`, a
 * scheduler plugin's `/scheduler/cycle` (naming only this plugin; nodes by reference — by name
 * in `nodes`, or as `[start, count]` ranges of `slots` with the full ones in `put` — resolve
 * against the calling session's own cache in this runner). Calls run one at a time, in arrival order, with
 * the calls arriving on stdin from the host (one instance).
 *
 * Draining (the host replaces or stops the runner): the listener closes at once; each
 * connection closes once its calls in flight are answered; lines read after that are not run
 * (the caller sends them through the plugin host, which routes them to the new version).
 * @module
 */
import { eachLine, writeAll } from "../../control/api/plugin_channel.ts";
import { NODE_CACHE_MISS, type PluginFailure, type SchedulingCycleRequest } from "../../control/api/plugins.ts";
import {
  type AdmissionPhase,
  type AdmissionReviewRequest,
  reviewAnswer,
  toWitRequest,
} from "../admission/binding.ts";
import { missingNode, missingSlot, type SlotNodes, slotNodesProblem } from "../scheduler/binding.ts";
import type { CallFailure, RunnerCall, RunnerMessage } from "./protocol.ts";
import { startDeadlineWatch } from "./direct_watch.ts";

/** Options of {@linkcode serveDirect}. */
export interface DirectOptions {
  path: string;
  token: string;
  plugin: string;
  /** The plugin's kind: `admission` serves the admission paths, `scheduler` `/scheduler/cycle`. */
  kind?: string;
  /**
   * Runs one call on the instance, answering through `reply` (inside {@linkcode serial}); a
   * promise only when it has to wait (a fresh instance), else it has answered on return.
   */
  run(call: RunnerCall, reply: (m: RunnerMessage) => void): Promise<void> | void;
  /**
   * Runs `f` after every call queued before it (one instance: one call at a time): at once when
   * none is queued (undefined when `f` finished so), else later (a promise of its end).
   */
  serial(f: () => Promise<void> | void): Promise<void> | void;
  /** Tells the host (stdout). */
  notify(m: RunnerMessage): void;
}

/** A line of a direct connection, caller → runner. */
interface DirectCall {
  id?: unknown;
  path?: unknown;
  body?: { request?: AdmissionReviewRequest } & Partial<SchedulingCycleRequest>;
  ms?: unknown;
  token?: unknown;
}

/** What `POST <path>` answers. */
export interface DirectAnswer {
  status: number;
  body: unknown;
}

const ROUTE = /^\/admission\/([^/]+)\/(validate|mutate|mutate-validate)$/;
const CYCLE = "/scheduler/cycle";

/** What a direct line asks the instance: the call, the deadline's key, and how to answer. */
interface Routed {
  call: RunnerCall;
  key: string;
  ok(result: unknown): DirectAnswer;
  fail(f: CallFailure): DirectAnswer;
  /** Checked just before the call runs (in order with the other calls): an answer instead of running it. */
  refuse?(): DirectAnswer | null;
}
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

  const notRouted = (m: DirectCall): DirectAnswer => ({
    status: 404,
    body: { kind: "Status", message: `no route for POST ${String(m.path)} on this runner`, code: 404 },
  });
  const badBody = (message: string): DirectAnswer => ({ status: 400, body: { kind: "Status", message, code: 400 } });

  /** An admission review for this runner's plugin. */
  const admission = (m: DirectCall, id: number): Routed | DirectAnswer => {
    const route = typeof m.path === "string" ? ROUTE.exec(m.path) : null;
    if (!route || decodeURIComponent(route[1]) !== opts.plugin) return notRouted(m);
    const request = m.body?.request;
    if (!request?.uid) return badBody("the body is not an AdmissionReview with a request");
    const phase = route[2] as AdmissionPhase;
    return {
      call: { id, op: phase, args: [toWitRequest(request)] },
      key: String(request.uid),
      ok: (r) => ({ status: 200, body: reviewAnswer(request.uid, phase, r) }),
      fail: (f) => failureAnswer(opts.plugin, f),
    };
  };

  /**
   * A scheduling cycle of this runner's plugin (the body of the host's `POST /scheduler/cycle`
   * naming only this plugin, with the caller's `session` and the call's `key`). Node references
   * resolve against the caller's own cache here (plugins/scheduler/binding.ts); one this runner
   * does not hold is answered 409 NodeCacheMiss, as the host answers it, and nothing runs.
   */
  const cycle = (m: DirectCall, id: number): Routed | DirectAnswer => {
    const b = m.body;
    const p = b?.plugins?.[0];
    if (b?.plugins?.length !== 1 || p?.name !== opts.plugin) return notRouted(m);
    // The candidates by slot (`slots`, `put`) or by name (`nodes`).
    const bySlot = b.slots !== undefined;
    if (!b.pod || !(bySlot || Array.isArray(b.nodes)) || typeof b.key !== "string") {
      return badBody("the body is not a scheduling cycle with a pod, nodes (or slots) and a key");
    }
    const problem = bySlot ? slotNodesProblem(b) : null;
    if (problem) return badBody(`the scheduling cycle's ${problem}`);
    const given: SlotNodes | unknown[] = bySlot ? { slots: b.slots!, put: b.put } : b.nodes!;
    const cache = `session:${typeof b.session === "string" ? b.session : ""}`;
    const results = (r: unknown) => ({ status: 200, body: { results: { [opts.plugin]: r } } });
    return {
      call: { id, op: "cycle", args: [b.pod, given, { filter: !!p.filter, score: !!p.score }, cache] },
      key: b.key,
      ok: results,
      fail: (f) => results({ failure: failureAnswer(opts.plugin, f).body }),
      refuse: () => {
        const missing = Array.isArray(given) ? missingNode(given, cache) : missingSlot(given, cache);
        if (missing === null) return null;
        const what = typeof missing === "number" ? `slot ${missing}` : `node ${missing}`;
        const message = `${what} is not in the session's cache on this runner; send every node in full`;
        return { status: 409, body: { kind: "Status", reason: NODE_CACHE_MISS, message, code: 409 } };
      },
    };
  };

  /**
   * One call: its answer at once when the instance was free and the call did not wait (the
   * usual case: no promise turn between the line and the answer's write), else a promise.
   */
  const call = (m: DirectCall): DirectAnswer | Promise<DirectAnswer> => {
    const id = -2 - (next++ % 1e9);
    const routed = opts.kind === "scheduler"
      ? (m.path === CYCLE ? cycle(m, id) : notRouted(m))
      : admission(m, id);
    if (!("call" in routed)) return routed;
    const { key } = routed;
    const ms = typeof m.ms === "number" && m.ms > 0 ? m.ms : 10_000;
    const since = Date.now();
    let answer: DirectAnswer = routed.fail({ reason: "Trap", message: "the call was not run" });
    const job = (): Promise<void> | void => {
      const refused = routed.refuse?.();
      if (refused) return void (answer = refused);
      // The watcher reports the call to the host only if it is still running at its next look.
      const watched = watch.begin(key, ms, since);
      if (!watched) {
        opts.notify({ id: 0, begin: { key, ms: Math.max(1, ms - (Date.now() - since)), deadline: ms } });
      }
      let fail: { fail: CallFailure; recycled?: boolean } | null = null;
      const ended = () => {
        if (watched) watch.end();
        // The host records the plugin's failures (rare: a pipe write then is no cost).
        if (fail || !watched) opts.notify({ id: 0, end: { key, ...(fail ?? {}) } });
      };
      let waiting: Promise<void> | void;
      try {
        waiting = opts.run(routed.call, (r) => {
          if ("ok" in r) answer = routed.ok(r.ok);
          else if ("fail" in r) {
            answer = routed.fail(r.fail);
            fail = { fail: r.fail, ...("recycled" in r && r.recycled ? { recycled: true } : {}) };
          }
        });
      } catch (e) {
        ended();
        throw e;
      }
      if (waiting) return waiting.finally(ended);
      ended();
    };
    const queued = opts.serial(job);
    return queued ? queued.then(() => answer) : answer;
  };

  const serve = async (conn: Deno.Conn, state: { calls: number }) => {
    let authenticated = false;
    let writing = Promise.resolve();
    /** Writes started and not yet ended (0: the next one starts now, no promise turn first). */
    let writes = 0;
    let idle = Promise.withResolvers<void>();
    idle.resolve();
    const trapped = (e: unknown) => failureAnswer(opts.plugin, { reason: "Trap", message: String((e as Error)?.message ?? e) });
    const answer = (m: DirectCall, a: DirectAnswer) => {
      const bytes = ENCODER.encode(JSON.stringify({ id: m.id, ...a }) + "\n");
      writes++;
      writing = (writes === 1 ? writeAll(conn, bytes) : writing.then(() => writeAll(conn, bytes)))
        .catch(() => closeQuietly(conn))
        .finally(() => {
          writes--;
          if (--state.calls === 0) idle.resolve();
          if (draining && state.calls === 0) closeQuietly(conn);
        });
    };
    await eachLine(conn, (line) => {
      if (draining) return false;
      let m: DirectCall;
      try {
        m = JSON.parse(line);
      } catch {
        return false;
      }
      if (!authenticated) {
        // The first line presents the runner's token; a wrong one closes the connection.
        if (!sameToken(m.token, opts.token)) return false;
        authenticated = true;
        return true;
      }
      if (state.calls++ === 0) idle = Promise.withResolvers<void>();
      let a: DirectAnswer | Promise<DirectAnswer>;
      try {
        a = call(m);
      } catch (e) {
        a = trapped(e);
      }
      if (a instanceof Promise) void a.catch(trapped).then((x) => answer(m, x));
      else answer(m, a);
      return true;
    });
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
