/**
 * The few Linux calls Deno has no API for, through `Deno.dlopen` of glibc, opened on first use
 * (so modules importing this need `--allow-ffi` only when they call it):
 *
 * - `ioctl(FS_IOC_GETFLAGS/SETFLAGS)`: inode flags, as `lsattr`/`chattr` (the image store's
 *   top directory, node/images/top_dir.ts);
 * - `mknod` and `lsetxattr`: overlayfs whiteouts (a 0:0 character device) and opaque directories
 *   (`trusted.overlay.opaque=y`) in unpacked layers; `lchown` for symlinks;
 * - pseudo-terminals: `posix_openpt`, `grantpt`, `unlockpt`, `ptsname`, `ioctl(TIOCSWINSZ)`, and
 *   `read`/`write`/`close` on the master (run on Deno's blocking pool, so a read waits without
 *   blocking the event loop);
 * - `socket`/`connect` of `AF_UNIX` `SOCK_SEQPACKET` sockets (conmon's attach socket);
 * - bind mounts with the new mount API (`open_tree` + `mount_setattr` + `move_mount`: a
 *   read-only bind mount is read-only from birth, so the copies propagation makes are too),
 *   `umount2`, and `mount(2)` for propagation changes (storage plugins' `host-mount`) and for
 *   file systems (the spawner's overlay mounts, node/mountns/spawner_main.ts);
 * - `unshare`, `setns` and `sethostname`: a pod's IPC and UTS namespaces, made by the spawner on
 *   its own thread (node/mountns/pod_namespaces.ts), and the node's named network namespaces
 *   (node/hostcaps/named_netns.ts);
 * - `pipe2` and `dup`: conmon's sync pipe, whose write end a child inherits
 *   (node/mountns/sync_pipe.ts).
 * @module
 */

const SYMBOLS = {
  mknod: { parameters: ["buffer", "u32", "u64"], result: "i32" },
  lsetxattr: { parameters: ["buffer", "buffer", "buffer", "usize", "i32"], result: "i32" },
  lgetxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "isize" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  lchown: { parameters: ["buffer", "u32", "u32"], result: "i32" },
  posix_openpt: { parameters: ["i32"], result: "i32" },
  grantpt: { parameters: ["i32"], result: "i32" },
  unlockpt: { parameters: ["i32"], result: "i32" },
  ptsname: { parameters: ["i32"], result: "pointer" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize", nonblocking: true },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize", nonblocking: true },
  close: { parameters: ["i32"], result: "i32" },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  dup: { parameters: ["i32"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "pointer", "pointer", "i32"], result: "i32" },
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "isize", nonblocking: true },
  mount: { parameters: ["buffer", "buffer", "buffer", "u64", "pointer"], result: "i32" },
  umount2: { parameters: ["buffer", "i32"], result: "i32" },
  // The same call on Deno's blocking pool: a detaching unmount of a namespace file waits for the
  // kernel (RCU grace periods, ≈0.7 ms) without using CPU, which must not stall the event loop.
  umount2_pool: { name: "umount2", parameters: ["buffer", "i32"], result: "i32", nonblocking: true },
  open_tree: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  move_mount: { parameters: ["i32", "buffer", "i32", "buffer", "u32"], result: "i32" },
  mount_setattr: { parameters: ["i32", "buffer", "u32", "buffer", "usize"], result: "i32" },
  unshare: { parameters: ["i32"], result: "i32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  sethostname: { parameters: ["buffer", "usize"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let lib: Lib | undefined;

function libc(): Lib {
  return lib ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
}

/**
 * Opens libc now (`Deno.dlopen` and the symbols' bindings take about 5 ms): for a process that
 * will call it on a latency-sensitive path (the spawner, before it says it is ready).
 */
export function preloadLibc(): void {
  libc();
}

/** A failed libc call, with its errno. */
export class OsError extends Error {
  override name = "OsError";
  constructor(readonly call: string, readonly errno: number, what = "") {
    super(
      `${call}${what ? ` ${what}` : ""} failed: errno ${errno}${
        ERRNO_NAMES[errno] ? ` (${ERRNO_NAMES[errno]})` : ""
      }`,
    );
  }
}

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  5: "EIO",
  9: "EBADF",
  13: "EACCES",
  17: "EEXIST",
  16: "EBUSY",
  20: "ENOTDIR",
  22: "EINVAL",
  36: "ENAMETOOLONG",
  95: "EOPNOTSUPP",
  111: "ECONNREFUSED",
};

function errno(): number {
  const p = libc().__errno_location();
  return p ? new Deno.UnsafePointerView(p).getInt32() : 0;
}

function cstr(s: string): Uint8Array<ArrayBuffer> {
  const b = new TextEncoder().encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

function check(call: string, r: number | bigint, what = ""): number {
  const n = Number(r);
  if (n < 0) throw new OsError(call, errno(), what);
  return n;
}

const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;

/** Makes an overlayfs whiteout (a character device 0:0) at `path`. */
export function mkWhiteout(path: string): void {
  check("mknod", libc().mknod(cstr(path), S_IFCHR, 0n), path);
}

/** Makes a named pipe at `path`. */
export function mkFifo(path: string, mode: number): void {
  check("mknod", libc().mknod(cstr(path), S_IFIFO | (mode & 0o7777), 0n), path);
}

/** Sets an extended attribute on `path` (not following a symlink). */
export function setXattr(path: string, name: string, value: string): void {
  const v = new TextEncoder().encode(value);
  check("lsetxattr", libc().lsetxattr(cstr(path), cstr(name), v, BigInt(v.length), 0), path);
}

/** An extended attribute of `path` (not following a symlink), or undefined when it has none. */
export function getXattr(path: string, name: string): string | undefined {
  const buf = new Uint8Array(256);
  const n = Number(libc().lgetxattr(cstr(path), cstr(name), buf, BigInt(buf.length)));
  if (n < 0) return undefined;
  return new TextDecoder().decode(buf.subarray(0, n));
}

/** Changes the owner of `path` without following a symlink. */
export function lchown(path: string, uid: number, gid: number): void {
  check("lchown", libc().lchown(cstr(path), uid >>> 0, gid >>> 0), path);
}

const O_RDWR = 2, O_NOCTTY = 0o400, O_CLOEXEC = 0o2000000;
const O_RDONLY = 0, O_DIRECTORY = 0o200000;
/** `_IOR('f', 1, long)` and `_IOW('f', 2, long)`; the kernel reads and writes an int. */
const FS_IOC_GETFLAGS = 0x80086601n, FS_IOC_SETFLAGS = 0x40086602n;

/**
 * The inode flags of the directory `dir` (`lsattr -d`), or undefined when it cannot be opened or
 * its file system has none.
 */
export function inodeFlags(dir: string): number | undefined {
  return withDirFd(
    dir,
    (fd, buf) =>
      libc().ioctl(fd, FS_IOC_GETFLAGS, buf) === 0 ? new DataView(buf.buffer).getInt32(0, true) : undefined,
  );
}

/** Sets the inode flags of the directory `dir` (`chattr`); false when it cannot. */
export function setInodeFlags(dir: string, flags: number): boolean {
  return withDirFd(dir, (fd, buf) => {
    new DataView(buf.buffer).setInt32(0, flags, true);
    return libc().ioctl(fd, FS_IOC_SETFLAGS, buf) === 0;
  }) ?? false;
}

function withDirFd<T>(dir: string, fn: (fd: number, buf: Uint8Array<ArrayBuffer>) => T): T | undefined {
  const fd = libc().open(cstr(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) return undefined;
  try {
    return fn(fd, new Uint8Array(8));
  } finally {
    libc().close(fd);
  }
}

const TIOCSWINSZ = 0x5414n;

/** A pseudo-terminal master, read and written through libc. */
export class Pty {
  readonly fd: number;
  /** The slave's path (`/dev/pts/N`), opened by the process that gets the terminal. */
  readonly slavePath: string;
  #closed = false;

  private constructor(fd: number, slavePath: string) {
    this.fd = fd;
    this.slavePath = slavePath;
  }

  /** Opens a new pty pair's master. */
  static open(): Pty {
    const l = libc();
    const fd = check("posix_openpt", l.posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    try {
      check("grantpt", l.grantpt(fd));
      check("unlockpt", l.unlockpt(fd));
      const p = l.ptsname(fd);
      if (!p) throw new OsError("ptsname", errno());
      return new Pty(fd, Deno.UnsafePointerView.getCString(p));
    } catch (e) {
      l.close(fd);
      throw e;
    }
  }

  /** A master received from elsewhere (see {@linkcode ConsoleSocket}). */
  static fromFd(fd: number): Pty {
    return new Pty(fd, "");
  }

  /** Sets the window size (rows and columns). */
  resize(cols: number, rows: number): void {
    if (this.#closed) return;
    const ws = new Uint16Array([rows, cols, 0, 0]);
    check("ioctl", libc().ioctl(this.fd, TIOCSWINSZ, new Uint8Array(ws.buffer)));
  }

  /** Reads what the terminal's programs wrote; null at the end (every slave closed: EIO). */
  async read(max = 32 * 1024): Promise<Uint8Array | null> {
    if (this.#closed) return null;
    const buf = new Uint8Array(max);
    const n = Number(await libc().read(this.fd, buf, BigInt(max)));
    if (n <= 0) return null;
    return buf.subarray(0, n);
  }

  /** Writes input to the terminal. */
  async write(data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.length && !this.#closed) {
      const chunk = data.slice(off);
      const n = Number(await libc().write(this.fd, chunk, BigInt(chunk.length)));
      if (n < 0) throw new OsError("write", errno(), "pty");
      off += n;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    libc().close(this.fd);
  }
}

const AF_UNIX = 1, SOCK_SEQPACKET = 5, SOCK_CLOEXEC = 0o2000000, O_PATH = 0o10000000;

/** A connected `AF_UNIX` `SOCK_SEQPACKET` socket (each read returns one packet). */
export class SeqPacketSocket {
  readonly fd: number;
  #closed = false;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /**
   * Connects to the socket at `path`. A path longer than a socket address can hold is reached
   * through `/proc/self/fd/<dir fd>/<name>`.
   */
  static connect(path: string): SeqPacketSocket {
    const l = libc();
    let dirFd = -1;
    if (new TextEncoder().encode(path).length >= 100) {
      const slash = path.lastIndexOf("/");
      dirFd = check("open", l.open(cstr(path.slice(0, slash)), O_PATH | O_CLOEXEC, 0), path);
      path = `/proc/self/fd/${dirFd}/${path.slice(slash + 1)}`;
    }
    try {
      return SeqPacketSocket.#connect(path);
    } finally {
      if (dirFd >= 0) l.close(dirFd);
    }
  }

  static #connect(path: string): SeqPacketSocket {
    const l = libc();
    const fd = check("socket", l.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    const p = new TextEncoder().encode(path);
    if (p.length >= 108) {
      l.close(fd);
      throw new OsError("connect", 36, `${path} (path too long)`);
    }
    const addr = new Uint8Array(110);
    addr[0] = AF_UNIX; // sa_family, little endian u16
    addr.set(p, 2);
    if (l.connect(fd, addr, 2 + p.length + 1) < 0) {
      const e = errno();
      l.close(fd);
      throw new OsError("connect", e, path);
    }
    return new SeqPacketSocket(fd);
  }

  /** One packet, or null at the end. */
  async read(max = 8192): Promise<Uint8Array | null> {
    if (this.#closed) return null;
    const buf = new Uint8Array(max);
    const n = Number(await libc().read(this.fd, buf, BigInt(max)));
    if (n <= 0) return null;
    return buf.subarray(0, n);
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.#closed) return;
    const copy = data.slice();
    const n = Number(await libc().write(this.fd, copy, BigInt(copy.length)));
    if (n < 0) throw new OsError("write", errno(), "socket");
  }

  /** Shuts down the writing half (the peer reads the end of its input). */
  closeWrite(): void {
    if (!this.#closed) libc().shutdown(this.fd, 1);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    libc().shutdown(this.fd, 2);
    libc().close(this.fd);
  }
}

const SOCK_STREAM = 1, SOCK_NONBLOCK = 0o4000, EAGAIN = 11, SOL_SOCKET = 1, SCM_RIGHTS = 1;

/**
 * A listening `--console-socket` (the OCI runtimes' way of handing over a terminal): the
 * runtime connects and sends the pseudo-terminal master it allocated as an `SCM_RIGHTS` message.
 */
export class ConsoleSocket {
  readonly path: string;
  readonly #fd: number;
  #closed = false;

  private constructor(path: string, fd: number) {
    this.path = path;
    this.#fd = fd;
  }

  static listen(path: string): ConsoleSocket {
    const l = libc();
    const p = new TextEncoder().encode(path);
    if (p.length >= 108) throw new OsError("bind", 36, `${path} (path too long)`);
    const fd = check("socket", l.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    const addr = new Uint8Array(110);
    addr[0] = AF_UNIX;
    addr.set(p, 2);
    if (l.bind(fd, addr, 2 + p.length + 1) < 0 || l.listen(fd, 1) < 0) {
      const e = errno();
      l.close(fd);
      throw new OsError("bind", e, path);
    }
    return new ConsoleSocket(path, fd);
  }

  /**
   * Waits for the runtime to connect and send the terminal; polls every few ms until
   * `giveUp()` says to stop (the runtime exited). Resolves to the master, or null.
   */
  async receive(giveUp: () => boolean, timeoutMs = 30_000): Promise<Pty | null> {
    const l = libc();
    const end = Date.now() + timeoutMs;
    let conn = -1;
    while (conn < 0) {
      if (this.#closed || giveUp() || Date.now() > end) return null;
      conn = l.accept4(this.#fd, null, null, SOCK_CLOEXEC);
      if (conn < 0) {
        const e = errno();
        if (e !== EAGAIN) throw new OsError("accept", e, this.path);
        await new Promise((r) => setTimeout(r, 3));
      }
    }
    try {
      const data = new Uint8Array(4096);
      const iov = new BigUint64Array(2);
      iov[0] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(data)));
      iov[1] = BigInt(data.length);
      const control = new Uint8Array(64);
      const msg = new BigUint64Array(7); // struct msghdr on x86-64 (56 bytes)
      msg[2] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(iov)));
      msg[3] = 1n;
      msg[4] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(control)));
      msg[5] = BigInt(control.length);
      const n = Number(await l.recvmsg(conn, new Uint8Array(msg.buffer), 0));
      if (n < 0) throw new OsError("recvmsg", errno(), this.path);
      const view = new DataView(control.buffer);
      const len = Number(view.getBigUint64(0, true));
      const level = view.getInt32(8, true), type = view.getInt32(12, true);
      if (len < 20 || level !== SOL_SOCKET || type !== SCM_RIGHTS) {
        throw new OsError("recvmsg", 22, `${this.path}: no terminal was sent`);
      }
      return Pty.fromFd(view.getInt32(16, true));
    } finally {
      l.close(conn);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    libc().close(this.#fd);
    try {
      Deno.removeSync(this.path);
    } catch { /* gone */ }
  }
}

const AT_FDCWD = -100, AT_EMPTY_PATH = 0x1000, AT_RECURSIVE = 0x8000;
const OPEN_TREE_CLONE = 1, MOVE_MOUNT_F_EMPTY_PATH = 0x4, MOUNT_ATTR_RDONLY = 0x1;
const MS_BIND = 0x1000, MS_REC = 0x4000, MS_SHARED = 1 << 20;
const MNT_DETACH = 2, UMOUNT_NOFOLLOW = 8, EINVAL = 22, ENOENT = 2;

/**
 * Bind-mounts `source` (and the mounts under it) on `target`, read-only when asked. The mount is
 * made detached (`open_tree`), made read-only there (`mount_setattr`) and only then attached
 * (`move_mount`): mount propagation copies it with its flags, unlike a bind followed by a
 * read-only remount, which does not propagate.
 */
export function bindMount(source: string, target: string, readOnly: boolean): void {
  const l = libc();
  const fd = check(
    "open_tree",
    l.open_tree(AT_FDCWD, cstr(source), OPEN_TREE_CLONE | AT_RECURSIVE | O_CLOEXEC),
    source,
  );
  try {
    if (readOnly) {
      const attr = new BigUint64Array([BigInt(MOUNT_ATTR_RDONLY), 0n, 0n, 0n]);
      check(
        "mount_setattr",
        l.mount_setattr(fd, cstr(""), AT_EMPTY_PATH | AT_RECURSIVE, new Uint8Array(attr.buffer), 32n),
        source,
      );
    }
    check("move_mount", l.move_mount(fd, cstr(""), AT_FDCWD, cstr(target), MOVE_MOUNT_F_EMPTY_PATH), target);
  } finally {
    l.close(fd);
  }
}

/** Unmounts `target` (lazily with `detach`); false when it was not a mount point (or is gone). */
export function unmount(target: string, detach = false): boolean {
  const l = libc();
  if (l.umount2(cstr(target), UMOUNT_NOFOLLOW | (detach ? MNT_DETACH : 0)) === 0) return true;
  const e = errno();
  if (e === EINVAL || e === ENOENT) return false;
  throw new OsError("umount2", e, target);
}

/**
 * {@linkcode unmount} with `MNT_DETACH` on Deno's blocking pool (the kernel's wait does not hold
 * the event loop): whether it unmounted. The reason of a failure is not known here (errno is the
 * pool thread's): for a caller to whom "not mounted" and "failed" are alike.
 */
export async function unmountDetachedInPool(target: string): Promise<boolean> {
  const path = cstr(target); // held until the pool's call is done
  return await libc().umount2_pool(path, UMOUNT_NOFOLLOW | MNT_DETACH) === 0;
}

/**
 * `mount(2)` of a file system (`mount -t <fstype> <source> -o <data> <target>`); relative paths
 * resolve from the process's working directory.
 */
export function mountFs(source: string, target: string, fstype: string, data: string): void {
  const opts = cstr(data);
  check(
    "mount",
    libc().mount(cstr(source), cstr(target), cstr(fstype), 0n, Deno.UnsafePointer.of(opts)),
    target,
  );
}

/** Makes `dir` a mount point of its own (a bind mount on itself) with shared propagation. */
export function makeSharedMount(dir: string, alreadyMounted: boolean): void {
  const l = libc();
  if (!alreadyMounted) {
    check("mount", l.mount(cstr(dir), cstr(dir), null, BigInt(MS_BIND | MS_REC), null), dir);
  }
  check("mount", l.mount(cstr("none"), cstr(dir), null, BigInt(MS_SHARED), null), dir);
}

/** `unshare(2)` of the calling thread (these are synchronous FFI calls: the JS thread's). */
export function unshareThread(flags: number): void {
  check("unshare", libc().unshare(flags));
}

/** `setns(2)` of the calling thread into the namespace open as `fd` (of type `nstype`). */
export function setns(fd: number, nstype: number, what = ""): void {
  check("setns", libc().setns(fd, nstype), what);
}

/** `sethostname(2)`: the hostname of the calling thread's UTS namespace. */
export function setHostname(name: string): void {
  const b = new TextEncoder().encode(name);
  check("sethostname", libc().sethostname(b, BigInt(b.length)), name);
}

/** Opens `path` read-only, close-on-exec (a namespace file, for {@linkcode setns}). */
export function openReadOnly(path: string): number {
  return check("open", libc().open(cstr(path), O_RDONLY | O_CLOEXEC, 0), path);
}

/** Creates the empty file `path` when it is missing (an existing one, or a mount on it, is left as is). */
export function touch(path: string, mode = 0o644): void {
  const O_CREAT = 0o100;
  libc().close(check("open", libc().open(cstr(path), O_RDONLY | O_CREAT | O_CLOEXEC, mode), path));
}

/** `pipe2(O_CLOEXEC)`: `[read end, write end]`, neither inherited by children. */
export function pipeCloexec(): [number, number] {
  const fds = new Int32Array(2);
  check("pipe2", libc().pipe2(new Uint8Array(fds.buffer), O_CLOEXEC));
  return [fds[0], fds[1]];
}

/** `dup(2)`: a copy of `fd` without close-on-exec (so a child spawned next inherits it). */
export function dupInheritable(fd: number): number {
  return check("dup", libc().dup(fd));
}

/** `read(2)` on Deno's blocking pool (waits without blocking the event loop); 0 at the end. */
export async function readFd(fd: number, buf: Uint8Array<ArrayBuffer>): Promise<number> {
  return check("read", await libc().read(fd, buf, BigInt(buf.length)));
}

/** Closes a file descriptor opened here. */
export function closeFd(fd: number): void {
  libc().close(fd);
}

/** `mount --bind source target` with mount(2) (not recursive; a namespace file onto a file). */
export function bindFile(source: string, target: string): void {
  check("mount", libc().mount(cstr(source), cstr(target), null, BigInt(MS_BIND), null), target);
}
