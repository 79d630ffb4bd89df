/**
 * The host side of a sandbox process: start it (optionally inside a network namespace through
 * `wrap`, and under cgroup v1 limits), start and stop containers in it, receive their output and
 * exits, and kill it. A guest spinning past the deadline (named by the sandbox's watchdog, or a
 * sandbox that stops beating its heartbeat) gets the sandbox killed: the guilty container exits
 * `Unresponsive`, the others `SandboxLost` with `collateral: true`, and the node re-creates them
 * in a new sandbox.
 *
 * @example
 * ```ts ignore
 * import { Sandbox } from "./client.ts";
 *
 * await using sandbox = await Sandbox.start({
 *   permissions: { read: [cacheDir], net: ["127.0.0.1"] },
 *   onExit: (id, exit) => console.log(id, exit),
 * });
 * await sandbox.startContainer({ id: "web", component, listen: [{ ip: "127.0.0.1", port: 8080 }] });
 * ```
 * @module
 */
import type { ContainerExit, ContainerSpec } from "../host/spec.ts";
import { SandboxCgroup } from "./cgroup.ts";
import { sandboxArgs, type SandboxPermissions } from "./flags.ts";
import {
  type Command,
  encodeLine,
  type Event,
  fromBase64,
  LineDecoder,
  parseMessage,
  parseWatchdogLine,
  type WatchdogReport,
} from "./protocol.ts";

/** Options of {@linkcode Sandbox.start}. */
export interface SandboxOptions {
  /** A name for logs and cgroups (default: random). */
  name?: string;
  permissions: SandboxPermissions;
  /** V8 heap limit of the sandbox, MiB. */
  heapLimitMiB?: number;
  /** A guest that does not yield for this long gets its sandbox killed (default 5000; 0: never). */
  deadlineMs?: number;
  /** A command prefix, e.g. `["nsenter", "--net=/run/netns/pod", "--"]` (it must exec Deno). */
  wrap?: readonly string[];
  /** The Deno executable (default: this one). */
  denoPath?: string;
  /** cgroup v1 limits on the whole sandbox process. */
  cgroup?: { cpuMillis?: number; memoryBytes?: number };
  onOutput?(id: string, stream: "stdout" | "stderr", bytes: Uint8Array): void;
  onExit?(id: string, exit: ContainerExit): void;
  /** The sandbox's own diagnostics (its stderr lines). */
  onLog?(line: string): void;
  /** How long to wait for the sandbox to come up (default 15 s). */
  startTimeoutMs?: number;
  /** Write a V8 CPU profile here when the sandbox ends by `shutdown()` (benchmarks). */
  cpuProfileDir?: string;
}

/** How a sandbox process ended. */
export interface SandboxExit {
  code: number;
  signal: Deno.Signal | null;
  /** `shutdown` (asked), `killed` (asked), `unresponsive`, `oom` or `crashed`. */
  reason: "shutdown" | "killed" | "unresponsive" | "oom" | "crashed";
  message?: string;
}

interface Tracked {
  started: PromiseWithResolvers<void>;
  exited: PromiseWithResolvers<ContainerExit>;
  isStarted: boolean;
}

const here = (f: string) => decodeURIComponent(new URL(f, import.meta.url).pathname);
const ENTRY = here("./main.ts");
/** The sandbox reads these itself: its watchdog worker's module and what it imports. */
const WORKER_FILES = [here("./watchdog.ts"), here("./protocol.ts")];

/** One sandbox process. */
export class Sandbox implements AsyncDisposable {
  readonly name: string;
  readonly pid: number;
  /** Settles when the process has ended and every container has been reported. */
  readonly exited: Promise<SandboxExit>;
  /** Whether cgroup limits are enforced (or why not). */
  readonly limits: { enforced: boolean; reason?: string };
  /** The latest heartbeat figures. */
  stats = { heapUsed: 0, wasmBytes: 0, compiledModules: 0, lastBeatAt: performance.now() };

  readonly #child: Deno.ChildProcess;
  readonly #opts: SandboxOptions;
  readonly #containers = new Map<string, Tracked>();
  /** How containers that have left ended (until their id is started again). */
  readonly #ended = new Map<string, ContainerExit>();
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #writes: Promise<void> = Promise.resolve();
  #intent?: "shutdown" | "killed";
  #blame?: WatchdogReport;
  #stderrTail: string[] = [];
  #monitor?: ReturnType<typeof setInterval>;

  private constructor(
    child: Deno.ChildProcess,
    opts: SandboxOptions,
    name: string,
    cgroup: SandboxCgroup | string | undefined,
  ) {
    this.#child = child;
    this.#opts = opts;
    this.name = name;
    this.pid = child.pid;
    this.limits = cgroup instanceof SandboxCgroup ? { enforced: true } : { enforced: false, reason: cgroup };
    this.#writer = child.stdin.getWriter();
    this.exited = this.#run(cgroup instanceof SandboxCgroup ? cgroup : undefined);
  }

  /** Starts a sandbox process and waits until it is ready. */
  static async start(opts: SandboxOptions): Promise<Sandbox> {
    const name = opts.name ?? crypto.randomUUID().slice(0, 8);
    const deno = opts.denoPath ?? Deno.execPath();
    const args = sandboxArgs({
      entry: ENTRY,
      permissions: { ...opts.permissions, read: [...opts.permissions.read, ...WORKER_FILES] },
      heapLimitMiB: opts.heapLimitMiB,
      deadlineMs: opts.deadlineMs ?? 5000,
      cpuProfileDir: opts.cpuProfileDir,
    });
    const wrap = opts.wrap ?? [];
    const env: Record<string, string> = { NO_COLOR: "1" };
    for (const k of ["HOME", "DENO_DIR", "XDG_CACHE_HOME", "PATH"]) {
      const v = Deno.env.get(k);
      if (v) env[k] = v;
    }
    const cgroup = opts.cgroup && (opts.cgroup.cpuMillis || opts.cgroup.memoryBytes)
      ? await SandboxCgroup.create(name, opts.cgroup)
      : undefined;
    const child = new Deno.Command(wrap[0] ?? deno, {
      args: [...wrap.slice(1), ...(wrap.length ? [deno] : []), ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
      env,
    }).spawn();
    if (cgroup instanceof SandboxCgroup) await cgroup.add(child.pid).catch(() => {});
    const sandbox = new Sandbox(child, opts, name, cgroup);
    await sandbox.#ready(opts.startTimeoutMs ?? 15_000);
    return sandbox;
  }

  #readyWaiter = Promise.withResolvers<void>();

  async #ready(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`The sandbox did not start within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    const died = this.exited.then((e) => {
      throw new Error(
        `The sandbox exited before it was ready (${e.message ?? e.reason}): ${this.#stderrTail.join("\n")}`,
      );
    });
    try {
      await Promise.race([this.#readyWaiter.promise, timeout, died]);
    } catch (e) {
      await this.kill();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    died.catch(() => {});
  }

  /** The ids of the containers this sandbox runs. */
  get containers(): string[] {
    return [...this.#containers.keys()];
  }

  /** Starts a container; rejects with the reason when it cannot start. */
  startContainer(spec: ContainerSpec): Promise<void> {
    if (this.#containers.has(spec.id)) {
      return Promise.reject(new Error(`Container ${spec.id} already exists in sandbox ${this.name}`));
    }
    const t: Tracked = {
      started: Promise.withResolvers(),
      exited: Promise.withResolvers(),
      isStarted: false,
    };
    t.started.promise.catch(() => {});
    this.#containers.set(spec.id, t);
    this.#send({ op: "start", spec });
    return t.started.promise;
  }

  /** Stops a container (see `RunningContainer.stop`); resolves with its exit. */
  stopContainer(id: string, graceMs = 30_000): Promise<ContainerExit> {
    const t = this.#containers.get(id);
    if (!t) return this.waitContainer(id);
    this.#send({ op: "stop", id, graceMs });
    return t.exited.promise;
  }

  /** Resolves with a container's exit (at once when it has already ended). */
  waitContainer(id: string): Promise<ContainerExit> {
    const t = this.#containers.get(id);
    if (t) return t.exited.promise;
    const ended = this.#ended.get(id);
    return ended
      ? Promise.resolve(ended)
      : Promise.reject(new Error(`No container ${id} in sandbox ${this.name}`));
  }

  /** Kills the sandbox process (SIGKILL); every container is reported `SandboxLost`. */
  async kill(): Promise<SandboxExit> {
    this.#intent ??= "killed";
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
    return await this.exited;
  }

  /** Stops every container (grace 0) and ends the sandbox; kills it after `timeoutMs`. */
  async shutdown(timeoutMs = 2000): Promise<SandboxExit> {
    this.#intent ??= "shutdown";
    this.#send({ op: "shutdown" });
    const timer = setTimeout(() => this.kill(), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
  }

  #send(cmd: Command): void {
    const bytes = new TextEncoder().encode(encodeLine(cmd));
    this.#writes = this.#writes.then(() => this.#writer.write(bytes)).catch(() => {});
  }

  async #run(cgroup?: SandboxCgroup): Promise<SandboxExit> {
    const deadline = this.#opts.deadlineMs ?? 5000;
    if (deadline > 0) {
      this.#monitor = setInterval(() => {
        if (performance.now() - this.stats.lastBeatAt > deadline + 3000 && !this.#intent) {
          this.#blame ??= { stalledMs: Math.round(performance.now() - this.stats.lastBeatAt) };
          this.#killUnresponsive();
        }
      }, 500);
    }
    const [status] = await Promise.all([this.#child.status, this.#readStdout(), this.#readStderr()]);
    clearInterval(this.#monitor);
    await this.#writer.close().catch(() => {});
    const oom = (await cgroup?.oomKilled()) ||
      this.#stderrTail.some((l) => /out of memory|heap limit/i.test(l));
    await cgroup?.remove();
    const exit = this.#describe(status, oom);
    this.#readyWaiter.reject(new Error(exit.message ?? exit.reason));
    this.#readyWaiter.promise.catch(() => {});
    for (const [id, t] of this.#containers) {
      if (!t.isStarted) {
        t.started.reject(new Error(`The sandbox ended before ${id} started: ${exit.message ?? exit.reason}`));
      }
      const cexit = this.#containerExit(id, exit);
      this.#ended.set(id, cexit);
      t.exited.resolve(cexit);
      this.#opts.onExit?.(id, cexit);
    }
    this.#containers.clear();
    return exit;
  }

  #killUnresponsive(): void {
    this.#blame ??= { stalledMs: 0 };
    try {
      this.#child.kill("SIGKILL");
    } catch { /* gone */ }
  }

  #describe(status: Deno.CommandStatus, oom: boolean): SandboxExit {
    const base = { code: status.code, signal: status.signal };
    if (this.#blame) {
      const who = this.#blame.container ? `container ${this.#blame.container}` : "a guest";
      return {
        ...base,
        reason: "unresponsive",
        message: `${who} did not yield for ${this.#blame.stalledMs} ms`,
      };
    }
    if (this.#intent) return { ...base, reason: this.#intent };
    if (oom) return { ...base, reason: "oom", message: "The sandbox ran out of memory" };
    return {
      ...base,
      reason: "crashed",
      message: this.#stderrTail.slice(-5).join("\n") || `exit ${status.code}`,
    };
  }

  #containerExit(id: string, exit: SandboxExit): ContainerExit {
    if (exit.reason === "unresponsive") {
      if (this.#blame?.container === id) {
        return {
          exitCode: 137,
          reason: "Unresponsive",
          message: `The guest ran ${this.#blame.stalledMs} ms without yielding; its sandbox was killed`,
        };
      }
      return {
        exitCode: 137,
        reason: "SandboxLost",
        collateral: true,
        message: `Sandbox ${this.name} was killed: ${exit.message}`,
      };
    }
    if (exit.reason === "oom") {
      const alone = this.#containers.size === 1;
      return { exitCode: 137, reason: "OOMKilled", collateral: !alone, message: exit.message };
    }
    return {
      exitCode: 137,
      reason: "SandboxLost",
      collateral: true,
      message: `Sandbox ${this.name} ended (${exit.reason}${exit.message ? `: ${exit.message}` : ""})`,
    };
  }

  async #readStdout(): Promise<void> {
    const lines = new LineDecoder();
    for await (const chunk of this.#child.stdout) {
      for (const line of lines.push(chunk)) {
        const ev = parseMessage<Event>(line);
        if (ev) this.#onEvent(ev);
      }
    }
  }

  #onEvent(ev: Event): void {
    this.stats.lastBeatAt = performance.now();
    switch (ev.ev) {
      case "ready":
        this.#readyWaiter.resolve();
        break;
      case "heartbeat":
        this.stats.heapUsed = ev.heapUsed;
        this.stats.wasmBytes = ev.wasmBytes;
        this.stats.compiledModules = ev.compiledModules;
        break;
      case "started": {
        const t = this.#containers.get(ev.id);
        if (t) {
          t.isStarted = true;
          t.started.resolve();
        }
        break;
      }
      case "start-failed": {
        const t = this.#containers.get(ev.id);
        this.#containers.delete(ev.id);
        t?.started.reject(new Error(ev.message));
        break;
      }
      case "output":
        this.#opts.onOutput?.(ev.id, ev.stream, fromBase64(ev.data));
        break;
      case "exit": {
        const t = this.#containers.get(ev.id);
        this.#containers.delete(ev.id);
        this.#ended.set(ev.id, ev.exit);
        t?.exited.resolve(ev.exit);
        this.#opts.onExit?.(ev.id, ev.exit);
        break;
      }
    }
  }

  async #readStderr(): Promise<void> {
    const decoder = new TextDecoder();
    let tail = "";
    for await (const chunk of this.#child.stderr) {
      const text = tail + decoder.decode(chunk, { stream: true });
      const lines = text.split("\n");
      tail = lines.pop() ?? "";
      for (const line of lines) {
        const report = parseWatchdogLine(line);
        if (report) {
          this.#blame = report;
          this.#killUnresponsive();
          continue;
        }
        this.#stderrTail = [...this.#stderrTail.slice(-19), line];
        this.#opts.onLog?.(line);
      }
    }
  }
}
