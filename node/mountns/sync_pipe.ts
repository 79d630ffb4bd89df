/**
 * conmon's sync pipe, the spawner's side (node/mountns/spawner_main.ts): a pipe whose write end
 * only the next child inherits, as `_OCI_SYNCPIPE=<fd>`, and whose first line is read here.
 *
 * Both ends are made close-on-exec; the child's copy of the write end is a `dup` without it,
 * made just before the spawn and closed just after, within one synchronous stretch of the
 * spawner's only JS thread (`Deno.Command.spawn` is synchronous), so no other child inherits it.
 * conmon itself marks the descriptor close-on-exec at once (`get_pipe_fd_from_env`), so neither
 * `crun create` nor the container inherits it. conmon keeps the write end open for its life, so
 * the read stops at the first line; it ends early (no line) only when every conmon process is gone.
 * @module
 */
import { closeFd, dupInheritable, pipeCloexec, readFd } from "./libc.ts";
import { parseSyncLine, type SyncMessage } from "./conmon_sync.ts";

const MAX_LINE = 64 << 10;

export class SyncPipe {
  readonly #read: number;
  #child: number;

  constructor() {
    const [r, w] = pipeCloexec();
    this.#read = r;
    try {
      this.#child = dupInheritable(w);
    } catch (e) {
      closeFd(r);
      throw e;
    } finally {
      closeFd(w);
    }
  }

  /** The environment that hands the write end to the child. */
  get env(): Record<string, string> {
    return { _OCI_SYNCPIPE: String(this.#child) };
  }

  /** Closes the child's copy of the write end: call right after the spawn (also a failed one). */
  spawned(): void {
    if (this.#child < 0) return;
    closeFd(this.#child);
    this.#child = -1;
  }

  /** Reads the first line (or to the end) and closes the read end. */
  async message(): Promise<SyncMessage> {
    const buf = new Uint8Array(4096);
    const decoder = new TextDecoder();
    let text = "";
    try {
      for (;;) {
        const n = await readFd(this.#read, buf);
        if (n === 0) break;
        text += decoder.decode(buf.subarray(0, n), { stream: true });
        if (text.includes("\n") || text.length >= MAX_LINE) break;
      }
    } catch (e) {
      return { error: `conmon's sync pipe could not be read: ${(e as Error).message}` };
    } finally {
      closeFd(this.#read);
    }
    const end = text.indexOf("\n");
    return parseSyncLine(end >= 0 ? text.slice(0, end) : text);
  }
}
