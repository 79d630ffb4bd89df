/**
 * One `./skiff up` per data dir: an exclusive `flock` on `<data-dir>/skiff.lock`, holding the PID.
 *
 * The kernel drops the lock when its holder dies (even by SIGKILL), so a PID left in an unlocked
 * file is stale by construction: the next `up` takes it over and reports the old PID. A clean stop
 * leaves the file empty.
 * @module
 */
import { CliError } from "./errors.ts";

/** The lock file's name inside the data dir. */
export const LOCK_FILE = "skiff.lock";

/** A held data-dir lock. */
export interface DataDirLock extends AsyncDisposable {
  /** The lock file's path. */
  readonly path: string;
  /** The PID recorded by a previous holder that exited without releasing (a stale lock), if any. */
  readonly stalePid?: number;
  /** Releases the lock, leaving the file empty (a clean stop). Idempotent. */
  release(): Promise<void>;
}

/**
 * Takes the lock of `dataDir` (which must exist) for this process, or throws a {@linkcode CliError}
 * naming the PID that holds it.
 */
export async function acquireDataDirLock(dataDir: string, pid: number = Deno.pid): Promise<DataDirLock> {
  const path = `${dataDir}/${LOCK_FILE}`;
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o644 });
  let locked = false;
  try {
    locked = await file.tryLock(true);
    const previous = parsePid(await readAll(file));
    if (!locked) {
      const holder = previous === undefined ? "another process" : `pid ${previous}`;
      throw new CliError(
        `data dir ${dataDir} is in use by another ./skiff up (${holder}); stop it first, or pass another --data-dir`,
      );
    }
    await file.truncate(0);
    await file.seek(0, Deno.SeekMode.Start);
    await file.write(new TextEncoder().encode(`${pid}\n`));
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      // Truncate rather than unlink: another process may already have the file open, and an
      // unlinked file's lock would no longer exclude a newly created one.
      await file.truncate(0).catch(() => {});
      file.close();
    };
    return { path, stalePid: previous, release, [Symbol.asyncDispose]: release };
  } catch (e) {
    file.close();
    throw e;
  }
}

/** Parses the PID a lock file holds. */
export function parsePid(text: string): number | undefined {
  const m = /^\s*([1-9][0-9]*)\s*$/.exec(text);
  return m ? Number(m[1]) : undefined;
}

async function readAll(file: Deno.FsFile): Promise<string> {
  await file.seek(0, Deno.SeekMode.Start);
  const buf = new Uint8Array(64);
  const n = await file.read(buf);
  return new TextDecoder().decode(buf.subarray(0, n ?? 0));
}
