/**
 * crun, driven inside the agent's mount namespace, and conmon, the per-container monitor that
 * creates the container, becomes its parent (so exit codes are kept), writes its stdout and
 * stderr to the CRI log file, writes the exit code to `<exitDir>/<id>` and an `oom` file when the
 * kernel OOM-killed a process of the container, and serves an attach socket. conmon daemonizes:
 * containers survive an agent restart, and a new agent adopts them through these files.
 *
 * Never read crun's stdout through a pipe that stays open: `crun create` hands it to the
 * container, so `create` always goes through conmon with its stdio on /dev/null.
 * @module
 */
import { type MountNamespace, shq } from "../../mountns/mount_ns.ts";

export const CRUN = "/usr/bin/crun";
export const CONMON = "/usr/bin/conmon";

/** Whether crun and conmon are installed; the reason when not. */
export function ociToolsMissing(): string | undefined {
  const missing = [CRUN, CONMON].filter((p) => {
    try {
      return !Deno.statSync(p).isFile;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return undefined;
  return `${missing.map((p) => p.slice(p.lastIndexOf("/") + 1)).join(" and ")} ${
    missing.length > 1 ? "are" : "is"
  } not installed (apt-get install crun conmon)`;
}

/** `crun state` output. */
export interface CrunState {
  id: string;
  pid: number;
  status: "creating" | "created" | "running" | "paused" | "stopped";
  bundle: string;
}

/** Where one container's files live (its bundle directory and neighbours). */
export interface ContainerPaths {
  /** The bundle: config.json, rootfs/, upper/, work/. */
  bundle: string;
  rootfs: string;
  /** conmon's persist dir (`exit`, `oom`). */
  persist: string;
  pidFile: string;
  conmonPidFile: string;
  /** crun's own error log of the create. */
  crunLog: string;
}

export function containerPaths(containersDir: string, id: string): ContainerPaths {
  const bundle = `${containersDir}/${id}`;
  return {
    bundle,
    rootfs: `${bundle}/rootfs`,
    persist: `${bundle}/persist`,
    pidFile: `${bundle}/pid`,
    conmonPidFile: `${bundle}/conmon.pid`,
    crunLog: `${bundle}/crun.log`,
  };
}

export interface ConmonOptions {
  id: string;
  paths: ContainerPaths;
  /** crun's state directory (`--root`). */
  crunRoot: string;
  exitDir: string;
  logPath: string;
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
}

/** conmon's argv (it runs `crun create` itself). Pure. */
export function conmonArgv(o: ConmonOptions): string[] {
  return [
    CONMON,
    "--api-version",
    "1",
    "-c",
    o.id,
    "-u",
    o.id,
    "-n",
    o.id,
    "-r",
    CRUN,
    "--runtime-arg",
    `--root=${o.crunRoot}`,
    "--runtime-arg",
    `--log=file:${o.paths.crunLog}`,
    "-b",
    o.paths.bundle,
    "-p",
    o.paths.pidFile,
    "-P",
    o.paths.conmonPidFile,
    "-l",
    `k8s-file:${o.logPath}`,
    "--exit-dir",
    o.exitDir,
    "-0",
    o.paths.persist,
    "--full-attach",
    "--socket-dir-path",
    o.paths.bundle,
    "--log-level",
    "error",
    "--syslog",
    ...(o.stdin ? ["-i", ...(o.stdinOnce ? [] : ["--leave-stdin-open"])] : []),
    ...(o.tty ? ["-t"] : []),
  ];
}

/** The shell words of argv. */
export function shellLine(argv: string[]): string {
  return argv.map(shq).join(" ");
}

/** crun commands for one state root, inside the agent's mount namespace. */
export class Crun {
  readonly ns: MountNamespace;
  readonly root: string;

  constructor(ns: MountNamespace, root: string) {
    this.ns = ns;
    this.root = root;
  }

  /** The argv of `crun --root <root> <args>` inside the namespace. */
  argv(args: string[]): string[] {
    return this.ns.argv([CRUN, `--root=${this.root}`, ...args]);
  }

  async state(id: string): Promise<CrunState | undefined> {
    try {
      return JSON.parse(await this.ns.run([CRUN, `--root=${this.root}`, "state", id])) as CrunState;
    } catch {
      return undefined;
    }
  }

  async start(id: string): Promise<void> {
    await this.ns.run([CRUN, `--root=${this.root}`, "start", id]);
  }

  /** Sends `signal` to the container's init (killing it ends every process of its pid namespace). */
  async kill(id: string, signal: string): Promise<void> {
    await this.ns.run([CRUN, `--root=${this.root}`, "kill", id, signal]);
  }

  /** Deletes the container's runtime state and cgroup (`force` kills it first). Idempotent. */
  async delete(id: string, force = false): Promise<void> {
    try {
      await this.ns.run([CRUN, `--root=${this.root}`, "delete", ...(force ? ["-f"] : []), id]);
    } catch (e) {
      if (!/does not exist|not found|No such file/i.test((e as Error).message)) throw e;
    }
  }

  /** IDs crun knows. */
  async list(): Promise<string[]> {
    try {
      const out = await this.ns.run([CRUN, `--root=${this.root}`, "list", "-q"]);
      return out.split("\n").map((l) => l.trim()).filter(Boolean);
    } catch {
      return [];
    }
  }
}
