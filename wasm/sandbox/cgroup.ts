/**
 * cgroup v1 limits for a sandbox process: a CPU quota (`resources.limits.cpu`, CFS) and a memory
 * limit for the whole process. The groups are made below this process's own groups (so whatever
 * accounts for the agent still accounts for its sandboxes) and removed when the sandbox ends.
 * On a machine without writable cgroup v1 controllers the limits are reported as not enforced.
 * @module
 */

/** The path of this process's group in each v1 controller, from `/proc/self/cgroup` text. Pure. */
export function parseProcCgroup(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (!m || !m[1]) continue;
    for (const controller of m[1].split(",")) out[controller] = m[2];
  }
  return out;
}

/** The CFS quota for a CPU limit in millicores, over a 100 ms period. Pure. */
export function cfsQuota(cpuMillis: number, periodUs = 100_000): { periodUs: number; quotaUs: number } {
  return { periodUs, quotaUs: Math.max(1000, Math.round((cpuMillis / 1000) * periodUs)) };
}

/** Limits to apply. */
export interface CgroupLimits {
  cpuMillis?: number;
  memoryBytes?: number;
}

/** A sandbox's groups. */
export class SandboxCgroup {
  readonly #dirs: string[];

  private constructor(dirs: string[]) {
    this.#dirs = dirs;
  }

  /** The group directories (one per controller used). */
  get dirs(): readonly string[] {
    return this.#dirs;
  }

  /**
   * Creates the groups and sets the limits. Returns the reason instead when cgroup v1 is not
   * usable here.
   */
  static async create(
    name: string,
    limits: CgroupLimits,
    root = "/sys/fs/cgroup",
  ): Promise<SandboxCgroup | string> {
    const wanted: [string, [string, string][]][] = [];
    if (limits.cpuMillis) {
      const q = cfsQuota(limits.cpuMillis);
      wanted.push(["cpu", [["cpu.cfs_period_us", String(q.periodUs)], [
        "cpu.cfs_quota_us",
        String(q.quotaUs),
      ]]]);
    }
    if (limits.memoryBytes) wanted.push(["memory", [["memory.limit_in_bytes", String(limits.memoryBytes)]]]);
    if (!wanted.length) return "no limit asked for";
    let own: Record<string, string>;
    try {
      own = parseProcCgroup(await Deno.readTextFile("/proc/self/cgroup"));
    } catch (e) {
      return `cannot read /proc/self/cgroup: ${(e as Error).message}`;
    }
    const dirs: string[] = [];
    try {
      for (const [controller, files] of wanted) {
        if (own[controller] === undefined) {
          throw new Error(`no cgroup v1 "${controller}" controller is mounted`);
        }
        const dir = `${root}/${controller}${own[controller].replace(/\/$/, "")}/skiff-${name}`;
        await Deno.mkdir(dir, { recursive: true });
        dirs.push(dir);
        for (const [file, value] of files) await Deno.writeTextFile(`${dir}/${file}`, value);
      }
    } catch (e) {
      await Promise.all(dirs.map((d) => Deno.remove(d).catch(() => {})));
      return `cgroup v1 limits are not enforced: ${(e as Error).message}`;
    }
    return new SandboxCgroup(dirs);
  }

  /** Moves a process into the groups. */
  async add(pid: number): Promise<void> {
    for (const d of this.#dirs) await Deno.writeTextFile(`${d}/cgroup.procs`, String(pid));
  }

  /** Whether the memory group has hit its limit (the kernel's OOM kill of the sandbox). */
  async oomKilled(): Promise<boolean> {
    const mem = this.#dirs.find((d) => d.includes("/memory"));
    if (!mem) return false;
    try {
      const text = await Deno.readTextFile(`${mem}/memory.oom_control`);
      return /oom_kill [1-9]/.test(text) || Number(await Deno.readTextFile(`${mem}/memory.failcnt`)) > 0;
    } catch {
      return false;
    }
  }

  /** Removes the groups (once the sandbox has exited). */
  async remove(): Promise<void> {
    for (const d of this.#dirs) {
      for (let i = 0; i < 20; i++) {
        try {
          await Deno.remove(d);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 25));
        }
      }
    }
  }
}
