/**
 * The agent's side of a sandbox shim: start a shim (which starts the sandbox), or reattach to the
 * shim a previous agent started (its PID and start time in `shim.json` must still match a live
 * process); send it commands; receive its events. Closing the client leaves the shim running.
 * @module
 */
import {
  encode,
  JsonLines,
  type ShimCommand,
  type ShimConfig,
  type ShimEvent,
  type ShimState,
  SOCKET,
  STATE,
} from "./shim_protocol.ts";

const SHIM_ENTRY = new URL("./shim_main.ts", import.meta.url).pathname;
const enc = new TextEncoder();

function procStartTime(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z") return 0;
    return Number(fields[19]);
  } catch {
    return 0;
  }
}

/** The state a shim left in `dir`, or undefined. */
export function readShimState(dir: string): ShimState | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(`${dir}/${STATE}`)) as ShimState;
  } catch {
    return undefined;
  }
}

/** Whether the shim that wrote `state` still runs. */
export function shimAlive(state: ShimState): boolean {
  return !state.sandboxExit && state.shimPid > 0 && procStartTime(state.shimPid) === state.shimStartTime;
}

export class ShimClient {
  readonly dir: string;
  #conn: Deno.UnixConn;
  #handlers: ((e: ShimEvent) => void)[] = [];
  #writes = Promise.resolve();
  #closed = false;
  #reading: Promise<void>;
  #snapshots: ((s: ShimState) => void)[] = [];
  /** Resolves when the shim's connection ends (the shim exited, or `close`). */
  readonly ended: Promise<void>;

  private constructor(dir: string, conn: Deno.UnixConn) {
    this.dir = dir;
    this.#conn = conn;
    const ended = Promise.withResolvers<void>();
    this.ended = ended.promise;
    this.#reading = this.#read().finally(() => ended.resolve());
  }

  /** Starts a shim for a new sandbox in `dir` and connects to it. */
  static async start(config: ShimConfig): Promise<ShimClient> {
    await Deno.mkdir(config.dir, { recursive: true });
    for (const f of [STATE, SOCKET]) await Deno.remove(`${config.dir}/${f}`).catch(() => {});
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", "--no-lock", SHIM_ENTRY, JSON.stringify(config)],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child.unref();
    let exited = false;
    child.status.then(() => exited = true);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`the sandbox shim exited at once; see ${config.dir}/shim.log`);
      try {
        const conn = await Deno.connect({ transport: "unix", path: `${config.dir}/${SOCKET}` });
        return new ShimClient(config.dir, conn);
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 5));
    }
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    throw new Error(`the sandbox shim did not start within 15 s; see ${config.dir}/shim.log`);
  }

  /** Reconnects to the shim in `dir` when it still runs; undefined otherwise. */
  static async attach(dir: string): Promise<ShimClient | undefined> {
    const state = readShimState(dir);
    if (!state || !shimAlive(state)) return undefined;
    try {
      return new ShimClient(dir, await Deno.connect({ transport: "unix", path: `${dir}/${SOCKET}` }));
    } catch {
      return undefined;
    }
  }

  onEvent(handler: (e: ShimEvent) => void): void {
    this.#handlers.push(handler);
  }

  send(cmd: ShimCommand): void {
    if (this.#closed) return;
    const bytes = enc.encode(encode(cmd));
    this.#writes = this.#writes.then(async () => {
      for (let o = 0; o < bytes.length;) o += await this.#conn.write(bytes.subarray(o));
    }).catch(() => {});
  }

  /** The shim's current view of its containers. */
  snapshot(): Promise<ShimState> {
    const p = new Promise<ShimState>((resolve) => this.#snapshots.push(resolve));
    this.send({ op: "snapshot" });
    return p;
  }

  async #read() {
    const lines = new JsonLines<ShimEvent>();
    try {
      for await (const chunk of this.#conn.readable) {
        for (const e of lines.push(chunk)) {
          if (e.ev === "snapshot") this.#snapshots.shift()?.(e.state);
          for (const h of this.#handlers) h(e);
        }
      }
    } catch { /* closed */ }
  }

  /** Disconnects; the shim and its sandbox keep running. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writes;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    await this.#reading;
  }
}
