/**
 * A pod's IPC and UTS namespaces made in-process, with no child: what
 * `unshare --ipc=<file> --uts=<file> hostname <name>` does, on the calling thread. Used by the
 * mount namespace's spawner (spawner_main.ts), whose mount namespace the bind mounts land in.
 *
 * 1. the files are created (empty) when missing, and the thread's own namespaces opened;
 * 2. `unshare(CLONE_NEWIPC | CLONE_NEWUTS)` of the calling thread only: these two kinds may be
 *    unshared and re-entered by one thread of a multi-threaded process (unlike a mount or user
 *    namespace), and the other threads keep theirs;
 * 3. `/proc/thread-self/ns/<kind>` bind-mounted onto each file (that keeps the namespace alive),
 *    then `sethostname` inside the new UTS namespace;
 * 4. `setns` back into the saved namespaces, always; on a failure the mounts made are undone first.
 *
 * Every call is a synchronous FFI call, which Deno makes on the JS thread: nothing else runs on
 * that thread meanwhile, so no process the spawner starts (Deno spawns on the JS thread) can
 * inherit the pod's namespaces. When `setns` back fails the thread is left in the pod's
 * namespaces: {@linkcode NamespaceRestoreError} tells the spawner to exit (the agent starts a
 * new one).
 * @module
 */
import { bindFile, closeFd, openReadOnly, setHostname, setns, touch, unmount, unshareThread } from "./libc.ts";

export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUTS = 0x04000000;

const FLAGS = { ipc: CLONE_NEWIPC, uts: CLONE_NEWUTS } as const;

/** The files to bind the new namespaces onto (a kind not given is not unshared). */
export interface PodNamespaceFiles {
  ipc?: string;
  uts?: string;
  /** Set inside the new UTS namespace (needs `uts`). */
  hostname?: string;
}

/** The calling thread could not return to its own namespaces: its process must not go on. */
export class NamespaceRestoreError extends Error {
  override name = "NamespaceRestoreError";
}

/** Makes the namespaces of `files` (see the module's steps); throws on failure, leaving none. */
export function unsharePodNamespaces(files: PodNamespaceFiles): void {
  const kinds = (["ipc", "uts"] as const).filter((k) => files[k] !== undefined);
  if (kinds.length === 0) return;
  if (files.hostname !== undefined && !files.uts) throw new Error("a hostname needs a UTS namespace");
  for (const k of kinds) touch(files[k]!);
  const saved: { kind: "ipc" | "uts"; fd: number }[] = [];
  try {
    for (const k of kinds) saved.push({ kind: k, fd: openReadOnly(`/proc/thread-self/ns/${k}`) });
    unshareThread(kinds.reduce((f, k) => f | FLAGS[k], 0));
    const mounted: string[] = [];
    try {
      for (const k of kinds) {
        bindFile(`/proc/thread-self/ns/${k}`, files[k]!);
        mounted.push(files[k]!);
      }
      if (files.hostname !== undefined) setHostname(files.hostname);
    } catch (e) {
      for (const m of mounted) {
        try {
          unmount(m, true);
        } catch { /* left for removePodNamespaces */ }
      }
      throw e;
    } finally {
      restore(saved);
    }
  } finally {
    for (const s of saved) closeFd(s.fd);
  }
}

function restore(saved: { kind: "ipc" | "uts"; fd: number }[]): void {
  for (const s of saved) {
    try {
      setns(s.fd, FLAGS[s.kind], s.kind);
    } catch (e) {
      throw new NamespaceRestoreError(
        `the spawner's thread could not return to its ${s.kind} namespace: ${(e as Error).message}`,
      );
    }
  }
}
