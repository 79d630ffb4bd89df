/**
 * Marks a directory as the top of directory hierarchies (`chattr +T`, `FS_TOPDIR_FL`): ext4's
 * Orlov allocator then spreads the directories made in it over block groups with free inodes,
 * instead of packing them next to their parent.
 *
 * Why the image store wants it: every unpacked layer is its own hierarchy (`layers/tmp-<uuid>`),
 * and its files are allocated in its directory's block group. On ext4 without a journal, inode
 * allocation skips inodes freed in the last ≈35 s (`recently_deleted()` in `fs/ext4/ialloc.c`)
 * by scanning them one by one, so in a group where temporary files come and go (a busy `/tmp`)
 * each new inode can cost ≈0.5–1 ms of kernel time: 283 entries of a busybox layer took
 * 100–300 ms. Spread to a quiet group, the same layer's inodes cost microseconds.
 *
 * A hint only: on file systems without the flag (tmpfs, overlayfs, xfs) it is a no-op.
 * @module
 */

const SYMBOLS = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
} as const;

let lib: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | undefined;

const O_RDONLY = 0, O_DIRECTORY = 0o200000, O_CLOEXEC = 0o2000000;
/** `_IOR('f', 1, long)` and `_IOW('f', 2, long)`; the kernel reads and writes an int. */
const FS_IOC_GETFLAGS = 0x80086601n, FS_IOC_SETFLAGS = 0x40086602n;
export const FS_TOPDIR_FL = 0x00020000;

/** The inode flags of `dir` (`lsattr -d`), or undefined when the file system has none. */
export function inodeFlags(dir: string): number | undefined {
  return withDir(dir, (flags) => flags.get());
}

/** Sets `FS_TOPDIR_FL` on `dir`; returns whether the flag is now set. Never throws on a refusal. */
export function markTopDir(dir: string): boolean {
  return withDir(dir, (flags) => {
    const now = flags.get();
    if (now === undefined) return false;
    return (now & FS_TOPDIR_FL) !== 0 || flags.set(now | FS_TOPDIR_FL);
  }) ?? false;
}

interface Flags {
  get(): number | undefined;
  set(flags: number): boolean;
}

/** Opens `dir` and runs `fn` with its flags; undefined when it (or libc) cannot be opened. */
function withDir<T>(dir: string, fn: (flags: Flags) => T): T | undefined {
  let l: NonNullable<typeof lib>;
  try {
    l = lib ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  } catch {
    return undefined; // no --allow-ffi, or no glibc: no hint
  }
  const fd = l.open(new TextEncoder().encode(`${dir}\0`), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) return undefined;
  const buf = new Uint8Array(8);
  const view = new DataView(buf.buffer);
  try {
    return fn({
      get: () => l.ioctl(fd, FS_IOC_GETFLAGS, buf) === 0 ? view.getInt32(0, true) : undefined,
      set: (flags) => {
        view.setInt32(0, flags, true);
        return l.ioctl(fd, FS_IOC_SETFLAGS, buf) === 0;
      },
    });
  } finally {
    l.close(fd);
  }
}
