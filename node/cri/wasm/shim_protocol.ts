/**
 * The protocol between the node agent and a sandbox shim (see shim_main.ts): newline-delimited
 * JSON over the shim's unix socket, and the state file the shim keeps, which a restarted agent
 * reads to learn what happened while it was away. Pure.
 * @module
 */
import type { ContainerExit, ContainerSpec } from "../../../wasm/host/spec.ts";
import type { SandboxPermissions } from "../../../wasm/sandbox/flags.ts";

/** How the agent starts a shim: `deno run -A shim_main.ts '<ShimConfig JSON>'`. */
export interface ShimConfig {
  /** The shim's directory: `shim.sock`, `shim.json`, `shim.log`, `sandbox.log`. */
  dir: string;
  /** The sandbox's options (see `wasm/sandbox/client.ts`), as plain data. */
  sandbox: {
    name: string;
    permissions: SandboxPermissions;
    heapLimitMiB?: number;
    deadlineMs?: number;
    /** Command prefix, e.g. `nsenter --net=/run/netns/<ns> --`. */
    wrap?: string[];
    cgroup?: { cpuMillis?: number; memoryBytes?: number };
  };
}

/** Agent → shim. */
export type ShimCommand =
  | { op: "start"; spec: ContainerSpec; logPath: string }
  | { op: "stop"; id: string; graceMs: number }
  | { op: "snapshot" }
  | { op: "kill" }
  | { op: "shutdown" };

/** A container as the shim tracks it. */
export interface ShimContainer {
  state: "starting" | "running" | "exited";
  startedAt?: number;
  finishedAt?: number;
  exit?: ContainerExit;
  /** Why it failed to start, when it did. */
  startError?: string;
}

/** The shim's state, as in `shim.json` and in snapshots. */
export interface ShimState {
  shimPid: number;
  /** `/proc/<pid>/stat` start time of the shim, to tell a reused PID. */
  shimStartTime: number;
  sandboxPid?: number;
  containers: Record<string, ShimContainer>;
  /** Set once the sandbox process has ended. */
  sandboxExit?: { code: number; signal: string | null; at: number; reason?: string };
}

/** Shim → agent. */
export type ShimEvent =
  | { ev: "started"; id: string; at: number }
  | { ev: "start-failed"; id: string; message: string }
  | { ev: "exit"; id: string; exit: ContainerExit; at: number }
  | { ev: "heartbeat"; heapUsed: number; wasmBytes: number }
  | { ev: "sandbox-exit"; code: number; signal: string | null; at: number; reason?: string }
  | { ev: "snapshot"; state: ShimState };

export const SOCKET = "shim.sock";
export const STATE = "shim.json";

export function encode(m: ShimCommand | ShimEvent): string {
  return `${JSON.stringify(m)}\n`;
}

/** Splits a stream of bytes into JSON messages. */
export class JsonLines<T> {
  #dec = new TextDecoder();
  #tail = "";

  push(chunk: Uint8Array): T[] {
    const text = this.#tail + this.#dec.decode(chunk, { stream: true });
    const lines = text.split("\n");
    this.#tail = lines.pop() ?? "";
    const out: T[] = [];
    for (const l of lines) {
      if (!l) continue;
      try {
        out.push(JSON.parse(l) as T);
      } catch { /* not a message */ }
    }
    return out;
  }
}
