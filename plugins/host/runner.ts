/**
 * A plugin runner: the process that runs ONE plugin's component (`deno run` with read access to
 * the component's folder and write access to its state file only; no net, env, run or ffi).
 * The plugin host starts it, writes calls to its stdin and reads answers from its stdout
 * (protocol.ts); it kills it when a call runs past its deadline, which is the only way to stop a
 * spinning guest in Deno 2.9.6. Inside, each call runs synchronously on one instance; an
 * instance that trapped, hit its memory cap, used an ungranted capability or answered garbage is
 * dropped and a fresh one is made (and configured) before the next call. With `config.direct`
 * (admission and scheduler plugins) it also serves callers on its own unix socket (plugins/host/direct.ts).
 * With `config.trace` it prints start-up trace lines to stderr (plugins/host/trace.ts): the call
 * read, the guest entered and returned (with the process's CPU), each host call as the guest waits
 * for it, state store operations and saves, the answer written; its host copies them.
 * @module
 */
import { loadComponent } from "../../wasm/host/loader.ts";
import type { PreparedComponent } from "../../wasm/component_cache.ts";
import { createWasi } from "../../wasm/wasi/mod.ts";
import { GUEST_BINDINGS } from "./bindings.ts";
import { capabilityImports } from "./capabilities.ts";
import { serveDirect } from "./direct.ts";
import { StateFile } from "./state_file.ts";
import { startTracing, trace, traceNow, tracing } from "./trace.ts";
import { findExport, KINDS } from "./kinds.ts";
import {
  type CallFailure,
  CapabilityDenied,
  decodeHostLine,
  encodeHostLine,
  type HostReply,
  MalformedResult,
  type RunnerCall,
  type RunnerConfig,
  type RunnerMessage,
} from "./protocol.ts";

const encoder = new TextEncoder();
function send(m: RunnerMessage, line = JSON.stringify(m)): void {
  const bytes = encoder.encode(line + "\n");
  for (let at = 0; at < bytes.length;) at += Deno.stdout.writeSync(bytes.subarray(at));
}

/** The last lines the guest wrote to stderr (QuickJS prints its panics there). */
let stderrTail = "";

/** A readable reason out of a guest failure. */
export function classify(e: unknown, memories: WebAssembly.Memory[], memoryBytes: number): CallFailure & { recycle: boolean } {
  if (e instanceof CapabilityDenied) return { reason: "CapabilityDenied", message: e.message, recycle: true };
  if (e instanceof MalformedResult) return { reason: "MalformedResult", message: `the plugin answered garbage: ${e.message}`, recycle: true };
  // jco throws an export's `result::err` as the variant itself ({tag, val}), or with `payload`.
  const payload = (e as { payload?: unknown })?.payload ??
    (e && typeof e === "object" && !(e instanceof Error) && "tag" in e ? e : undefined);
  if (payload !== undefined) {
    const p = payload as { tag?: string; val?: unknown };
    const text = p && typeof p === "object" && "tag" in p ? `${p.tag}: ${typeof p.val === "string" ? p.val : JSON.stringify(p.val)}` : String(payload);
    return { reason: "PluginError", message: `the plugin returned an error: ${text}`, recycle: false };
  }
  const near = memories.some((m) => m.buffer.byteLength >= memoryBytes - memoryBytes / 8);
  const tail = stderrTail;
  if (near || /out of memory|memory allocation|Maximum memory size/i.test(tail + String(e))) {
    return { reason: "MemoryLimit", message: `the plugin ran out of memory (limit ${Math.round(memoryBytes / 1048576)} MiB)`, recycle: true };
  }
  const guest = /message: Some\("((?:[^"\\]|\\.)*)"\)/.exec(tail)?.[1];
  const what = e instanceof Error ? e.message : String(e);
  return { reason: "Trap", message: `the plugin trapped: ${guest ? `${guest} (${what})` : what}`, recycle: true };
}

async function main(): Promise<void> {
  const config = JSON.parse(Deno.args[0]) as RunnerConfig;
  if (config.trace) startTracing();
  // The process's CPU over a guest's run, for the trace only (node:process is not loaded otherwise).
  const cpuUsage = config.trace ? (await import("node:process")).default.cpuUsage : null;
  const binding = GUEST_BINDINGS[config.kind];
  const ops = binding?.ops;
  const t0 = performance.now();
  if (!ops) return startFailed({ reason: "NotLoaded", message: `this host does not run ${config.kind} plugins` });
  let loaded;
  try {
    loaded = await loadComponent({ ...config.component, kind: "command" } as PreparedComponent, config.memoryBytes);
  } catch (e) {
    return startFailed({ reason: "NotLoaded", message: `the component could not be loaded: ${(e as Error).message}` });
  }
  const decoder = new TextDecoder();
  // Calls are read with blocking reads: between calls the runner sleeps in read(2) and wakes on
  // the next line with no event loop or stream machinery in between (nothing else runs here: the
  // guest's host imports are synchronous, and only a recycle awaits).
  const reader = lineReader((b) => Deno.stdin.readSync(b));
  /** Calls that arrived while a nested host call waited for its reply. */
  const queued: string[] = [];
  let serving = 0;
  let nextHid = 0;
  /**
   * The state store as last changed and not yet on disk. A call's changes are written once,
   * before anything outside this process can see an effect of the call (its answer, or a nested
   * host call), rather than once per `set`.
   */
  let unsaved: [string, Uint8Array][] | null = null;
  /** The plugin's state file (plugins/host/state_file.ts), opened when the store is first loaded. */
  let stateFile: StateFile | null = null;
  const openState = (path: string) => {
    if (stateFile) return stateFile;
    stateFile = StateFile.open(path);
    if (stateFile.problem) send({ id: 0, log: { level: "warn", message: stateFile.problem } });
    return stateFile;
  };
  const flush = () => {
    if (!unsaved) return;
    const entries = unsaved;
    unsaved = null;
    if (!config.stateFile) return;
    if (tracing) trace("state-save>", config.plugin);
    openState(config.stateFile).save(entries);
    if (tracing) trace("state-save<", config.plugin);
  };
  /** A nested host call: ask the host, block on stdin until its reply (queueing calls meanwhile). */
  const hostCall = (capability: string, fn: string, args: unknown[]): unknown => {
    // Direct mode runs only where the host serves no host calls: its answer, without asking.
    if (config.direct) throw { tag: "denied", val: `this host does not provide ${capability}` };
    const hid = ++nextHid;
    const msg: RunnerMessage = { id: 0, host: { hid, call: serving, capability, fn, args } };
    flush();
    if (tracing) trace("rhost>", `${config.plugin} ${capability}.${fn}`);
    send(msg, encodeHostLine(msg));
    for (;;) {
      const line = reader.next();
      if (line === null) throw new Error(`the host closed the pipe during a call of ${capability}.${fn}`);
      if (!line) continue;
      if (!line.startsWith('{"hid":')) {
        queued.push(line);
        continue;
      }
      const r = decodeHostLine<HostReply>(line);
      if (r.hid !== hid) continue;
      if (tracing) trace("rhost<", `${config.plugin} ${capability}.${fn}`);
      if ("ok" in r) return r.ok ?? undefined;
      if ("err" in r) throw r.err;
      if ("denied" in r) throw new CapabilityDenied(r.denied);
      throw new Error(`the host failed ${capability}.${fn}: ${r.fail}`);
    }
  };
  const sinks = {
    log: (level: string, message: string) => send({ id: 0, log: { level, message } }),
    loadState: () => config.stateFile ? openState(config.stateFile).entries() : [],
    saveState: (entries: [string, Uint8Array][]) => void (unsaved = entries),
    hostCall,
    ...(tracing ? { traceState: (fn: string, key: string, bytes: number) => trace(`state-${fn}`, `${config.plugin} ${key} ${bytes}`) } : {}),
  };
  const caps = { ...capabilityImports(config.plugin, config.grants, sinks), ...binding!.imports?.(hostCall) };
  let instance: { iface: Record<string, unknown>; memories: WebAssembly.Memory[]; close(): void } | null = null;

  async function fresh() {
    stderrTail = "";
    const wasi = createWasi({
      env: [],
      args: [config.plugin],
      preopens: [],
      stdout: (b) => send({ id: 0, log: { level: "info", message: decoder.decode(b).trimEnd() } }),
      stderr: (b) => (stderrTail = (stderrTail + decoder.decode(b)).slice(-4096)),
    });
    const inst = await loaded!.instantiate({ ...wasi.imports, ...caps });
    // The current exports, else an older version's (the kind's binding tells them apart).
    const k = KINDS[config.kind];
    const ifaces = [k.exports, ...(k.olderExports ?? [])]
      .map((set) => set.map((x) => findExport(inst.exports, x)))
      .find((set) => set.every(Boolean)) ?? [undefined];
    const iface = Object.assign({}, ...ifaces) as Record<string, unknown>;
    if (ifaces.some((i) => !i)) throw new Error(`the component does not export ${KINDS[config.kind].exports.join(", ")}`);
    ops!.configure(iface, config.settings);
    return { iface, memories: inst.memories, close: () => wasi.close() };
  }

  try {
    instance = await fresh();
  } catch (e) {
    const f = classify(e, [], config.memoryBytes);
    return startFailed({ reason: f.reason === "PluginError" ? "PluginError" : f.reason, message: `configure failed: ${f.message}` });
  }

  /**
   * Runs one call on the instance (one at a time), answering through `reply`. Synchronous when
   * the instance is there (the guest's calls are): a promise only when a fresh instance has to
   * be made first, or after a failure, until the next one is ready.
   */
  function run(call: RunnerCall, reply: (m: RunnerMessage) => void): Promise<void> | void {
    serving = call.id;
    if (!instance) {
      return fresh().then((i) => {
        instance = i;
        return runOn(call, reply, true);
      }, (e) => failed(call, reply, e));
    }
    return runOn(call, reply, false);
  }

  function runOn(call: RunnerCall, reply: (m: RunnerMessage) => void, recycled: boolean): Promise<void> | void {
    try {
      const op = ops![call.op];
      if (!op) throw new MalformedResult(`unknown operation ${call.op}`);
      // `?? null`: an undefined answer would vanish from the JSON.
      const what = tracing ? `${config.plugin}.${call.op}` : "";
      const cpu = cpuUsage?.();
      trace("guest>", what);
      const ok = op(instance!.iface, ...call.args) ?? null;
      if (cpuUsage) {
        const used = cpuUsage(cpu);
        trace("guest<", `${what} cpu=${((used.user + used.system) / 1000).toFixed(3)}`);
      }
      flush();
      reply({ id: call.id, ok, ...(recycled ? { recycled } : {}) });
      trace("answer-sent", what);
    } catch (e) {
      return failed(call, reply, e);
    }
  }

  function failed(call: RunnerCall, reply: (m: RunnerMessage) => void, e: unknown): Promise<void> | void {
    const f = classify(e, instance?.memories ?? [], config.memoryBytes);
    if (f.recycle && instance) {
      instance.close();
      instance = null;
    }
    flush();
    reply({ id: call.id, fail: { reason: f.reason, message: f.message }, recycled: f.recycle });
    // Make the fresh instance now, between calls, not on the next call's clock (instantiate
    // and configure take ~1–3 ms); if that fails, the next call tries again and reports it.
    if (!instance) return fresh().then((i) => void (instance = i), () => {});
  }

  // Ready once the direct endpoint listens (the host publishes it when the runner is ready).
  const ready = () => send({ id: 0, ready: true, loadMs: Math.round(performance.now() - t0) });
  if (config.direct) return await serveBoth(config, run, ready);
  ready();
  for (let line = queued.shift() ?? reader.next(); line !== null; line = queued.shift() ?? reader.next()) {
    if (!line || line.startsWith('{"hid":')) continue;
    const at = tracing ? traceNow() : 0;
    const call = JSON.parse(line) as RunnerCall;
    if (tracing) trace("call-read", `${config.plugin}.${call.op}`, at);
    await run(call, (m) => send(m));
  }
}

/**
 * Direct mode (plugins/host/direct.ts): calls from the host (stdin) and from the direct endpoint,
 * one at a time in arrival order. Stdin is read asynchronously here (the socket needs the event
 * loop); `{"drain":true}` or its end drains the endpoint, and the runner exits once every call
 * is answered.
 */
async function serveBoth(
  config: RunnerConfig,
  run: (c: RunnerCall, reply: (m: RunnerMessage) => void) => Promise<void> | void,
  ready: () => void,
): Promise<void> {
  let serial = Promise.resolve();
  /** Calls queued or waiting (0: the next one runs at once, in its caller's turn). */
  let queued = 0;
  const enqueue = (f: () => Promise<void> | void): Promise<void> | void => {
    let waiting: Promise<void> | void;
    if (queued === 0) {
      try {
        waiting = f();
      } catch (e) {
        waiting = Promise.reject(e);
      }
      if (!waiting) return;
    } else waiting = serial.then(f, f);
    queued++;
    const settled = () => void queued--;
    serial = waiting.then(settled, (e) => {
      settled();
      throw e;
    });
    return serial;
  };
  let direct: { drain(): Promise<void> } | null = null;
  try {
    direct = serveDirect({
      path: config.direct!.path,
      token: config.direct!.token,
      plugin: config.plugin,
      kind: config.kind,
      run,
      serial: enqueue,
      notify: (m) => send(m),
    });
  } catch (e) {
    // Callers that cannot connect go through the host; the plugin still serves.
    send({ id: 0, log: { level: "warn", message: `the direct endpoint could not listen: ${(e as Error).message}` } });
  }
  ready();
  const stdin = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let text = "";
  for await (const chunk of stdin) {
    text += chunk;
    let nl: number;
    while ((nl = text.indexOf("\n")) >= 0) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 1);
      if (!line) continue;
      if (line === '{"drain":true}') {
        void direct?.drain();
        continue;
      }
      const call = JSON.parse(line) as RunnerCall;
      void (enqueue(() => run(call, (m) => send(m))) as Promise<void> | undefined)?.catch(() => {});
    }
  }
  await direct?.drain();
  await serial.catch(() => {});
  Deno.exit(0);
}

/** Newline-delimited text over a blocking `read` (null at end of input). */
export function lineReader(read: (b: Uint8Array) => number | null): { next(): string | null } {
  const decoder = new TextDecoder();
  let buf = new Uint8Array(64 * 1024);
  let start = 0;
  let end = 0;
  let scanned = 0;
  return {
    next(): string | null {
      for (;;) {
        const nl = buf.subarray(scanned, end).indexOf(10);
        if (nl >= 0) {
          const at = scanned + nl;
          const line = decoder.decode(buf.subarray(start, at));
          start = scanned = at + 1;
          return line;
        }
        scanned = end;
        if (start === end) start = end = scanned = 0;
        if (end === buf.length) {
          // Make room: drop what was consumed, or grow.
          if (start > 0) {
            buf.copyWithin(0, start, end);
            end -= start;
            scanned -= start;
            start = 0;
          } else {
            const bigger = new Uint8Array(buf.length * 2);
            bigger.set(buf);
            buf = bigger;
          }
        }
        const n = read(buf.subarray(end));
        if (n === null || n === 0) return null;
        end += n;
      }
    },
  };
}

function startFailed(fail: CallFailure): void {
  send({ id: -1, fail });
  Deno.exit(1);
}

if (import.meta.main) await main();
