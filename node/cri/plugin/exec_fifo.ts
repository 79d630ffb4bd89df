/**
 * `node-images.write-exec-fifo` (`skiff:runtime@0.2.0`): what `crun start` does for a container
 * `crun create` left waiting, done by the node without a process. crun 1.8.1's
 * `libcrun_container_start` reads the container's `status` file, checks that its process lives,
 * and, when its config has no poststart hooks and the `crun start` process has no
 * `NOTIFY_SOCKET`, does nothing but `libcrun_status_write_exec_fifo`: open
 * `<root>/<id>/exec.fifo` for writing, `unlink` it, write one byte. The container's process
 * (which holds the read end, opened by `crun create`) reads the byte and execs its entrypoint;
 * `crun state` says `created` while the fifo exists and `running` once it is gone. Nothing else
 * in crun's state changes, so `crun state`, `kill`, `exec`, `delete` and conmon see the same as
 * after `crun start`.
 *
 * Here the fifo is opened without blocking (`O_NONBLOCK`: `ENXIO` when no process waits on it,
 * where crun's blocking open relies on its liveness check), without following a symlink, and
 * only when it is a fifo. The answer is `true` when the byte was written, `false` when nothing
 * was done (no fifo, nobody reading it, anything unexpected before the `unlink`): the plugin
 * then runs `crun start`, which does the same or says why it cannot. Only a failure after the
 * `unlink` (the write itself) is an error: the container can then no longer be started, as
 * after a `crun start` failing at the same point. Poststart hooks and the notify socket are the
 * caller's to rule out (the built-in `crun` plugin writes configs without hooks and runs crun
 * with an empty environment).
 * @module
 */
import { closeSync, constants, fstatSync, openSync, unlinkSync, writeSync } from "node:fs";
import type { HostFunctions } from "../../../plugins/host/host_calls.ts";
import { HostCallError } from "../../../plugins/host/runner_client.ts";
import { abSwitch } from "../../ab_switch.ts";
import type { CreatingContainers } from "./creating_containers.ts";

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
// O_CLOEXEC too: Deno opens every file with it.
const FLAGS = constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

/** The fifo crun makes for a created container (pure). */
export function execFifoPath(crunRoot: string, id: string): string {
  return `${crunRoot}/${id}/exec.fifo`;
}

/**
 * Starts the created container `id` of crun's state directory `crunRoot` as `crun start` would:
 * `true` when done, `false` when nothing was done (run `crun start`). Throws only after the
 * fifo was removed and the byte could not be written.
 */
export function writeExecFifo(crunRoot: string, id: string): boolean {
  const path = execFifoPath(crunRoot, id);
  let fd: number;
  try {
    fd = openSync(path, FLAGS);
  } catch {
    // ENOENT: not created by crun, or already started; ENXIO: no process reads it (the
    // container is gone); ELOOP: a symlink.
    return false;
  }
  try {
    try {
      if (!fstatSync(fd).isFIFO()) return false;
      unlinkSync(path);
    } catch {
      return false; // nothing written: `crun start` tells what is wrong
    }
    // One byte into an empty pipe: never blocks, never short.
    let n: number;
    try {
      n = writeSync(fd, new Uint8Array(1));
    } catch (e) {
      throw new Error(`write to ${path}: ${(e as Error).message}`);
    }
    if (n !== 1) throw new Error(`write to ${path}: nothing written`);
    return true;
  } finally {
    closeSync(fd);
  }
}

/** `SKIFF_EXEC_FIFO_START=0` in the agent's environment: answer `false` always (A/B benchmarks). */
function enabled(): boolean {
  return abSwitch("SKIFF_EXEC_FIFO_START") !== "0";
}

/**
 * The host function, for crun's state directory `crunRoot` (`<root>/crun`). A container still
 * being created (`creating`) is started once crun created it; a create that failed is the call's
 * error. `on`: false makes it answer `false` (nothing done) to every call, so the plugin runs
 * `crun start`; default from `SKIFF_EXEC_FIFO_START`.
 */
export function execFifoHost(crunRoot: string, creating: CreatingContainers, on = enabled()): HostFunctions {
  return {
    async "write-exec-fifo"([id]) {
      if (typeof id !== "string" || !ID.test(id) || id.includes("..")) {
        throw new HostCallError({
          tag: "invalid-argument",
          val: `${JSON.stringify(id)} is not a container id`,
        });
      }
      try {
        await creating.created(id);
      } catch (e) {
        throw new HostCallError({ tag: "internal", val: (e as Error).message });
      }
      if (!on) return false;
      try {
        return writeExecFifo(crunRoot, id);
      } catch (e) {
        throw new HostCallError({ tag: "internal", val: (e as Error).message });
      }
    },
  };
}
