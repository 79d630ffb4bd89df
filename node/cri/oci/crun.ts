/**
 * crun and conmon on the node: whether they are installed, and the crun commands the node itself
 * runs inside the agent's mount namespace (streaming exec, node/cri/oci/exec.ts). The container
 * lifecycle's command lines (conmon, which creates the container, keeps its exit code and writes
 * its CRI log; crun start / kill / delete) are the runtime Plugin's
 * (plugins/runtime/oci/commands.ts), run through `host-process`.
 *
 * Never read crun's stdout through a pipe that stays open: `crun create` hands it to the
 * container, so `create` always goes through conmon with its stdio on /dev/null.
 * @module
 */
import type { MountNamespace } from "../../mountns/mount_ns.ts";
import { abSwitch } from "../../ab_switch.ts";

export const CRUN = "/usr/bin/crun";
export const CONMON = "/usr/bin/conmon";

/**
 * The binaries the node binds read-only onto themselves inside its mount namespace: crun, which
 * then runs as it is instead of copying and re-executing itself on every call (its CVE-2019-5736
 * protection; node/mountns/mount_ns.ts `readOnlyBindScript`). `SKIFF_CRUN_READONLY_BIND=0` in
 * the agent's environment leaves it out (A/B benchmarks; it applies to a namespace made then).
 */
export function readOnlyBinaries(env: (name: string) => string | undefined = abSwitch): string[] {
  return env("SKIFF_CRUN_READONLY_BIND") === "0" ? [] : [CRUN];
}

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
