/**
 * The line protocol between the node agent and its spawner (node/mountns/spawner_main.ts, a
 * process inside the agent's mount namespace): one JSON object per line each way, requests
 * answered by `id`, in any order (several run at once). The spawner's first line is
 * {@linkcode SpawnerReady}. Bytes (stdin, stdout, stderr) travel as base64. Pure.
 * @module
 */

/** Runs one short, non-streaming command and answers its exit and output. */
export interface SpawnRequest {
  id: number;
  op: "run";
  argv: string[];
  /** Working directory (inside the namespace); the spawner's (`/`) when absent. */
  cwd?: string;
  /** Standard input, base64; `/dev/null` when absent. */
  stdin?: string;
  /** Environment added to (or, with `clearEnv`, replacing) the spawner's. */
  env?: Record<string, string>;
  clearEnv?: boolean;
  /** SIGKILL past this many ms (the answer then has `timedOut`). */
  timeoutMs?: number;
  /**
   * After the process exits, read its stdout and stderr for at most this many ms more (a daemon
   * it leaves behind may hold them open); absent: until they close.
   */
  drainMs?: number;
  /** Bytes kept of stdout and of stderr each (default {@linkcode DEFAULT_MAX_OUTPUT}). */
  maxOutput?: number;
  /**
   * Hand the process conmon's sync pipe (`_OCI_SYNCPIPE`, node/mountns/sync_pipe.ts): what it
   * writes there is sent as one {@linkcode SyncEvent} with this request's id, before or after
   * the answer.
   */
  syncPipe?: boolean;
}

/** `mount(2)` done by the spawner itself (no process). */
export interface MountRequest {
  id: number;
  op: "mount";
  source: string;
  target: string;
  fstype: string;
  /** The file system's options (`mount -o`). */
  data: string;
  /** Relative paths (target, and options such as overlayfs' `lowerdir`) resolve from here. */
  cwd?: string;
}

/** `umount2(2)` done by the spawner itself; answers whether `target` was a mount point. */
export interface UnmountRequest {
  id: number;
  op: "umount";
  target: string;
  /** `MNT_DETACH` (`umount -l`). */
  detach?: boolean;
}

/**
 * A pod's IPC and/or UTS namespace made by the spawner itself, no process (node/mountns/
 * pod_namespaces.ts): `unshare --ipc=<ipc> --uts=<uts> hostname <hostname>`.
 */
export interface UnshareRequest {
  id: number;
  op: "unshare";
  /** The file to bind the new IPC namespace onto (created when missing); absent: no IPC one. */
  ipc?: string;
  /** The same for a UTS namespace. */
  uts?: string;
  /** Set inside the new UTS namespace. */
  hostname?: string;
}

export type Request = SpawnRequest | MountRequest | UnmountRequest | UnshareRequest;

/** The answer to one request. */
export interface Response {
  id: number;
  /** Exit code; 128 + the signal's number when a signal ended the process. */
  code?: number;
  signal?: string;
  stdout?: string;
  stderr?: string;
  timedOut?: boolean;
  /** An `umount` request: whether something was unmounted. */
  unmounted?: boolean;
  /** The request could not be performed (the binary could not be started, mount(2) failed). */
  error?: string;
}

/**
 * What a `run` request with `syncPipe` read from its pipe (node/mountns/conmon_sync.ts's
 * `SyncMessage`): exactly one per such request, also when the process could not be started.
 */
export interface SyncEvent {
  event: "sync";
  id: number;
  data?: number;
  message?: string;
  error?: string;
}

/** The spawner's first line. */
export interface SpawnerReady {
  ready: true;
  pid: number;
}

export const DEFAULT_MAX_OUTPUT = 16 << 20;

/** Checks a request line read by the spawner; the reason when it is not one. Pure. */
export function parseRequest(line: string): Request | { id?: number; invalid: string } {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(line);
  } catch {
    return { invalid: "not JSON" };
  }
  if (typeof v !== "object" || v === null || typeof v.id !== "number") return { invalid: "no numeric id" };
  const id = v.id;
  const str = (x: unknown) => typeof x === "string";
  const optStr = (x: unknown) => x === undefined || str(x);
  const optNum = (x: unknown) => x === undefined || (typeof x === "number" && x >= 0);
  switch (v.op) {
    case "run": {
      if (!Array.isArray(v.argv) || v.argv.length === 0 || !v.argv.every(str)) {
        return { id, invalid: "argv must be a non-empty list of strings" };
      }
      const env = v.env;
      if (env !== undefined && (typeof env !== "object" || env === null || !Object.values(env).every(str))) {
        return { id, invalid: "env must map names to strings" };
      }
      if (
        !optStr(v.cwd) || !optStr(v.stdin) || !optNum(v.timeoutMs) || !optNum(v.drainMs) ||
        !optNum(v.maxOutput) || (v.syncPipe !== undefined && typeof v.syncPipe !== "boolean")
      ) {
        return { id, invalid: "cwd and stdin must be strings; timeoutMs, drainMs and maxOutput numbers" };
      }
      return v as unknown as SpawnRequest;
    }
    case "mount":
      if (![v.source, v.target, v.fstype, v.data].every(str) || !optStr(v.cwd)) {
        return { id, invalid: "source, target, fstype and data must be strings" };
      }
      return v as unknown as MountRequest;
    case "umount":
      if (!str(v.target)) return { id, invalid: "target must be a string" };
      return v as unknown as UnmountRequest;
    case "unshare":
      if (!optStr(v.ipc) || !optStr(v.uts) || !optStr(v.hostname) || (v.ipc === undefined && v.uts === undefined)) {
        return { id, invalid: "ipc or uts must be given; ipc, uts and hostname must be strings" };
      }
      if (v.hostname !== undefined && v.uts === undefined) return { id, invalid: "a hostname needs uts" };
      return v as unknown as UnshareRequest;
    default:
      return { id, invalid: `unknown op ${JSON.stringify(v.op)}` };
  }
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

/** A signal's number (1 for one not listed). Pure. */
export function signalNumber(s: string): number {
  return SIGNALS[s] ?? 1;
}
