/**
 * Named network namespaces made and removed from the node agent with the system calls `ip netns
 * add` / `ip netns del` make (iproute2 6.1, checked with strace), through node/mountns/libc.ts,
 * without starting an `ip` process (≈3 ms of wall time and 2–3 ms of CPU each here; these calls
 * take ≈0.6 ms, almost all of it the kernel setting the namespace up):
 *
 * - add: `mkdir /run/netns`; `mount --make-shared /run/netns` (bound onto itself first when it
 *   is not a mount point yet), so the namespace's mount reaches every mount namespace sharing
 *   it; the file `/run/netns/<name>` (`O_EXCL`); then, on the calling thread, `unshare(CLONE_NEWNET)`,
 *   a bind mount of the thread's new netns onto the file, and `setns` back. The JS thread does
 *   all of it in one synchronous stretch, so nothing else runs in the new namespace.
 * - delete: `umount2(MNT_DETACH)` (on Deno's blocking pool) and `unlink` (the kernel frees the
 *   namespace once its last user is gone).
 * @module
 */
import {
  bindFile,
  closeFd,
  makeSharedMount,
  openReadOnly,
  OsError,
  preloadLibc,
  setns,
  unmountDetachedInPool,
  unshareThread,
} from "../mountns/libc.ts";

const CLONE_NEWNET = 0x40000000, EINVAL = 22;

/** Whether the calls can be made here (FFI allowed, glibc present). */
export function namedNetnsAvailable(): boolean {
  try {
    preloadLibc();
    return true;
  } catch {
    return false;
  }
}

/** `/run/netns` as a shared mount point, as `ip netns add` leaves it. */
function sharedDir(dir: string): void {
  Deno.mkdirSync(dir, { recursive: true, mode: 0o755 });
  try {
    makeSharedMount(dir, true);
  } catch (e) {
    if (!(e instanceof OsError && e.errno === EINVAL)) throw e;
    makeSharedMount(dir, false); // not a mount point yet: bound onto itself, then shared
  }
}

/**
 * Makes a new network namespace and binds it to `path` (`/run/netns/<name>`). Throws
 * `Deno.errors.AlreadyExists` when the file is there already (nothing is changed then), else
 * {@linkcode OsError}.
 */
export function addNamedNetns(path: string): void {
  sharedDir(path.slice(0, path.lastIndexOf("/")) || "/");
  Deno.openSync(path, { createNew: true, write: true, mode: 0 }).close();
  let self: number;
  try {
    self = openReadOnly("/proc/thread-self/ns/net");
  } catch (e) {
    Deno.removeSync(path);
    throw e;
  }
  let failure: unknown;
  try {
    try {
      unshareThread(CLONE_NEWNET);
    } catch (e) {
      failure = e;
    }
    if (!failure) {
      try {
        bindFile("/proc/thread-self/ns/net", path);
      } catch (e) {
        failure = e;
      }
      // Back to the agent's netns: staying would put every later socket of this thread there.
      // A failure here is not undone: the thread cannot continue (the error says so).
      setns(self, CLONE_NEWNET, "back to the agent's netns (cannot continue)");
    }
  } finally {
    closeFd(self);
  }
  if (failure) {
    Deno.removeSync(path); // not mounted (the bind failed, or nothing was made to bind)
    throw failure;
  }
}

/** Unmounts and removes `path`; a namespace that is not there is not an error. */
export async function deleteNamedNetns(path: string): Promise<void> {
  await unmountDetachedInPool(path); // not mounted (a half-made one): the unlink still removes it
  try {
    Deno.removeSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
