/**
 * Named network namespaces made and removed from the node agent through `Deno.dlopen` of glibc,
 * with the system calls `ip netns add` / `ip netns del` make (iproute2 6.1, checked with
 * strace), without starting an `ip` process (≈3 ms of wall time and 2–3 ms of CPU each here;
 * these calls take ≈0.6 ms, almost all of it the kernel setting the namespace up):
 *
 * - add: `mkdir /run/netns`; `mount --make-rshared /run/netns` (bound onto itself first when it
 *   is not a mount point yet), so the namespace's mount reaches every mount namespace sharing
 *   it; the file `/run/netns/<name>` (`O_EXCL`); then, on the calling thread, `unshare(CLONE_NEWNET)`,
 *   a bind mount of the thread's new netns onto the file, and `setns` back. The JS thread does
 *   all of it in one synchronous stretch, so nothing else runs in the new namespace.
 * - delete: `umount2(MNT_DETACH)` and `unlink` (the kernel frees the namespace once its last
 *   user is gone).
 * @module
 */

const SYMBOLS = {
  unshare: { parameters: ["i32"], result: "i32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  mkdir: { parameters: ["buffer", "u32"], result: "i32" },
  mount: { parameters: ["buffer", "buffer", "buffer", "u64", "pointer"], result: "i32" },
  // On Deno's blocking pool: a detaching unmount waits for the kernel (RCU grace periods, ≈0.7 ms
  // here) without using CPU, which must not stall the event loop.
  umount2: { parameters: ["buffer", "i32"], result: "i32", nonblocking: true },
  unlink: { parameters: ["buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

const CLONE_NEWNET = 0x40000000, O_RDONLY = 0, O_CREAT = 0o100, O_EXCL = 0o200, O_CLOEXEC = 0o2000000;
const MS_BIND = 0x1000, MS_REC = 0x4000, MS_SHARED = 0x100000, MNT_DETACH = 2;
const ENOENT = 2, EEXIST = 17, EINVAL = 22;
const NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  22: "EINVAL",
};

/** A failed system call, with its errno. */
export class NetnsSyscallError extends Error {
  override name = "NetnsSyscallError";
  constructor(readonly what: string, readonly errno: number) {
    super(errno ? `${what}: ${NAMES[errno] ?? `errno ${errno}`}` : what);
  }
}

let lib: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | undefined;
function libc(): NonNullable<typeof lib> {
  if (lib) return lib;
  try {
    return lib = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  } catch (e) {
    throw new NetnsSyscallError(
      `named netns need glibc through FFI (--allow-ffi): ${(e as Error).message}`,
      0,
    );
  }
}

/** Whether the calls can be made here (FFI allowed, glibc present). */
export function namedNetnsAvailable(): boolean {
  try {
    libc();
    return true;
  } catch {
    return false;
  }
}

function errno(): number {
  const p = libc().__errno_location();
  return p ? new Deno.UnsafePointerView(p).getInt32() : 0;
}

const cstr = (s: string) => new TextEncoder().encode(`${s}\0`);

/** `/run/netns` as a shared mount point, as `ip netns add` leaves it. */
function sharedDir(dir: string): void {
  const l = libc();
  if (l.mkdir(cstr(dir), 0o755) < 0 && errno() !== EEXIST) {
    throw new NetnsSyscallError(`mkdir ${dir}`, errno());
  }
  const share = () => l.mount(cstr(""), cstr(dir), cstr("none"), BigInt(MS_SHARED | MS_REC), null);
  if (share() === 0) return;
  if (errno() !== EINVAL) throw new NetnsSyscallError(`mount --make-rshared ${dir}`, errno());
  // Not a mount point yet: bind it onto itself, then share it.
  if (l.mount(cstr(dir), cstr(dir), cstr("none"), BigInt(MS_BIND | MS_REC), null) < 0) {
    throw new NetnsSyscallError(`mount --rbind ${dir} ${dir}`, errno());
  }
  if (share() < 0) throw new NetnsSyscallError(`mount --make-rshared ${dir}`, errno());
}

/**
 * Makes a new network namespace and binds it to `path` (`/run/netns/<name>`). Throws
 * {@linkcode NetnsSyscallError}; `EEXIST` when the file is there already (nothing is changed then).
 */
export function addNamedNetns(path: string): void {
  const l = libc();
  sharedDir(path.slice(0, path.lastIndexOf("/")) || "/");
  const file = l.open(cstr(path), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (file < 0) throw new NetnsSyscallError(`create ${path}`, errno());
  l.close(file);
  const self = l.open(cstr("/proc/thread-self/ns/net"), O_RDONLY | O_CLOEXEC, 0);
  if (self < 0) {
    const e = errno();
    l.unlink(cstr(path));
    throw new NetnsSyscallError("open /proc/thread-self/ns/net", e);
  }
  let failure: NetnsSyscallError | undefined;
  try {
    if (l.unshare(CLONE_NEWNET) < 0) failure = new NetnsSyscallError("unshare(CLONE_NEWNET)", errno());
    else {
      if (l.mount(cstr("/proc/thread-self/ns/net"), cstr(path), cstr("none"), BigInt(MS_BIND), null) < 0) {
        failure = new NetnsSyscallError(`mount --bind netns ${path}`, errno());
      }
      // Back to the agent's netns: staying would put every later socket of this thread there.
      if (l.setns(self, CLONE_NEWNET) < 0) {
        throw new Error(`setns back to the agent's netns failed (errno ${errno()}): cannot continue`);
      }
    }
  } finally {
    l.close(self);
  }
  if (failure) {
    l.unlink(cstr(path)); // not mounted (the bind failed, or nothing was made to bind)
    throw failure;
  }
}

/**
 * Unmounts and removes `path`; a namespace that is not there is not an error. Rejects with
 * {@linkcode NetnsSyscallError}.
 */
export async function deleteNamedNetns(path: string): Promise<void> {
  const l = libc();
  const file = cstr(path); // held until the pool's call is done
  await l.umount2(file, MNT_DETACH); // not mounted (a half-made one): the unlink still removes it
  if (l.unlink(file) < 0 && errno() !== ENOENT) throw new NetnsSyscallError(`remove ${path}`, errno());
}
