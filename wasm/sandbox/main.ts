/**
 * The sandbox process: runs the Wasm containers the host asks for, under the narrow Deno
 * permissions the host started it with (see `flags.ts`). It speaks the protocol of
 * `protocol.ts` on stdin/stdout, beats a heartbeat, and runs a watchdog worker that names a guest
 * spinning past the deadline. It exits when its stdin closes (the host is gone).
 *
 * Usage (by `client.ts`): `deno run <flags> wasm/sandbox/main.ts '{"deadlineMs":5000}'`.
 * @module
 */
import { type RunningContainer, startContainer } from "../host/container.ts";
import { loaderStats } from "../host/loader.ts";
import {
  COLLECTING,
  type Command,
  CURRENT,
  encodeLine,
  type Event,
  HEARTBEAT,
  LAST,
  LineDecoder,
  parseMessage,
  toBase64,
} from "./protocol.ts";

const config = JSON.parse(Deno.args[0] ?? "{}") as { deadlineMs?: number };
const encoder = new TextEncoder();

function send(e: Event): void {
  const bytes = encoder.encode(encodeLine(e));
  for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
}

const state = new Int32Array(new SharedArrayBuffer(16));
let watchdog: Worker | undefined;
if (config.deadlineMs && config.deadlineMs > 0) {
  watchdog = new Worker(new URL("./watchdog.ts", import.meta.url), { type: "module" });
  watchdog.postMessage({ sab: state.buffer, deadlineMs: config.deadlineMs });
}
setInterval(() => Atomics.add(state, HEARTBEAT, 1), 50);

const containers = new Map<string, { slot: number; running?: RunningContainer }>();
let nextSlot = 1;

setInterval(() => {
  let wasmBytes = 0;
  for (const c of containers.values()) wasmBytes += c.running?.memoryBytes() ?? 0;
  send({
    ev: "heartbeat",
    heapUsed: Deno.memoryUsage().heapUsed,
    wasmBytes,
    compiledModules: loaderStats().modules,
  });
}, 500);

/**
 * Returns reclaimed instances' linear memory to the system: a full garbage collection, 2 s after
 * a reclaim and at most every 20 s. It blocks this thread (≈0.3–1 s with 200 live StarlingMonkey
 * instances), so a burst of reclaims costs one, and the watchdog does not count it as a stall.
 */
const GC_MIN_INTERVAL_MS = 20_000;
let collecting: ReturnType<typeof setTimeout> | undefined;
let lastCollection = -Infinity;
function collectSoon(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc || collecting !== undefined) return;
  const wait = Math.max(2000, lastCollection + GC_MIN_INTERVAL_MS - performance.now());
  collecting = setTimeout(() => {
    collecting = undefined;
    Atomics.store(state, COLLECTING, 1);
    try {
      gc();
    } finally {
      Atomics.store(state, COLLECTING, 0);
      Atomics.add(state, HEARTBEAT, 1);
      lastCollection = performance.now();
    }
  }, wait);
  Deno.unrefTimer(collecting);
}

async function start(spec: Extract<Command, { op: "start" }>["spec"]): Promise<void> {
  if (containers.has(spec.id)) {
    send({ ev: "start-failed", id: spec.id, message: `A container ${spec.id} already runs in this sandbox` });
    return;
  }
  const slot = nextSlot++;
  const entry: { slot: number; running?: RunningContainer } = { slot };
  containers.set(spec.id, entry);
  watchdog?.postMessage({ slot, id: spec.id });
  try {
    entry.running = await startContainer(spec, {
      output: (stream, bytes) => send({ ev: "output", id: spec.id, stream, data: toBase64(bytes) }),
      enter: () => {
        Atomics.store(state, CURRENT, slot);
        Atomics.store(state, LAST, slot);
      },
      leave: () => Atomics.store(state, CURRENT, 0),
      reclaimed: collectSoon,
    });
  } catch (e) {
    containers.delete(spec.id);
    send({ ev: "start-failed", id: spec.id, message: (e as Error)?.message ?? String(e) });
    return;
  }
  send({ ev: "started", id: spec.id });
  const exit = await entry.running.exited;
  containers.delete(spec.id);
  send({ ev: "exit", id: spec.id, exit });
}

async function handle(cmd: Command): Promise<void> {
  switch (cmd.op) {
    case "start":
      return await start(cmd.spec);
    case "stop":
      return await containers.get(cmd.id)?.running?.stop(cmd.graceMs);
    case "shutdown":
      await Promise.allSettled([...containers.values()].map((c) => c.running?.stop(0)));
      Deno.exit(0);
  }
}

send({ ev: "ready", pid: Deno.pid });
const lines = new LineDecoder();
for await (const chunk of Deno.stdin.readable) {
  for (const line of lines.push(chunk)) {
    const cmd = parseMessage<Command>(line);
    if (cmd) handle(cmd).catch((e) => console.error(`sandbox: ${cmd.op} failed: ${e?.stack ?? e}`));
  }
}
Deno.exit(0);
