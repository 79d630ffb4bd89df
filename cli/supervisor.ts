/**
 * Child-process supervision for `./skiff up`: every child is registered, runs in its own process
 * group, and is killed with its whole group however `up` ends.
 *
 * - A clean stop ({@linkcode Supervisor.stop}) sends SIGTERM to each group, waits a grace period,
 *   then SIGKILLs the group and reaps the child.
 * - A crash (uncaught error, unhandled rejection) or `Deno.exit` runs
 *   {@linkcode Supervisor.killAllSync} from the guards {@linkcode Supervisor.installCrashGuards} adds.
 * - If `up` is SIGKILLed, the kernel kills each direct child (`setpriv --pdeathsig SIGKILL`), and
 *   the next `up` kills what is left of the recorded groups ({@linkcode reapStaleChildren}).
 * @module
 */
import { groupMembers, processStartTime } from "./proc.ts";

/** What to run. */
export interface ChildSpec {
  /** Short name, unique per supervisor: used in logs and for the run record `<runDir>/<name>.json`. */
  name: string;
  cmd: string;
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Appends the child's stdout and stderr to this file; without it stdout is discarded and stderr inherited. */
  logFile?: string;
}

/** A running, registered child. */
export interface SupervisedChild {
  readonly name: string;
  /** PID of the child, which is also its process-group id. */
  readonly pid: number;
  /** Resolves when the child has exited and been reaped. */
  readonly status: Promise<Deno.CommandStatus>;
}

/** What a run record stores, so a later run can kill a group a SIGKILLed `up` left behind. */
export interface RunRecord {
  pid: number;
  /** The leader's start time in clock ticks since boot (`/proc/<pid>/stat` field 22). */
  startTime: number;
  cmd: string;
}

const SETPRIV = "/usr/bin/setpriv";

interface Entry extends SupervisedChild {
  done: boolean;
  logs: Promise<unknown>;
  record?: string;
}

/** Starts children and guarantees they are stopped. Use with `await using`. */
export class Supervisor implements AsyncDisposable {
  #children = new Map<string, Entry>();
  #runDir?: string;
  #graceMs: number;
  #usePdeathsig: boolean;

  /**
   * @param opts.runDir where run records go (omit to keep none)
   * @param opts.graceMs how long {@linkcode stop} waits after SIGTERM before SIGKILL (default 5000)
   */
  constructor(opts: { runDir?: string; graceMs?: number } = {}) {
    this.#runDir = opts.runDir;
    this.#graceMs = opts.graceMs ?? 5000;
    this.#usePdeathsig = exists(SETPRIV);
  }

  /** The registered children still running. */
  get running(): SupervisedChild[] {
    return [...this.#children.values()].filter((c) => !c.done);
  }

  /** Starts a child in a new process group and registers it. */
  spawn(spec: ChildSpec): SupervisedChild {
    if (this.#children.get(spec.name)?.done === false) {
      throw new Error(`child "${spec.name}" is already running`);
    }
    const argv = [spec.cmd, ...(spec.args ?? [])];
    // setpriv execs the command in place: same PID, so PID = process group = what we record.
    const [cmd, ...args] = this.#usePdeathsig ? [SETPRIV, "--pdeathsig", "SIGKILL", "--", ...argv] : argv;
    const logged = spec.logFile !== undefined;
    const log = logged ? [openLog(spec.logFile!), openLog(spec.logFile!)] : undefined;
    const child = new Deno.Command(cmd, {
      args,
      env: spec.env,
      cwd: spec.cwd,
      stdin: "null",
      stdout: logged ? "piped" : "null",
      stderr: logged ? "piped" : "inherit",
      detached: true, // setsid(): its own session and process group
    }).spawn();
    const logs = log
      ? Promise.all([child.stdout.pipeTo(log[0].writable), child.stderr.pipeTo(log[1].writable)])
      : Promise.resolve();
    const entry: Entry = { name: spec.name, pid: child.pid, status: child.status, done: false, logs };
    if (this.#runDir) {
      entry.record = `${this.#runDir}/${spec.name}.json`;
      const record: RunRecord = {
        pid: child.pid,
        startTime: processStartTime(child.pid) ?? 0,
        cmd: spec.cmd,
      };
      Deno.writeTextFileSync(entry.record, JSON.stringify(record) + "\n");
    }
    this.#children.set(spec.name, entry);
    child.status.then(() => {
      entry.done = true;
      if (entry.record) removeSync(entry.record);
    });
    return entry;
  }

  /** Sends `signal` to every running child's whole process group, synchronously (safe in crash handlers). */
  killAllSync(signal: Deno.Signal = "SIGKILL"): void {
    for (const c of this.#children.values()) if (!c.done) killGroup(c.pid, signal);
  }

  /** Stops every child: SIGTERM to its group, SIGKILL after the grace period, then reaps it. */
  async stop(): Promise<void> {
    const entries = [...this.#children.values()];
    await Promise.all(entries.map(async (c) => {
      if (!c.done) killGroup(c.pid, "SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, this.#graceMs));
      await Promise.race([c.status, grace]);
      clearTimeout(timer);
      killGroup(c.pid, "SIGKILL"); // the leader may be gone while group members remain
      await c.status;
      await c.logs;
    }));
  }

  /**
   * Kills every child if this process crashes or calls `Deno.exit`. Returns a function removing
   * the guards.
   */
  installCrashGuards(): () => void {
    const kill = () => this.killAllSync("SIGKILL");
    for (const type of ["error", "unhandledrejection", "unload"]) globalThis.addEventListener(type, kill);
    return () => {
      for (const type of ["error", "unhandledrejection", "unload"]) {
        globalThis.removeEventListener(type, kill);
      }
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Kills the process groups recorded in `runDir` by a previous run that could not stop them
 * (it was SIGKILLed), and removes the records. Returns the group ids it signalled.
 */
export function reapStaleChildren(runDir: string): number[] {
  const killed: number[] = [];
  let names: string[];
  try {
    names = [...Deno.readDirSync(runDir)].filter((e) => e.isFile && e.name.endsWith(".json")).map((e) =>
      e.name
    );
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return killed;
    throw e;
  }
  for (const name of names) {
    const path = `${runDir}/${name}`;
    let record: RunRecord | undefined;
    try {
      record = JSON.parse(Deno.readTextFileSync(path));
    } catch { /* unreadable: nothing to act on */ }
    if (record && Number.isSafeInteger(record.pid) && record.pid > 1) {
      // A group id cannot be reused while any member lives; members started after the leader.
      if (groupMembers(record.pid, record.startTime).length > 0) {
        killGroup(record.pid, "SIGKILL");
        killed.push(record.pid);
      }
    }
    removeSync(path);
  }
  return killed;
}

function killGroup(pgid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pgid, signal);
  } catch { /* the group is already gone */ }
}

function openLog(path: string): Deno.FsFile {
  return Deno.openSync(path, { append: true, create: true, mode: 0o644 });
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function removeSync(path: string): void {
  try {
    Deno.removeSync(path);
  } catch { /* already gone */ }
}
