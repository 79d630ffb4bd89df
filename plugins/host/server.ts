/**
 * The plugin host (`./skiff plugin-host`): loads the control-plane plugins (admission and
 * scheduler kinds) named by Plugin objects, one runner process each, and serves the calls of
 * the API server and the scheduler over HTTP (the protocol of control/api/plugins.ts).
 *
 * - **Hot loading.** It watches Plugins: a new generation is pulled, prepared and started beside
 *   the running version; once it is ready, new calls go to it, and the old runner is stopped
 *   after the calls in flight on it finish. A version that fails to load leaves the previous one
 *   serving. A deleted Plugin is drained and stopped.
 * - **Containment.** A call past its deadline kills the plugin's runner (the only way to stop a
 *   spinning guest); traps, memory exhaustion, ungranted capabilities and malformed answers fail
 *   the call and recycle the instance inside the runner. Either way the failure is recorded in
 *   the Plugin's status (`lastError`) and the runner is started again; other plugins, and this
 *   process, are untouched. An `err` answer (reason `PluginError`) is a well-formed answer, not
 *   a failure: the caller reports it, the status does not ({@linkcode isPluginFailure}).
 * - **Status.** `status.components[name=plugin-host]`: the digest, observedGeneration, the
 *   Loaded and Ready conditions, and the last error.
 * @module
 */
import type { Client } from "../../control/api/client.ts";
import { Informer } from "../../control/api/informer.ts";
import {
  type CachedNodeRef,
  cachedNodeName,
  type FailureReason,
  NODE_CACHE_MISS,
  type NodeRecord,
  parseBytes,
  PluginCallError,
  type PluginComponentStatus,
  type PluginFailure,
  type PluginObject,
  PLUGINS,
  type SchedulingCycleRequest,
  type SchedulingCycleResponse,
} from "../../control/api/plugins.ts";
import { ApiError } from "../../control/api/status.ts";
import { type AdmissionPhase, type AdmissionReviewRequest, reviewAnswer, toWitRequest } from "../admission/binding.ts";
import { type Channel, type ChannelOptions, listenChannel } from "./channel.ts";
import { isPluginFailure } from "./failures.ts";
import { KINDS } from "./kinds.ts";
import { PluginCache, PluginRefusedError } from "./prepare.ts";
import { type HostCallHandler, Runner } from "./runner_client.ts";
import { DirectEndpoints } from "./direct_endpoints.ts";


/** `spec.config` with the host's facts under it (config keys win); a non-object config as is. Pure. */
export function withNodeFacts(config: unknown, facts: Record<string, unknown> | undefined): unknown {
  if (!facts) return config ?? {};
  if (config === undefined || config === null) return facts;
  return typeof config === "object" && !Array.isArray(config) ? { ...facts, ...config } : config;
}

/** Where plugin images come from (node/registry in `./skiff plugin-host`; a map in tests). */
export type PullFn = (image: string, signal?: AbortSignal) => Promise<{ digest: string; bytes: Uint8Array }>;

/** Options of a {@linkcode PluginHost}. */
export interface PluginHostOptions {
  /** Holds `cache/` (transpiled components) and `state/` (the plugins' state stores). */
  dataDir: string;
  pull: PullFn;
  /** Watches Plugins and writes their status; without it, call {@linkcode PluginHost.apply} yourself. */
  client?: Client;
  /** Required bearer token of callers (the API server, the scheduler). */
  token?: string;
  /** This host's name in `status.components` (default `plugin-host`). */
  componentName?: string;
  /**
   * Whether this host loads a Plugin (default: the control-plane kinds). A loaded Plugin that
   * stops being accepted (its node selector no longer matches) is drained and stopped.
   */
  accepts?(plugin: PluginObject): boolean;
  /**
   * Serves the nested host calls of one Plugin's runners (node-side capabilities and world
   * imports such as the network world's `ipam`; node agents supply it). Called when a runner
   * starts, with the Plugin of that generation (its grants and their bounds).
   */
  hostCalls?(plugin: PluginObject): HostCallHandler | undefined;
  /**
   * Whether admission and scheduler plugins' runners also serve callers directly
   * (plugins/host/direct.ts; default true). Only where this host serves no host calls for the plugin.
   */
  direct?: boolean;
  /**
   * The nice value of runners on a caller's critical path, by kind. A scheduler plugin's call
   * (its runner serving the scheduler directly) is on the scheduling cycle's critical path while
   * the scheduler and the API server keep both cores busy, and most of its time was the runner
   * waiting for a CPU after its wake-up (docs/benchmarks.md); an admission call showed no
   * difference (its caller waits idle). A runtime plugin's calls are a pod start's path on a
   * node, where the network Plugins, the spawner, conmon and crun wake at the same moment.
   * Default {@linkcode RUNNER_NICE}; `0` keeps the host's. A negative value needs CAP_SYS_NICE
   * (root), else the runner keeps the host's priority.
   */
  runnerNice?: { admission?: number; scheduler?: number; runtime?: number };
  /** More V8 flags for every runner (diagnostics: `--trace-gc`; RunnerOptions.v8Flags). */
  runnerV8Flags?: string[];
  /**
   * Facts of this host a Plugin's settings get (node agents: a storage plugin's `nodeId` and
   * `root`); `spec.config` keys win over them. Only merged when `spec.config` is an object.
   */
  settings?(plugin: PluginObject): Record<string, unknown> | undefined;
  log?(line: string): void;
  now?(): number;
}

/** The default nice values of runners, by kind ({@linkcode PluginHostOptions.runnerNice}). */
export const RUNNER_NICE: Readonly<{ admission: number; scheduler: number; runtime: number }> = {
  admission: 0,
  scheduler: -5,
  runtime: -5,
};

/**
 * The `nice` option of a runner of `kind` (none: the host's priority): admission and scheduler
 * runners only when they serve their callers directly, runtime runners always. Pure.
 */
export function runnerNice(
  kind: string,
  given?: PluginHostOptions["runnerNice"],
  direct = true,
): { nice?: number } {
  const nice = ((kind === "admission" || kind === "scheduler") && direct) || kind === "runtime"
    ? given?.[kind] ?? RUNNER_NICE[kind]
    : 0;
  return nice ? { nice } : {};
}

interface Entry {
  name: string;
  plugin: PluginObject;
  generation: number;
  digest: string;
  runner: Runner | null;
  /** A restart in progress. */
  starting: Promise<void> | null;
  restarts: number;
  lastError?: PluginComponentStatus["lastError"];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The plugin host. `await using` stops every runner. */
export class PluginHost implements AsyncDisposable {
  readonly #opts: PluginHostOptions;
  readonly #cache: PluginCache;
  readonly #entries = new Map<string, Entry>();
  /** Per-plugin serialization of apply/remove. */
  readonly #queues = new Map<string, Promise<void>>();
  readonly #statusTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /**
   * Generations that failed to load, retried with back-off (1 s doubling to 5 min) rather than on
   * every update event (our own status writes are update events).
   */
  readonly #failed = new Map<string, FailedLoad>();
  readonly #name: string;
  #closed = false;
  #informer: Informer<PluginObject> | null = null;
  /** The callers' channel, when open. */
  #channel: Channel | null = null;
  /** Scheduling callers' node caches (`session` → node name → its record and JSON), at most 16. */
  readonly #sessions = new Map<string, Map<string, { record: NodeRecord; json: string }>>();
  /** The runners' direct endpoints (plugins/host/direct_endpoints.ts). */
  readonly #direct = new DirectEndpoints();
  /** Per runner: the JSON of each node as last sent to it in full. */
  readonly #runnerNodes = new WeakMap<Runner, Map<string, string>>();

  constructor(opts: PluginHostOptions) {
    this.#opts = opts;
    this.#cache = new PluginCache(`${opts.dataDir}/cache`);
    this.#name = opts.componentName ?? "plugin-host";
  }

  /** The loaded plugins: name, digest, generation, whether a runner is up, restarts, the last failure. */
  list(): {
    name: string;
    kind: string;
    digest: string;
    generation: number;
    ready: boolean;
    restarts: number;
    pid?: number;
    lastError?: PluginComponentStatus["lastError"];
  }[] {
    return [...this.#entries.values()].map((e) => ({
      name: e.name,
      kind: e.plugin.spec.kind,
      digest: e.digest,
      generation: e.generation,
      ready: !!e.runner?.alive,
      restarts: e.restarts,
      pid: e.runner?.pid,
      lastError: e.lastError,
    }));
  }

  /** Why the last generation of a plugin failed to load (undefined: it did not fail). */
  loadError(name: string): string | undefined {
    const f = this.#failed.get(name);
    return f ? `${f.reason}: ${f.message}` : undefined;
  }

  /** Watches Plugins until `signal` aborts (needs `client`). */
  async run(signal: AbortSignal): Promise<void> {
    if (!this.#opts.client) throw new Error("the plugin host needs a client to watch Plugins");
    const inf = this.#informer = new Informer<PluginObject>(this.#opts.client, PLUGINS);
    inf.addHandler({
      onAdd: (p) => void this.apply(p),
      onUpdate: (_, p) => void this.apply(p),
      onDelete: (p) => void this.remove(p.metadata.name!),
    });
    inf.start();
    await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
    await inf.stop();
  }

  /** Loads or replaces a plugin (no-op when that generation already runs). Resolves when done. */
  apply(plugin: PluginObject): Promise<void> {
    return this.#serial(plugin.metadata.name!, () => this.#apply(plugin, false));
  }

  /** Unloads a plugin after its calls in flight. */
  remove(name: string): Promise<void> {
    return this.#serial(name, async () => {
      const e = this.#entries.get(name);
      this.#entries.delete(name);
      this.#forgetFailure(name);
      await e?.runner?.stop();
    });
  }

  #serial(name: string, f: () => Promise<void>): Promise<void> {
    const next = (this.#queues.get(name) ?? Promise.resolve()).then(f).catch((e) => this.#log(`plugin ${name}: ${e?.message ?? e}`));
    this.#queues.set(name, next);
    return next;
  }

  async #apply(plugin: PluginObject, retry: boolean): Promise<void> {
    const name = plugin.metadata.name!;
    const kind = plugin.spec?.kind;
    if (!kind || this.#closed) return;
    const cur = this.#entries.get(name);
    const accepts = this.#opts.accepts ?? ((p: PluginObject) => KINDS[p.spec.kind]?.host === "plugin-host");
    if (!accepts(plugin)) {
      if (cur || this.#failed.has(name)) {
        this.#entries.delete(name);
        this.#forgetFailure(name);
        await cur?.runner?.stop();
        await this.#dropStatus(name);
      }
      return;
    }
    const generation = plugin.metadata.generation ?? 1;
    if (cur && cur.generation === generation) {
      cur.plugin = plugin;
      return;
    }
    const failed = this.#failed.get(name);
    if (failed?.generation === generation) {
      failed.plugin = plugin;
      if (!retry) return;
    }
    let digest = "";
    try {
      const pulled = await this.#opts.pull(plugin.spec.image);
      digest = pulled.digest;
      const component = await this.#cache.prepare(kind, pulled.bytes);
      const entry: Entry = cur
        ? { ...cur, plugin, generation, digest, runner: null, starting: null }
        : { name, plugin, generation, digest, runner: null, starting: null, restarts: 0 };
      const t0 = performance.now();
      entry.runner = await this.#startRunner(entry, component);
      const old = cur?.runner;
      // Swap: new calls go to the new version; the old one finishes what it has in flight.
      Object.assign(cur ?? entry, entry);
      this.#entries.set(name, cur ?? entry);
      old?.stop().catch(() => {});
      this.#forgetFailure(name);
      this.#log(`plugin ${name}: loaded ${digest} (generation ${generation}) in ${Math.round(performance.now() - t0)} ms`);
      await this.#writeStatus(name, plugin, {
        digest,
        generation,
        loaded: ["True", "Loaded", `runs ${digest}`],
        ready: ["True", "Ready", "serving calls"],
      });
    } catch (e) {
      const reason = e instanceof PluginRefusedError
        ? "ComponentRefused"
        : e instanceof PluginCallError
        ? (e.reason === "PluginError" ? "ConfigInvalid" : "LoadFailed")
        : "ImagePullFailed";
      const message = (e as Error).message;
      this.#log(`plugin ${name}: could not load generation ${generation}: ${message}`);
      this.#retryLater({ generation, plugin, reason, message });
      // observedGeneration is the generation this host processed, even when it failed: Loaded
      // False says why, and Ready says whether the previous version still serves.
      await this.#writeStatus(name, plugin, {
        digest: cur?.digest ?? digest,
        generation,
        loaded: ["False", reason, message],
        ready: cur?.runner?.alive ? ["True", "PreviousVersion", `still serving ${cur.digest}`] : ["False", reason, message],
      });
    }
  }

  #retryLater(load: Omit<FailedLoad, "attempts" | "timer">): void {
    const name = load.plugin.metadata.name!;
    const generation = load.generation;
    const prev = this.#failed.get(name);
    const attempts = prev?.generation === generation ? prev.attempts + 1 : 1;
    if (prev?.timer) clearTimeout(prev.timer);
    const f: FailedLoad = { ...load, attempts };
    this.#failed.set(name, f);
    if (this.#closed) return;
    f.timer = setTimeout(() => {
      f.timer = undefined;
      if (this.#failed.get(name) === f) void this.#serial(name, () => this.#apply(f.plugin, true));
    }, Math.min(300_000, 1000 * 2 ** Math.min(9, attempts - 1)));
  }

  #forgetFailure(name: string): void {
    const f = this.#failed.get(name);
    if (f?.timer) clearTimeout(f.timer);
    this.#failed.delete(name);
  }

  async #startRunner(entry: Entry, component: Awaited<ReturnType<PluginCache["prepare"]>>): Promise<Runner> {
    const spec = entry.plugin.spec;
    const grants = spec.grants ?? [];
    const stateDir = `${this.#opts.dataDir}/state`;
    if (grants.some((g) => g.capability === "state")) await Deno.mkdir(stateDir, { recursive: true });
    let runner: Runner | null = null;
    const onHostCall = this.#opts.hostCalls?.(entry.plugin);
    // Callers that go direct: the API server (admission), the scheduler (scheduler).
    const direct = (spec.kind === "admission" || spec.kind === "scheduler") && !onHostCall && this.#opts.direct !== false ? await this.#direct.allocate() : null;
    runner = await Runner.start({
      config: {
        plugin: entry.name,
        kind: spec.kind,
        component,
        settings: JSON.stringify(withNodeFacts(spec.config, this.#opts.settings?.(entry.plugin))),
        grants,
        memoryBytes: parseBytes(spec.memory ?? "64Mi"),
        stateFile: grants.some((g) => g.capability === "state") ? `${stateDir}/${entry.name}.json` : undefined,
        ...(direct ? { direct: { path: direct.path, token: direct.token } } : {}),
      },
      ...runnerNice(spec.kind, this.#opts.runnerNice, direct !== null),
      ...(this.#opts.runnerV8Flags?.length ? { v8Flags: this.#opts.runnerV8Flags } : {}),
      onLog: (level, message) => this.#log(`plugin ${entry.name} [${level}]: ${message}`),
      onHostCall,
      onDirectFailure: (reason, message) => {
        const e = this.#entries.get(entry.name);
        if (e && e.runner === runner && isPluginFailure(reason)) this.#recordFailure(e, reason, message);
      },
      onExit: () => {
        // Killed after a deadline, or crashed: start it again unless it was replaced or stopped.
        if (!runner || this.#closed || this.#entries.get(entry.name)?.runner !== runner) return;
        const e = this.#entries.get(entry.name)!;
        const generation = e.generation;
        e.runner = null;
        e.restarts++;
        e.starting = (async () => {
          await sleep(Math.min(5000, 50 * 2 ** Math.min(6, e.restarts - 1)));
          if (this.#closed || this.#entries.get(entry.name) !== e || e.generation !== generation) return;
          try {
            const again = await this.#startRunner(e, component);
            if (this.#entries.get(entry.name) === e && e.generation === generation && !this.#closed) e.runner = again;
            else await again.stop();
          } catch (err) {
            this.#log(`plugin ${entry.name}: restart failed: ${(err as Error).message}`);
          } finally {
            e.starting = null;
          }
        })();
      },
    });
    if (direct) this.#direct.add(direct.id, runner);
    return runner;
  }

  /**
   * Calls a plugin's operation, waiting for a restart in progress within the deadline. `args` may
   * be a function of the runner that will take the call (per-runner deltas). `context` reaches
   * the host call handler with each nested host call the call makes (e.g. the sandbox it is for).
   */
  async call(name: string, op: string, args: unknown[] | ((runner: Runner) => unknown[]), context?: unknown): Promise<unknown> {
    const e = this.#entries.get(name);
    if (!e) throw new PluginCallError(name, "NotLoaded", `plugin "${name}" is not loaded by ${this.#name === "plugin-host" ? "the plugin host" : this.#name}`);
    const timeoutMs = (e.plugin.spec.timeoutSeconds ?? 10) * 1000;
    const deadline = Date.now() + timeoutMs;
    while (!e.runner?.alive && Date.now() < deadline) {
      if (e.starting) await Promise.race([e.starting, sleep(deadline - Date.now())]);
      else await sleep(5);
    }
    if (!e.runner?.alive) throw new PluginCallError(name, "NotLoaded", `plugin "${name}" is restarting`);
    const runner = e.runner;
    try {
      return await runner.call(op, typeof args === "function" ? args(runner) : args, Math.max(1, deadline - Date.now()), context);
    } catch (err) {
      // After a failed call, assume the runner holds nothing: the next cycle sends every node.
      this.#runnerNodes.delete(runner);
      // Only the plugin's failures are its status; an answer of its WIT `error` variant
      // (`PluginError`: a CRI/CNI/CSI error, an admission "cannot decide") is the caller's to report.
      if (err instanceof PluginCallError && isPluginFailure(err.reason)) this.#recordFailure(e, err.reason, err.message);
      throw err;
    }
  }

  #recordFailure(e: Entry, reason: FailureReason, message: string): void {
    const time = new Date(this.#now()).toISOString();
    e.lastError = { message, reason, time, count: (e.lastError?.count ?? 0) + 1 };
    this.#log(`plugin ${e.name}: call failed: ${reason}: ${message}`);
    if (this.#statusTimers.has(e.name)) return;
    // At most one status write per plugin per second.
    this.#statusTimers.set(
      e.name,
      setTimeout(() => {
        this.#statusTimers.delete(e.name);
        if (this.#entries.get(e.name) !== e) return;
        // A newer generation that failed to load stays visible (Loaded=False, PreviousVersion).
        const f = this.#failed.get(e.name);
        const newer = f && f.generation > e.generation ? f : null;
        this.#writeStatus(e.name, newer?.plugin ?? e.plugin, {
          digest: e.digest,
          generation: newer?.generation ?? e.generation,
          loaded: newer ? ["False", newer.reason, newer.message] : ["True", "Loaded", `runs ${e.digest}`],
          ready: newer ? ["True", "PreviousVersion", `still serving ${e.digest}`] : ["True", "Ready", "serving calls"],
        }).catch(() => {});
      }, 1000),
    );
  }

  /** Removes this host's entry from a Plugin's status (it no longer loads the Plugin). */
  async #dropStatus(name: string): Promise<void> {
    const client = this.#opts.client;
    if (!client || this.#closed) return;
    for (let attempt = 0; attempt < 5; attempt++) {
      const obj = await client.tryGet<PluginObject>(PLUGINS, "", name);
      const comps = obj?.status?.components ?? [];
      if (!obj || !comps.some((c) => c.name === this.#name)) return;
      obj.status = { ...obj.status, components: comps.filter((c) => c.name !== this.#name) };
      try {
        await client.updateStatus(PLUGINS, obj);
        return;
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 409)) {
          this.#log(`plugin ${name}: could not write status: ${(e as Error).message}`);
          return;
        }
      }
    }
  }

  async #writeStatus(
    name: string,
    plugin: PluginObject,
    s: { digest: string; generation?: number; loaded: [string, string, string]; ready: [string, string, string] },
  ): Promise<void> {
    const client = this.#opts.client;
    if (!client || this.#closed) return;
    const now = new Date(this.#now()).toISOString();
    const entry = this.#entries.get(name);
    for (let attempt = 0; attempt < 5; attempt++) {
      const obj = attempt === 0 ? structuredClone(plugin) : await client.tryGet<PluginObject>(PLUGINS, "", name);
      if (!obj) return;
      const comps = obj.status?.components ?? [];
      const prev = comps.find((c) => c.name === this.#name);
      const cond = (type: "Loaded" | "Ready", [status, reason, message]: [string, string, string]) => {
        const old = prev?.conditions.find((c) => c.type === type);
        return {
          type,
          status: status as "True" | "False",
          reason,
          message,
          lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
        };
      };
      const mine: PluginComponentStatus = {
        name: this.#name,
        ...(s.digest ? { digest: s.digest } : {}),
        ...(s.generation !== undefined ? { observedGeneration: s.generation } : {}),
        conditions: [cond("Loaded", s.loaded), cond("Ready", s.ready)],
        ...(entry?.lastError ? { lastError: entry.lastError } : {}),
      };
      obj.status = { ...obj.status, components: [...comps.filter((c) => c.name !== this.#name), mine] };
      try {
        await client.updateStatus(PLUGINS, obj);
        return;
      } catch (e) {
        if (e instanceof ApiError && e.code === 404) return;
        if (!(e instanceof ApiError && e.code === 409)) {
          this.#log(`plugin ${name}: could not write status: ${(e as Error).message}`);
          return;
        }
      }
    }
  }

  /**
   * The HTTP API (control/api/plugins.ts): `POST` calls, and `GET /channel`, the port of the
   * channel carrying the same calls over a long-lived connection ({@linkcode listenChannel}).
   */
  handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname === "/healthz") return new Response("ok");
    if (this.#opts.token && req.headers.get("authorization") !== `Bearer ${this.#opts.token}`) {
      return json({ kind: "Status", message: "Unauthorized", code: 401 }, 401);
    }
    if (req.method === "GET" && url.pathname === "/plugins") return json(this.list());
    if (req.method === "GET" && url.pathname === "/channel") {
      if (!this.#channel) return json({ kind: "Status", message: "this plugin host has no channel open", code: 404 }, 404);
      return json({ port: this.#channel.port });
    }
    if (req.method === "POST") {
      let body: unknown;
      try {
        body = await req.json();
      } catch {
        return json({ kind: "Status", message: "the body is not JSON", code: 400 }, 400);
      }
      const answer = await this.post(url.pathname, body);
      return json(answer.body, answer.status);
    }
    return json({ kind: "Status", message: `no route for ${req.method} ${url.pathname}`, code: 404 }, 404);
  };

  /** `POST <path>` of the API, on a parsed body: the status and JSON body to answer. */
  async post(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
    const adm = /^\/admission\/([^/]+)\/(validate|mutate|mutate-validate)$/.exec(path);
    if (adm) return await this.#admission(decodeURIComponent(adm[1]), adm[2] as AdmissionPhase, body as { request?: AdmissionReviewRequest });
    // The direct path (plugins/host/direct_endpoints.ts): where runners listen, and why a call failed.
    if (path === "/direct") return { status: 200, body: this.#direct.table([...this.#entries].map(([n, e]) => [n, e.runner])) };
    if (path === "/direct/failure") {
      const b = body as { runner?: unknown; key?: unknown } | null;
      return { status: 200, body: await this.#direct.failure(b?.runner, b?.key) };
    }
    if (path === "/scheduler/cycle") {
      if ((body as { slots?: unknown } | null)?.slots !== undefined) {
        // Slot ranges name a caller's slot table in ONE runner (the direct path, direct.ts).
        const message = "slots are served only on a runner's direct endpoint; send nodes (by name) to the plugin host";
        return { status: 400, body: { kind: "Status", message, code: 400 } };
      }
      try {
        return { status: 200, body: await this.cycle(body as SchedulingCycleRequest) };
      } catch (e) {
        if (e instanceof CacheMiss) return { status: 409, body: { kind: "Status", reason: NODE_CACHE_MISS, message: e.message, code: 409 } };
        throw e;
      }
    }
    return { status: 404, body: { kind: "Status", message: `no route for POST ${path}`, code: 404 } };
  }

  /**
   * Opens the channel (plugins/host/channel.ts) beside the HTTP API, once; `GET /channel` tells
   * callers its port. Resolves to the port.
   */
  listenChannel(opts: Omit<ChannelOptions, "token">): number {
    this.#channel ??= listenChannel((path, body) => this.post(path, body), { ...opts, token: this.#opts.token });
    return this.#channel.port;
  }

  async #admission(name: string, phase: AdmissionPhase, review: { request?: AdmissionReviewRequest }): Promise<{ status: number; body: unknown }> {
    const request = review?.request;
    if (!request?.uid) return { status: 400, body: { kind: "Status", message: "the body is not an AdmissionReview with a request", code: 400 } };
    const e = this.#entries.get(name);
    if (e && e.plugin.spec.kind !== "admission") return failure(name, "NotLoaded", `plugin "${name}" is a ${e.plugin.spec.kind} plugin`);
    try {
      const answer = await this.call(name, phase, [toWitRequest(request)]);
      return { status: 200, body: reviewAnswer(request.uid, phase, answer) };
    } catch (err) {
      if (err instanceof PluginCallError) return failure(name, err.reason, err.message);
      throw err;
    }
  }

  /** Resolves a cycle's nodes against the caller's session cache and keeps them for its next cycle. */
  #resolveNodes(req: SchedulingCycleRequest): { record: NodeRecord; json: string }[] {
    const cache = req.session ? this.#sessions.get(req.session) : undefined;
    const fresh: { record: NodeRecord; json: string }[] = [];
    const out = req.nodes.map((n) => {
      const name = cachedNodeName(n);
      if (name !== null) {
        const hit = cache?.get(name);
        if (!hit) throw new CacheMiss(`node ${name} is not in the session's cache; send every node in full`);
        return hit;
      }
      const sent = { record: n as NodeRecord, json: JSON.stringify(n) };
      fresh.push(sent);
      return sent;
    });
    if (req.session) {
      // Merged: a cycle sends only some nodes (those the built-in filters kept), the rest stay.
      const kept = cache ?? new Map<string, { record: NodeRecord; json: string }>();
      for (const n of fresh) kept.set(n.record.name, n);
      this.#sessions.delete(req.session);
      this.#sessions.set(req.session, kept);
      if (this.#sessions.size > 16) this.#sessions.delete(this.#sessions.keys().next().value!);
    }
    return out;
  }

  /** The nodes for one runner: in full only where it does not hold that version. */
  #nodesFor(runner: Runner, nodes: { record: NodeRecord; json: string }[]): (NodeRecord | CachedNodeRef)[] {
    let held = this.#runnerNodes.get(runner);
    if (!held) this.#runnerNodes.set(runner, held = new Map());
    const out = nodes.map(({ record, json }): NodeRecord | CachedNodeRef => {
      if (held.get(record.name) === json) return record.name;
      held.set(record.name, json);
      return record;
    });
    return out;
  }

  /** One scheduling cycle: every requested plugin over the pod and nodes, in parallel. */
  async cycle(req: SchedulingCycleRequest): Promise<SchedulingCycleResponse> {
    const nodes = this.#resolveNodes(req);
    const results: SchedulingCycleResponse["results"] = {};
    await Promise.all(req.plugins.map(async (p) => {
      try {
        const e = this.#entries.get(p.name);
        if (e && e.plugin.spec.kind !== "scheduler") {
          throw new PluginCallError(p.name, "NotLoaded", `plugin "${p.name}" is a ${e.plugin.spec.kind} plugin`);
        }
        const what = { filter: p.filter, score: p.score };
        // The runner's answer as is: `rejected` (only the nodes the filter rejected) and `scores`.
        results[p.name] = await this.call(p.name, "cycle", (runner) => [req.pod, this.#nodesFor(runner, nodes), what]) as SchedulingCycleResponse["results"][string];
      } catch (err) {
        const e = err instanceof PluginCallError ? err : new PluginCallError(p.name, "Trap", String(err));
        results[p.name] = { failure: { kind: "PluginFailure", plugin: p.name, reason: e.reason, message: e.message } };
      }
    }));
    return { results };
  }

  #log(line: string): void {
    (this.#opts.log ?? ((l: string) => console.error(l)))(line);
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#closed = true;
    await this.#channel?.close();
    for (const t of this.#statusTimers.values()) clearTimeout(t);
    for (const name of [...this.#failed.keys()]) this.#forgetFailure(name);
    await this.#informer?.stop();
    await Promise.allSettled([...this.#queues.values()]);
    await Promise.allSettled([...this.#entries.values()].map(async (e) => {
      await e.starting;
      await e.runner?.stop(2000);
    }));
    this.#entries.clear();
    this.#cache[Symbol.dispose]();
    await this.#direct[Symbol.asyncDispose]();
  }
}

/** A generation that failed to load, retried with back-off. */
interface FailedLoad {
  generation: number;
  plugin: PluginObject;
  /** The Loaded=False reason and message. */
  reason: string;
  message: string;
  attempts: number;
  timer?: ReturnType<typeof setTimeout>;
}

/** A cached node reference the host cannot resolve (answered 409 NodeCacheMiss). */
class CacheMiss extends Error {}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function failure(plugin: string, reason: FailureReason, message: string): { status: number; body: PluginFailure } {
  return { status: reason === "NotLoaded" ? 503 : 500, body: { kind: "PluginFailure", plugin, reason, message } };
}
