/**
 * conmon's sync pipe, the agent's side: conmon (github.com/containers/conmon, src/conmon.c) run
 * with `_OCI_SYNCPIPE=<fd>` writes one JSON line to that descriptor once `crun create` has
 * finished: `{"data": <container pid>}` (`--api-version 1`; `"pid"` without it), or
 * `{"data": -1, "message": "<the runtime's stderr>"}` when the create failed. The mount
 * namespace's spawner hands conmon the pipe and sends what it read as an event
 * (node/mountns/sync_pipe.ts, spawner_protocol.ts); {@linkcode ConmonSyncs} keeps each one
 * under the container's pid file (conmon's `-p`) until the runtime host's wait for that file
 * takes it (node/cri/plugin/runtime_host.ts).
 *
 * `SKIFF_CONMON_SYNC_PIPE=0` turns the pipe off (the wait then polls the pid file alone; A/B).
 * @module
 */
import { abSwitch } from "../ab_switch.ts";

/** What the spawner read from conmon's sync pipe (the `sync` event, without its id). */
export interface SyncMessage {
  /** conmon's value: the container's pid, or -1 when the create failed; absent when none came. */
  data?: number;
  /** conmon's message (the runtime's stderr on a failed create). */
  message?: string;
  /** The pipe could not be made or read, or the spawner exited: nothing is known. */
  error?: string;
}

const CONMON = "conmon";

/** The container pid file (`-p` / `--container-pidfile`) when argv runs conmon; else undefined. Pure. */
export function conmonPidFile(argv: readonly string[]): string | undefined {
  if (argv[0]?.slice(argv[0].lastIndexOf("/") + 1) !== CONMON) return undefined;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if ((a === "-p" || a === "--container-pidfile") && i + 1 < argv.length) return argv[i + 1];
    if (a.startsWith("--container-pidfile=")) return a.slice(20);
  }
  return undefined;
}

/** Parses conmon's line (`{"data": n}`, `{"pid": n}`, with an optional `message`). Pure. */
export function parseSyncLine(line: string): SyncMessage {
  if (!line.trim()) return {};
  try {
    const v = JSON.parse(line);
    const data = typeof v?.data === "number" ? v.data : typeof v?.pid === "number" ? v.pid : undefined;
    if (data === undefined) return { error: `conmon's sync message has no data: ${line.slice(0, 200)}` };
    return { data, ...(typeof v.message === "string" && v.message ? { message: v.message } : {}) };
  } catch {
    return { error: `conmon's sync message is not JSON: ${line.slice(0, 200)}` };
  }
}

/** Whether the sync pipe is wanted (`SKIFF_CONMON_SYNC_PIPE=0` turns it off, for A/B benchmarks). */
export function syncPipeWanted(): boolean {
  return abSwitch("SKIFF_CONMON_SYNC_PIPE") !== "0";
}

/**
 * The sync messages to come, by container pid file, until a wait takes them. Bounded: a create
 * whose wait never came (its plugin call failed) is forgotten after `max` newer ones.
 */
export class ConmonSyncs {
  readonly #byPidFile = new Map<string, Promise<SyncMessage>>();
  readonly #max: number;

  constructor(max = 256) {
    this.#max = max;
  }

  /** Keeps `message` (to come) for the container whose pid file is `pidFile`. */
  put(pidFile: string, message: Promise<SyncMessage>): void {
    this.#byPidFile.delete(pidFile);
    this.#byPidFile.set(pidFile, message);
    if (this.#byPidFile.size > this.#max) this.#byPidFile.delete(this.#byPidFile.keys().next().value!);
  }

  /** Takes the message for `pidFile`; undefined when conmon got no sync pipe (nsenter, adoption). */
  take(pidFile: string): Promise<SyncMessage> | undefined {
    const p = this.#byPidFile.get(pidFile);
    this.#byPidFile.delete(pidFile);
    return p;
  }

  get size(): number {
    return this.#byPidFile.size;
  }
}
