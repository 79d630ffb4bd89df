/**
 * exec and attach for OCI containers:
 *
 * - **exec without a terminal**: `crun exec` with piped stdio (its exit code is the command's);
 *   a timeout kills the command inside the container through crun's `--pid-file`.
 * - **exec with a terminal**: `crun exec --tty --console-socket` allocates the terminal inside the
 *   container (a controlling terminal: job control, SIGWINCH) and hands its master to the agent
 *   over the socket (libc.ts); resizing the master resizes it.
 * - **attach**: conmon's attach socket (`<bundle>/attach`, SOCK_SEQPACKET; each packet of output
 *   starts with 2 for stdout or 3 for stderr; input goes to the container's stdin) and its `ctl`
 *   fifo for resizes (`1 <rows> <cols>`).
 * @module
 */
import { ConsoleSocket, Pty, SeqPacketSocket } from "../../mountns/libc.ts";
import type { ExecRequest, StreamSession } from "../api.ts";
import type { Crun } from "./crun.ts";

type Chunk = { stream: "stdout" | "stderr"; data: Uint8Array };

/**
 * Writes the process spec of an exec: the container's own process (user, environment, working
 * directory, capabilities, no_new_privs, AppArmor/SELinux labels) with `cmd` as its arguments,
 * as runc and containerd do; `crun exec --process` runs it. Returns the file and the pid file.
 */
async function execProcess(bundle: string, cmd: string[], tty = false): Promise<{ spec: string; pidFile: string }> {
  const tag = crypto.randomUUID().slice(0, 8);
  const config = JSON.parse(await Deno.readTextFile(`${bundle}/config.json`));
  const env: string[] = config.process.env ?? [];
  const process = {
    ...config.process,
    args: cmd,
    terminal: false,
    env: tty && !env.some((e) => e.startsWith("TERM=")) ? [...env, "TERM=xterm"] : env,
  };
  const spec = `${bundle}/exec-${tag}.json`;
  await Deno.writeTextFile(spec, JSON.stringify(process));
  return { spec, pidFile: `${bundle}/exec-${tag}.pid` };
}

function cleanUp(files: { spec: string; pidFile: string }): void {
  Deno.remove(files.spec).catch(() => {});
  Deno.remove(files.pidFile).catch(() => {});
}

function pidOf(path: string): number | undefined {
  try {
    const n = Number(Deno.readTextFileSync(path).trim());
    return n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function killPid(path: string): void {
  const pid = pidOf(path);
  if (pid) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
}

/** Runs `cmd` in the container to completion (exec probes); a timeout kills it and reports 124... as upstream's probe "timed out". */
export async function execSync(
  crun: Crun,
  id: string,
  cmd: string[],
  timeoutMs: number,
  bundle: string,
): Promise<{ exitCode: number; stdout: Uint8Array; stderr: Uint8Array }> {
  const files = await execProcess(bundle, cmd);
  const pidFile = files.pidFile;
  const argv = crun.argv(["exec", "--process", files.spec, "--pid-file", pidFile, id]);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = timeoutMs > 0
    ? setTimeout(() => {
      timedOut = true;
      killPid(pidFile);
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
    }, timeoutMs)
    : undefined;
  try {
    const out = await child.output();
    if (timedOut) {
      throw new Error(`command ${JSON.stringify(cmd)} timed out after ${timeoutMs / 1000}s`);
    }
    return { exitCode: out.code, stdout: out.stdout, stderr: out.stderr };
  } finally {
    clearTimeout(timer);
    cleanUp(files);
  }
}

/** Turns a byte stream into tagged chunks. */
function tag(stream: ReadableStream<Uint8Array>, name: "stdout" | "stderr"): ReadableStream<Chunk> {
  return stream.pipeThrough(new TransformStream<Uint8Array, Chunk>({
    transform: (data, c) => c.enqueue({ stream: name, data }),
  }));
}

/** Interleaves two chunk streams. */
function merge(a: ReadableStream<Chunk>, b: ReadableStream<Chunk>): ReadableStream<Chunk> {
  return new ReadableStream<Chunk>({
    async start(c) {
      await Promise.all([a, b].map(async (s) => {
        for await (const x of s) c.enqueue(x);
      }));
      c.close();
    },
  });
}

/** Starts an exec session (`kubectl exec`). */
export function execSession(crun: Crun, id: string, req: ExecRequest, bundle: string): Promise<StreamSession> {
  return req.tty ? ttyExec(crun, id, req, bundle) : pipeExec(crun, id, req, bundle);
}

async function pipeExec(crun: Crun, id: string, req: ExecRequest, bundle: string): Promise<StreamSession> {
  const files = await execProcess(bundle, req.cmd);
  const pidFile = files.pidFile;
  const argv = crun.argv(["exec", "--process", files.spec, "--pid-file", pidFile, id]);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: req.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = req.stdin ? child.stdin.getWriter() : undefined;
  let stdinClosed = !req.stdin;
  const exited = child.status.then((s) => {
    cleanUp(files);
    return s.signal ? 128 + signalNumber(s.signal) : s.code;
  });
  return {
    output: merge(tag(child.stdout, "stdout"), tag(child.stderr, "stderr")),
    async write(data) {
      if (writer && !stdinClosed) await writer.write(data).catch(() => {});
    },
    async closeStdin() {
      if (writer && !stdinClosed) {
        stdinClosed = true;
        await writer.close().catch(() => {});
      }
    },
    resize() {},
    exited,
    async close() {
      killPid(pidFile);
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      if (writer && !stdinClosed) {
        stdinClosed = true;
        await writer.close().catch(() => {});
      }
      await exited;
    },
  };
}

function signalNumber(s: Deno.Signal): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[s] ?? 9;
}

async function ttyExec(crun: Crun, id: string, req: ExecRequest, bundle: string): Promise<StreamSession> {
  const files = await execProcess(bundle, req.cmd, true);
  const pidFile = files.pidFile;
  const socketPath = `${bundle}/exec-${crypto.randomUUID().slice(0, 8)}.sock`;
  // A socket path must fit in 108 bytes: use a short one next to the bundle when it does not.
  const console = ConsoleSocket.listen(socketPath.length < 100 ? socketPath : `/tmp/skiff-${crypto.randomUUID()}.sock`);
  const spec = JSON.parse(await Deno.readTextFile(files.spec));
  await Deno.writeTextFile(files.spec, JSON.stringify({ ...spec, terminal: true }));
  const argv = crun.argv([
    "exec",
    "--tty",
    "--console-socket",
    console.path,
    "--process",
    files.spec,
    "--pid-file",
    pidFile,
    id,
  ]);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let ended = false;
  const stderr = new Response(child.stderr).text();
  const exited = child.status.then((s) => {
    ended = true;
    cleanUp(files);
    return s.signal ? 128 + signalNumber(s.signal) : s.code;
  });
  let pty: Pty | null;
  try {
    pty = await console.receive(() => ended);
  } finally {
    console.close();
  }
  if (!pty) {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await exited;
    throw new Error(`the terminal of the exec was not received: ${(await stderr).trim()}`);
  }
  stderr.catch(() => {});
  const term = pty;
  let closed = false;
  const output = new ReadableStream<Chunk>({
    start(c) {
      let open = true;
      const finish = () => {
        if (!open) return;
        open = false;
        c.close();
      };
      // A read ends with EIO once every holder of the terminal is gone. A process the command
      // left behind may keep it: then the output ends shortly after the command has exited.
      exited.then(() => setTimeout(finish, 300));
      (async () => {
        for (let data = await term.read(); data !== null && open; data = await term.read()) {
          c.enqueue({ stream: "stdout", data });
        }
        finish();
        closed = true;
        term.close();
      })();
    },
  });
  return {
    output,
    async write(data) {
      if (!closed && !ended) await term.write(data).catch(() => {});
    },
    async closeStdin() {
      // A terminal has no end of input; send EOT as a terminal user would.
      if (!closed && !ended) await term.write(new Uint8Array([4])).catch(() => {});
    },
    resize(cols, rows) {
      if (!closed) {
        try {
          term.resize(cols, rows);
        } catch { /* closed */ }
      }
    },
    exited,
    async close() {
      killPid(pidFile);
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await exited;
    },
  };
}

/** Attaches to the container's main process through conmon's attach socket. */
export function attachSession(bundle: string, opts: { stdin: boolean; tty: boolean }): Promise<StreamSession> {
  const sock = SeqPacketSocket.connect(`${bundle}/attach`);
  let done = false;
  const ended = Promise.withResolvers<number>();
  const output = new ReadableStream<Chunk>({
    async pull(c) {
      const packet = await sock.read(8193);
      if (!packet) {
        done = true;
        ended.resolve(0);
        c.close();
        return;
      }
      if (packet.length <= 1) return;
      c.enqueue({ stream: packet[0] === 3 ? "stderr" : "stdout", data: packet.slice(1) });
    },
  });
  return Promise.resolve({
    output,
    async write(data) {
      if (opts.stdin && !done) await sock.write(data).catch(() => {});
    },
    closeStdin() {
      if (opts.stdin && !done) sock.closeWrite();
      return Promise.resolve();
    },
    resize(cols, rows) {
      if (!opts.tty) return;
      try {
        const f = Deno.openSync(`${bundle}/ctl`, { write: true });
        f.writeSync(new TextEncoder().encode(`1 ${rows} ${cols}\n`));
        f.close();
      } catch { /* gone */ }
    },
    exited: ended.promise,
    close() {
      done = true;
      sock.close();
      ended.resolve(0);
      return Promise.resolve();
    },
  });
}
