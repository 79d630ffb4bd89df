/**
 * The plugin host's side of one runner process: start it with narrow permissions, send calls,
 * enforce each call's deadline by killing the process (SIGKILL stops a spinning guest in
 * ≈10 ms; nothing else does), and report its exit. A killed runner fails every call in flight
 * on it; the host starts a new one.
 * @module
 */
import { setPriority } from "node:os";
import { trace, tracing } from "./trace.ts";
import { type FailureReason, PluginCallError } from "../../control/api/plugins.ts";
import { decodeHostLine, encodeHostLine, type HostCall, type HostReply, type RunnerConfig, type RunnerMessage } from "./protocol.ts";

/**
 * Serves a runner's nested host calls (node-side capabilities, the network world's `ipam`).
 * `context` is what the caller passed with the call being served ({@linkcode Runner.call}).
 * Resolves to the value; throws a {@linkcode HostCallError} for a WIT error (`err`) or an
 * ungranted capability (`denied`); anything else thrown makes the guest trap.
 */
export type HostCallHandler = (call: HostCall, context: unknown) => Promise<unknown>;

/** A host call's failure the guest sees: a WIT error variant, or (`denied`) CapabilityDenied. */
export class HostCallError extends Error {
  override name = "HostCallError";
  constructor(readonly variant: { tag: string; val: unknown } | null, readonly denied?: string) {
    super(denied ?? `${variant?.tag}: ${typeof variant?.val === "string" ? variant.val : JSON.stringify(variant?.val)}`);
  }
}

const ENTRY = new URL("./runner.ts", import.meta.url).pathname;
/**
 * V8's tiering of the guest's WebAssembly: a function moves from the baseline compiler (Liftoff)
 * to the optimizing one (TurboFan) after this much work instead of V8's default 13,000,000. A
 * plugin's hot paths (a QuickJS guest's interpreter loop, its JSON parser) are optimized within
 * the first calls instead of after thousands; start-up is unchanged, as compiling stays lazy.
 */
const RUNNER_V8_TIERING = "--wasm-tiering-budget=20000";
const ENCODER = new TextEncoder();
/**
 * More `deno run` flags for every runner, from `SKIFF_RUNNER_DENO_FLAGS` (split on spaces), for
 * diagnostics: `--cpu-prof --cpu-prof-dir=<dir>` writes a V8 CPU profile per runner when it
 * exits (tests/bench/cpu_profile.ts summarizes it). Empty by default.
 */
const RUNNER_DENO_FLAGS = (() => {
  try {
    return (Deno.env.get("SKIFF_RUNNER_DENO_FLAGS") ?? "").split(" ").filter(Boolean);
  } catch {
    return []; // no env permission
  }
})();

/** Options of {@linkcode Runner.start}. */
export interface RunnerOptions {
  config: RunnerConfig;
  /** Log lines of the plugin (`log` capability, stdout). */
  onLog?(level: string, message: string): void;
  /** The process exited (for any reason) after it was ready. */
  onExit?(code: number, signal: string | null): void;
  /** Serves nested host calls (none: every host call answers `denied`). */
  onHostCall?: HostCallHandler;
  /** How long loading may take (default 30 s). */
  startTimeoutMs?: number;
  /** V8 heap of the runner, MiB (default 128). */
  heapMiB?: number;
  /**
   * More V8 flags for the runner (diagnostics such as `--trace-gc`, whose lines go to stdout:
   * lines that are not the runner's JSON reach `onLog` as level `v8`).
   */
  v8Flags?: string[];
  /** A direct call failed (reported by the runner, or its deadline passed and it was killed). */
  onDirectFailure?(reason: FailureReason, message: string): void;
  /**
   * The nice value of the runner's main thread (the one that serves calls), set right after
   * the start (`setpriority(2)`; on Linux a thread's own attribute: threads the runner starts
   * later inherit it, those already started keep the host's). Unset: the host's. A negative value needs CAP_SYS_NICE: without it the runner
   * keeps the host's and `onLog` says so.
   */
  nice?: number;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
  context?: unknown;
}

/** One running runner process. */
/** A nested host call as a trace shows it: `capability.fn`, and for `exec` the binary and its verb. */
function hostCallLabel(call: HostCall): string {
  if (call.fn !== "exec") return `${call.capability}.${call.fn}`;
  const binary = String(call.args[0]).split("/").pop();
  const verb = (call.args[1] as string[] | undefined)?.find((a) => !a.startsWith("-") && a !== "1") ?? "";
  return `${call.capability}.exec ${binary} ${verb}`;
}

export class Runner implements AsyncDisposable {
  readonly plugin: string;
  /** How long the runner took to load and configure the plugin, ms. */
  loadMs = 0;
  /** Instances recycled after a failed call. */
  recycles = 0;
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pending = new Map<number, Pending>();
  readonly #opts: RunnerOptions;
  #next = 1;
  #dead: string | null = null;
  #killedFor: string | null = null;
  /** Direct calls in flight (plugins/host/direct.ts): key → its deadline timer. */
  readonly #direct = new Map<string, ReturnType<typeof setTimeout>>();
  /** The direct call whose deadline killed the runner. */
  #timedOut: string | null = null;
  #draining = false;
  readonly exited: Promise<Deno.CommandStatus>;

  private constructor(child: Deno.ChildProcess, opts: RunnerOptions) {
    this.#child = child;
    this.#opts = opts;
    this.plugin = opts.config.plugin;
    this.#writer = child.stdin.getWriter();
    this.exited = child.status;
  }

  /** Starts a runner and waits until the plugin is loaded and configured; throws PluginCallError. */
  static async start(opts: RunnerOptions): Promise<Runner> {
    const { config } = opts;
    const read = [config.component.dir];
    const write = config.stateFile ? [config.stateFile.replace(/\/[^/]*$/, "")] : [];
    // The direct endpoint: this socket and nothing else of the network.
    if (config.direct) write.push(config.direct.path);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-config",
        "--no-lock",
        "--no-prompt",
        "--no-remote",
        ...RUNNER_DENO_FLAGS,
        `--allow-read=${[...read, ...write].join(",")}`,
        ...(write.length ? [`--allow-write=${write.join(",")}`] : []),
        ...(config.direct ? [`--allow-net=unix:${config.direct.path}`] : []),
        `--v8-flags=${[`--max-old-space-size=${opts.heapMiB ?? 128}`, RUNNER_V8_TIERING, ...opts.v8Flags ?? []].join(",")}`,
        ENTRY,
        JSON.stringify(tracing ? { ...config, trace: true } : config),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const r = new Runner(child, opts);
    if (opts.nice !== undefined) {
      try {
        setPriority(child.pid, opts.nice);
      } catch (e) {
        opts.onLog?.("warn", `the runner keeps the host's priority: nice ${opts.nice}: ${(e as Error).message}`);
      }
    }
    const ready = Promise.withResolvers<void>();
    r.#read(ready);
    const stderr = r.#stderr();
    const timer = setTimeout(() => {
      ready.reject(new PluginCallError(config.plugin, "NotLoaded", "the plugin did not load in time"));
    }, opts.startTimeoutMs ?? 30_000);
    child.status.then(async (s) => {
      r.#dead = r.#killedFor ?? `the runner exited (${s.signal ?? `code ${s.code}`})`;
      for (const t of r.#direct.values()) clearTimeout(t);
      r.#direct.clear();
      if (config.direct) void Deno.remove(config.direct.path).catch(() => {});
      for (const [id, p] of r.#pending) {
        clearTimeout(p.timer);
        p.reject(new PluginCallError(config.plugin, "Trap", `the plugin's process ended: ${r.#dead}`));
        r.#pending.delete(id);
      }
      const err = (await stderr).trim().split("\n").slice(-3).join(" | ");
      ready.reject(new PluginCallError(config.plugin, "NotLoaded", `the runner exited before it was ready${err ? `: ${err}` : ""}`));
      opts.onExit?.(s.code, s.signal);
    });
    try {
      await ready.promise;
    } catch (e) {
      r.kill();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    return r;
  }

  /**
   * Calls a guest operation; rejects with PluginCallError (Timeout kills the process). `context`
   * goes to the host call handler with each nested host call made while serving this call.
   */
  call(op: string, args: unknown[], timeoutMs: number, context?: unknown): Promise<unknown> {
    if (this.#dead) {
      return Promise.reject(new PluginCallError(this.plugin, "NotLoaded", `the plugin's process ended: ${this.#dead}`));
    }
    const id = this.#next++;
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const timer = setTimeout(() => {
      this.#killedFor = `a call ran past its ${timeoutMs / 1000}s deadline`;
      this.#pending.delete(id);
      reject(new PluginCallError(this.plugin, "Timeout", `the plugin ran past its ${timeoutMs / 1000}s deadline and was killed`));
      this.kill();
    }, timeoutMs);
    this.#pending.set(id, { resolve, reject, timer, context });
    if (tracing) {
      trace("call>", `${this.plugin}.${op}`);
      promise.finally(() => trace("call<", `${this.plugin}.${op}`)).catch(() => {});
    }
    this.#writer.write(ENCODER.encode(JSON.stringify({ id, op, args }) + "\n")).catch(() => {});
    return promise;
  }

  /** Calls in flight (through the host and direct). */
  get inflight(): number {
    return this.#pending.size + this.#direct.size;
  }

  /** The direct endpoint callers may use (null: none, or draining; plugins/host/direct.ts). */
  get direct(): { path: string; token: string } | null {
    return this.#opts.config.direct && !this.#draining && !this.#dead ? this.#opts.config.direct : null;
  }

  /**
   * Why a direct call's connection closed before its answer: the failure, or null when the
   * runner was replaced or stopped, or is still alive (the caller sends the call through the
   * host instead). Waits briefly for the process to end when it is still running.
   */
  async directFailure(key: string): Promise<{ reason: FailureReason; message: string } | null> {
    if (!this.#dead && !this.#draining) await Promise.race([this.exited, new Promise((r) => setTimeout(r, 250))]);
    if (!this.#dead || this.#killedFor === "stopped" || this.#draining) return null;
    if (key === this.#timedOut) return { reason: "Timeout", message: this.#timedOutMessage };
    return { reason: "Trap", message: `the plugin's process ended: ${this.#dead}` };
  }

  #timedOutMessage = "";

  get alive(): boolean {
    return this.#dead === null;
  }

  /** The process id (tests). */
  get pid(): number {
    return this.#child.pid;
  }

  /** Kills the process at once. */
  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
  }

  /** Waits for calls in flight (at most `graceMs`), then stops the process. */
  async stop(graceMs = 30_000): Promise<void> {
    const until = Date.now() + graceMs;
    if (this.#opts.config.direct && !this.#draining && !this.#dead) {
      // No new direct calls: the runner closes its endpoint and each connection once answered.
      this.#draining = true;
      this.#writer.write(ENCODER.encode('{"drain":true}\n')).catch(() => {});
    }
    while (this.inflight && Date.now() < until && !this.#dead) await new Promise((r) => setTimeout(r, 5));
    this.#killedFor ??= "stopped";
    await this.#writer.close().catch(() => {});
    const timer = setTimeout(() => this.kill(), 1000);
    await this.exited;
    clearTimeout(timer);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.kill();
    await this.exited;
  }

  async #read(ready: PromiseWithResolvers<void>): Promise<void> {
    // Raw chunks, split on newlines by hand: no decoder stream between the pipe and the answer.
    const reader = this.#child.stdout.getReader();
    const decoder = new TextDecoder();
    let pending: Uint8Array | null = null;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        let chunk = value;
        if (pending) {
          const joined = new Uint8Array(pending.length + chunk.length);
          joined.set(pending);
          joined.set(chunk, pending.length);
          chunk = joined;
          pending = null;
        }
        let start = 0;
        for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
          if (nl > start) {
            const line = decoder.decode(chunk.subarray(start, nl));
            if (line.startsWith("{")) {
              this.#message((line.startsWith('{"id":0,"host":') ? decodeHostLine(line) : JSON.parse(line)) as RunnerMessage, ready);
            } else this.#opts.onLog?.("v8", line); // V8's own diagnostics (RunnerOptions.v8Flags)
          }
          start = nl + 1;
        }
        if (start < chunk.length) pending = chunk.slice(start);
      }
    } catch { /* the process died; status handles it */ }
  }

  #message(m: RunnerMessage, ready: PromiseWithResolvers<void>): void {
    if (m.id === 0) {
      if ("ready" in m) {
        this.loadMs = m.loadMs;
        ready.resolve();
      } else if ("log" in m) this.#opts.onLog?.(m.log.level, m.log.message);
      else if ("host" in m) void this.#hostCall(m.host);
      else if ("begin" in m) this.#begin(m.begin.key, m.begin.ms, m.begin.deadline ?? m.begin.ms);
      else if ("end" in m) this.#end(m.end);
      return;
    }
    if (m.id === -1 && "fail" in m) {
      ready.reject(new PluginCallError(this.plugin, m.fail.reason, m.fail.message));
      return;
    }
    const p = this.#pending.get(m.id);
    if (!p || !("ok" in m || "fail" in m)) return;
    this.#pending.delete(m.id);
    clearTimeout(p.timer);
    if ("ok" in m) p.resolve(m.ok);
    else {
      if ("recycled" in m && m.recycled) this.recycles++;
      p.reject(new PluginCallError(this.plugin, m.fail.reason, m.fail.message));
    }
  }

  /** A direct call is running: kill the runner unless it ends within `ms` (of its `deadline`). */
  #begin(key: string, ms: number, deadline: number): void {
    clearTimeout(this.#direct.get(key));
    this.#direct.set(
      key,
      setTimeout(() => {
        this.#direct.delete(key);
        if (this.#dead) return;
        this.#killedFor = `a call ran past its ${deadline / 1000}s deadline`;
        this.#timedOut = key;
        this.#timedOutMessage = `the plugin ran past its ${deadline / 1000}s deadline and was killed`;
        this.#opts.onDirectFailure?.("Timeout", this.#timedOutMessage);
        this.kill();
      }, ms),
    );
  }

  #end(end: { key: string; fail?: { reason: FailureReason; message: string }; recycled?: boolean }): void {
    clearTimeout(this.#direct.get(end.key));
    this.#direct.delete(end.key);
    if (end.recycled) this.recycles++;
    if (end.fail) this.#opts.onDirectFailure?.(end.fail.reason, end.fail.message);
  }

  async #hostCall(call: HostCall): Promise<void> {
    let reply: HostReply;
    try {
      if (!this.#opts.onHostCall) throw new HostCallError({ tag: "denied", val: `this host does not provide ${call.capability}` });
      if (tracing) trace("host>", hostCallLabel(call));
      reply = { hid: call.hid, ok: (await this.#opts.onHostCall(call, this.#pending.get(call.call)?.context)) ?? null };
      trace("host<", `${call.capability}.${call.fn}`);
    } catch (e) {
      if (e instanceof HostCallError) reply = e.variant ? { hid: call.hid, err: e.variant } : { hid: call.hid, denied: e.denied ?? e.message };
      else reply = { hid: call.hid, fail: e instanceof Error ? e.message : String(e) };
    }
    if (this.#dead) return;
    // `hid` first: the runner tells replies from calls by the line's start.
    this.#writer.write(ENCODER.encode(encodeHostLine(reply) + "\n")).catch(() => {});
  }

  async #stderr(): Promise<string> {
    let text = "";
    let partial = "";
    try {
      for await (const chunk of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
        if (!tracing) {
          text = (text + chunk).slice(-4096);
          continue;
        }
        // The runner's trace lines go to this process's stderr, the rest is kept as usual.
        const lines = (partial + chunk).split("\n");
        partial = lines.pop()!;
        const own = lines.filter((l) => !l.startsWith("TRACE "));
        if (own.length < lines.length) console.error(lines.filter((l) => l.startsWith("TRACE ")).join("\n"));
        if (own.length) text = (text + own.join("\n") + "\n").slice(-4096);
      }
    } catch { /* closed */ }
    return text + partial;
  }
}
