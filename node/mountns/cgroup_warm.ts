/**
 * Pays the kernel's wait for a cgroup migration before `crun create` needs it, beside conmon's
 * start instead of on the container's path.
 *
 * Moving a process between cgroups takes the kernel's global `cgroup_threadgroup_rwsem` for
 * writing, and after a quiet moment that first waits for an RCU grace period (10–20 ms on this
 * machine); a move within about one grace period of the previous one does not wait. `crun create`
 * moves its child into the container's cgroup v1 `cgroup.procs` some 12–16 ms after conmon is
 * started, so a pod start paid the whole wait there (docs/benchmarks.md, "What `crun create`
 * waits for"). When the spawner starts a command that will create a container, it also writes
 * its own pid into its own cgroup's `cgroup.procs` (a move to where it already is: nothing
 * changes, but the lock is taken), on a blocking thread, so the grace period runs while conmon
 * starts and crun's move finds the lock warm (measured by hand: 14 ms → 0.3–0.7 ms when the warm
 * move starts 12–20 ms earlier; no gain when it starts 35 ms earlier). Upstream runtimes do not do
 * this; the kernel's own remedy is the cgroup `favordynmods` mount option, a host setting.
 * @module
 */

/** Whether `argv` will make crun create a container: conmon, or `crun … create|run …`. Pure. */
export function createsContainer(argv: readonly string[]): boolean {
  const bin = argv[0]?.slice(argv[0].lastIndexOf("/") + 1);
  if (bin === "conmon") return true;
  return bin === "crun" && argv.slice(1).some((a) => a === "create" || a === "run");
}

/**
 * The `cgroup.procs` of this process's own cgroup, from `/proc/self/cgroup` text: the cgroup v1
 * `pids` hierarchy's, else the unified one's. Pure.
 */
export function ownCgroupProcs(procSelfCgroup: string, root = "/sys/fs/cgroup"): string | undefined {
  let unified: string | undefined;
  for (const line of procSelfCgroup.split("\n")) {
    const [, controllers, path] = line.match(/^\d+:([^:]*):(.*)$/) ?? [];
    if (path === undefined) continue;
    if (controllers.split(",").includes("pids")) {
      return `${root}/pids${path === "/" ? "" : path}/cgroup.procs`;
    }
    if (controllers === "") unified = `${root}${path === "/" ? "" : path}/cgroup.procs`;
  }
  return unified;
}

/**
 * This process's `cgroup.procs` ({@linkcode ownCgroupProcs}), read by the agent for the spawner
 * it starts (a child stays in its parent's cgroup; Deno lets only a process with all
 * permissions read `/proc/self`). `undefined` when it cannot be told.
 */
export function ownCgroupProcsFile(): string | undefined {
  try {
    return ownCgroupProcs(Deno.readTextFileSync("/proc/self/cgroup"));
  } catch {
    return undefined;
  }
}

/** Starts the warming move of this process into `procs` (asynchronous; a failure only costs the wait). */
export function warmCgroupMove(procs: string): void {
  Deno.writeTextFile(procs, `${Deno.pid}\n`).catch(() => {});
}
