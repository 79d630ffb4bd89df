/**
 * A short command run with bounds: its output cut at `maxOutput` bytes per stream, killed with
 * SIGKILL past `timeoutMs`, and its pipes read for at most `drainMs` after it exits (a daemon it
 * leaves behind, such as conmon's monitor, may hold them open for good). Used by the mount
 * namespace's spawner (spawner_main.ts) and by the `host-process` capability when no spawner is
 * ready (node/hostcaps/host_process.ts, through `nsenter`).
 * @module
 */
import { signalNumber } from "./spawner_protocol.ts";

export interface BoundedCommand {
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  clearEnv?: boolean;
  stdin?: Uint8Array;
  timeoutMs?: number;
  drainMs?: number;
  maxOutput: number;
  /** Called right after the spawn, synchronously, also when it failed (sync_pipe.ts). */
  afterSpawn?: () => void;
}

export interface BoundedResult {
  /** The exit code; 128 + the signal's number when a signal ended it. */
  code: number;
  signal?: Deno.Signal;
  stdout: Uint8Array;
  stderr: Uint8Array;
  timedOut: boolean;
}

/** Runs `c`; throws when the binary cannot be started. */
export async function runBounded(c: BoundedCommand): Promise<BoundedResult> {
  let child;
  try {
    child = new Deno.Command(c.argv[0], {
      args: c.argv.slice(1),
      cwd: c.cwd,
      env: c.env,
      clearEnv: c.clearEnv,
      stdin: c.stdin?.length ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } finally {
    c.afterSpawn?.();
  }
  if (c.stdin?.length) {
    const w = child.stdin.getWriter();
    w.write(c.stdin).then(() => w.close()).catch(() => {});
  }
  const max = c.maxOutput;
  if (c.drainMs === undefined && !c.timeoutMs) {
    // Read to the end in one op (cheaper than two streams read chunk by chunk).
    const out = await child.output();
    return result(out, out.stdout.subarray(0, max), out.stderr.subarray(0, max), false);
  }
  let timedOut = false;
  let stop!: () => void;
  const stopped = new Promise<void>((r) => stop = r);
  const timers: ReturnType<typeof setTimeout>[] = [];
  if (c.timeoutMs) {
    timers.push(setTimeout(() => {
      timedOut = true;
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      // A child it left may hold the pipes: stop reading soon after.
      timers.push(setTimeout(stop, 100));
    }, c.timeoutMs));
  }
  const exited = child.status;
  if (c.drainMs !== undefined) exited.then(() => timers.push(setTimeout(stop, c.drainMs)));
  try {
    const [status, stdout, stderr] = await Promise.all([
      exited,
      collectOutput(child.stdout, stopped, max),
      collectOutput(child.stderr, stopped, max),
    ]);
    return result(status, stdout, stderr, timedOut);
  } finally {
    for (const t of timers) clearTimeout(t);
  }
}

function result(status: Deno.CommandStatus, stdout: Uint8Array, stderr: Uint8Array, timedOut: boolean): BoundedResult {
  return {
    code: status.signal ? 128 + signalNumber(status.signal) : status.code,
    ...(status.signal ? { signal: status.signal } : {}),
    stdout,
    stderr,
    timedOut,
  };
}

/** Reads `stream` into at most `max` bytes, until it ends or `stop` resolves. */
async function collectOutput(
  stream: ReadableStream<Uint8Array>,
  stop: Promise<void>,
  max: number,
): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const stopped = stop.then(() => null);
  try {
    for (;;) {
      const r = await Promise.race([reader.read(), stopped]);
      if (!r || r.done) break;
      if (size < max) chunks.push(r.value.subarray(0, max - size));
      size += r.value.length;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  const out = new Uint8Array(Math.min(size, max));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
