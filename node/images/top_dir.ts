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
import { inodeFlags, setInodeFlags } from "../mountns/libc.ts";

export { inodeFlags };

export const FS_TOPDIR_FL = 0x00020000;

/** Sets `FS_TOPDIR_FL` on `dir`; returns whether the flag is now set. Never throws on a refusal. */
export function markTopDir(dir: string): boolean {
  try {
    const now = inodeFlags(dir);
    if (now === undefined) return false;
    return (now & FS_TOPDIR_FL) !== 0 || setInodeFlags(dir, now | FS_TOPDIR_FL);
  } catch {
    return false; // no --allow-ffi, or no glibc: no hint
  }
}
