/**
 * The node agent's own mount namespace, where crun runs. crun 1.8 refuses to create containers
 * on a "hybrid" cgroup machine (cgroup v1 controllers plus a cgroup2 mount holding any
 * controller); inside this namespace `/sys/fs/cgroup/unified` is unmounted, so crun sees plain
 * cgroup v1 and its limits apply. The host's mount table is not changed, except for two bind
 * mounts under the node's data dir that hold the namespace:
 *
 * - `<dir>` is bound onto itself with private propagation (a namespace file may only be bound on
 *   a private mount), and
 * - `<dir>/mnt` is the namespace itself (`unshare --mount=<dir>/mnt`).
 *
 * The namespace outlives the agent (it is a bind mount), so a restarted agent enters the same one
 * and finds the overlay mounts of the containers it adopts. `/run/netns` is a shared mount (as
 * `ip netns add` makes it) and the namespace is its slave: network namespaces added later on the
 * host appear inside; mounts made inside never appear on the host.
 *
 * The agent process itself stays on the host (a multi-threaded process cannot `setns` a mount
 * namespace). Its short commands, mounts and unmounts inside are done by one long-lived spawner
 * process started in the namespace ({@linkcode Spawner}, node/mountns/spawner.ts);
 * when it is not running (starting, restarting, `SKIFF_MOUNTNS_SPAWNER=0`), and for streaming
 * commands (exec, attach), processes enter it with `nsenter --mount=<dir>/mnt`
 * ({@linkcode MountNamespace.argv}).
 *
 * @example
 * ```ts ignore
 * const ns = await MountNamespace.open(`${dataDir}/oci/ns`);
 * await ns.run(["crun", "--root", root, "list"]);
 * await ns.release(); // every shutdown: stops the spawner
 * await ns.close(); // clean node shutdown only (the spawner and the namespace)
 * ```
 * @module
 */
import { Spawner, type SpawnResult } from "./spawner.ts";
import type { SpawnRequest } from "./spawner_protocol.ts";
import { conmonPidFile, ConmonSyncs, type SyncMessage, syncPipeWanted } from "./conmon_sync.ts";
import { abSwitch } from "../ab_switch.ts";

const NSENTER = "/usr/bin/nsenter";
const UNSHARE = "/usr/bin/unshare";
const MOUNT = "/usr/bin/mount";
const UMOUNT = "/usr/bin/umount";

/** A command failed; `stderr` says why. */
export class CommandError extends Error {
  override name = "CommandError";
  constructor(readonly argv: string[], readonly code: number, readonly stderr: string) {
    super(`${argv.join(" ")} failed (${code}): ${stderr.trim() || "no message"}`);
  }
}

const dec = new TextDecoder();

/** Runs argv; resolves to stdout, throws {@linkcode CommandError} on a non-zero exit. */
export async function run(
  argv: string[],
  opts: { stdin?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<string> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: opts.cwd,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const timer = opts.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs) : undefined;
  try {
    const out = await child.output();
    if (out.code !== 0) throw new CommandError(argv, out.code, dec.decode(out.stderr));
    return dec.decode(out.stdout);
  } finally {
    clearTimeout(timer);
  }
}

/** One line of `/proc/self/mountinfo`. */
export interface MountInfo {
  mountPoint: string;
  fsType: string;
  /** Optional fields, e.g. `shared:1`, `master:2`. */
  optional: string[];
}

/** Parses mountinfo text (octal escapes in paths decoded). */
export function parseMountInfo(text: string): MountInfo[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  const out: MountInfo[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const f = line.split(" ");
    const sep = f.indexOf("-");
    if (sep < 6) continue;
    out.push({ mountPoint: unescape(f[4]), optional: f.slice(6, sep), fsType: f[sep + 1] });
  }
  return out;
}

function mounts(): MountInfo[] {
  return parseMountInfo(Deno.readTextFileSync("/proc/self/mountinfo"));
}

/** Whether `path` is a mount point on the host (the agent's namespace). */
export function isMountPoint(path: string): boolean {
  return mounts().some((m) => m.mountPoint === path);
}

/**
 * Makes `/run/netns` a shared mount, as `ip netns add` does on first use, so that network
 * namespaces created later reach slave mount namespaces.
 */
export async function ensureSharedNetnsDir(): Promise<void> {
  await Deno.mkdir("/run/netns", { recursive: true });
  const m = mounts().findLast((x) => x.mountPoint === "/run/netns");
  if (m?.optional.some((o) => o.startsWith("shared:"))) return;
  if (!m) await run([MOUNT, "--bind", "/run/netns", "/run/netns"]);
  await run([MOUNT, "--make-shared", "/run/netns"]);
}

/** Whether the host has a cgroup2 mount next to v1 controllers (crun's "hybrid mode"). */
export function hybridCgroups(): boolean {
  try {
    const controllers = Deno.readTextFileSync("/sys/fs/cgroup/unified/cgroup.controllers").trim();
    return controllers.length > 0;
  } catch {
    return false;
  }
}

/** Whether the spawner is wanted (`SKIFF_MOUNTNS_SPAWNER=0` turns it off, for A/B benchmarks). */
function spawnerWanted(): boolean {
  return abSwitch("SKIFF_MOUNTNS_SPAWNER") !== "0";
}

/** `SKIFF_SPAWNER_UNSHARE=0`: a pod's namespaces by the `unshare` command even with a spawner (A/B). */
function unshareByCommand(): boolean {
  return abSwitch("SKIFF_SPAWNER_UNSHARE") === "0";
}

export class MountNamespace implements AsyncDisposable {
  /** The directory holding the namespace file (a private bind mount). */
  readonly dir: string;
  /** The namespace file, `<dir>/mnt`. */
  readonly file: string;
  /** The long-lived process running commands inside (none with `SKIFF_MOUNTNS_SPAWNER=0`). */
  readonly spawner?: Spawner;
  /** conmon's sync messages to come (conmon_sync.ts). */
  readonly #syncs = new ConmonSyncs();

  private constructor(dir: string, spawner: boolean) {
    this.dir = dir;
    this.file = `${dir}/mnt`;
    if (spawner) this.spawner = new Spawner(this.file);
  }

  /**
   * Opens the namespace kept in `dir`, creating it when there is none (or when the machine
   * rebooted and only the empty file is left). Idempotent.
   */
  static async open(
    dir: string,
    opts: { spawner?: boolean; readOnlyBinaries?: readonly string[] } = {},
  ): Promise<MountNamespace> {
    const ns = new MountNamespace(dir.replace(/\/+$/, ""), opts.spawner ?? spawnerWanted());
    await ns.#create();
    if (opts.readOnlyBinaries?.length) await ns.#bindReadOnly(opts.readOnlyBinaries);
    ns.spawner?.warm();
    return ns;
  }

  /**
   * Binds each binary read-only onto itself inside the namespace (where it is not already a
   * read-only mount), so that crun, which finds its own `/proc/self/exe` on a read-only mount,
   * runs as it is instead of bind-mounting and re-executing a copy of itself on every call
   * (its CVE-2019-5736 protection; see {@linkcode readOnlyBindScript}). One shell.
   */
  async #bindReadOnly(binaries: readonly string[]): Promise<void> {
    // The mount lands on the file a symlink names, and mountinfo shows that path.
    const real = binaries.map((b) => Deno.realPathSync(b));
    await this.sh(readOnlyBindScript(real));
  }

  async #create(): Promise<void> {
    await ensureSharedNetnsDir();
    await Deno.mkdir(this.dir, { recursive: true });
    const all = mounts();
    const dirMount = all.findLast((m) => m.mountPoint === this.dir);
    if (!dirMount) {
      await run([MOUNT, "--bind", this.dir, this.dir]);
      await run([MOUNT, "--make-private", this.dir]);
    } else if (dirMount.optional.some((o) => o.startsWith("shared:"))) {
      await run([MOUNT, "--make-private", this.dir]);
    }
    if (all.some((m) => m.mountPoint === this.file && m.fsType === "nsfs")) return;
    await Deno.writeFile(this.file, new Uint8Array());
    // Inside: drop the cgroup2 mount (crun then sees cgroup v1 only). `-l` in case something
    // holds it; a machine without it has nothing to unmount.
    await run([
      UNSHARE,
      `--mount=${this.file}`,
      "--propagation",
      "slave",
      "/bin/sh",
      "-c",
      "if grep -q ' /sys/fs/cgroup/unified ' /proc/self/mountinfo; then umount -l /sys/fs/cgroup/unified; fi",
    ]);
  }

  /**
   * The argv running a command inside the namespace (`cwd` is `/` unless `wd` is given). The
   * working directory is entered after the namespace: nsenter's own `--wd` opens it in the host's
   * namespace, and mounts onto relative paths from there fail with EINVAL.
   */
  argv(cmd: string[], wd?: string): string[] {
    const inner = wd ? ["/bin/sh", "-c", 'cd "$0" && exec "$@"', wd, ...cmd] : cmd;
    return [NSENTER, `--mount=${this.file}`, "--", ...inner];
  }

  /**
   * Runs `cmd` inside the namespace (by the spawner, else through `nsenter`); resolves to its
   * stdout, throws {@linkcode CommandError} on a non-zero exit.
   */
  async run(cmd: string[], opts: { wd?: string; stdin?: string; timeoutMs?: number } = {}): Promise<string> {
    let r: SpawnResult | undefined;
    try {
      r = await this.spawner?.run({
        argv: cmd,
        cwd: opts.wd,
        stdin: opts.stdin === undefined ? undefined : new TextEncoder().encode(opts.stdin),
        timeoutMs: opts.timeoutMs,
      });
    } catch (e) {
      throw new CommandError(cmd, 127, (e as Error).message);
    }
    if (!r) return run(this.argv(cmd, opts.wd), { stdin: opts.stdin, timeoutMs: opts.timeoutMs });
    if (r.code !== 0) throw new CommandError(cmd, r.code, dec.decode(r.stderr));
    return dec.decode(r.stdout);
  }

  /**
   * Runs a command by the spawner and answers its exit and output (for callers that read both,
   * such as the `host-process` capability); `undefined` when no spawner is ready: run
   * {@linkcode argv} then. Rejects when the binary could not be started.
   */
  spawn(
    req: Omit<SpawnRequest, "id" | "op" | "stdin"> & { stdin?: Uint8Array },
  ): Promise<SpawnResult | undefined> {
    // The switch is read per conmon (a few µs), so a by-hand A/B can flip it within one agent.
    const pidFile = syncPipeWanted() ? conmonPidFile(req.argv) : undefined;
    if (!pidFile || !this.spawner) return this.spawner?.run(req) ?? Promise.resolve(undefined);
    return this.spawner.run({ ...req, syncPipe: true }).then((r) => {
      if (r?.sync) this.#syncs.put(pidFile, r.sync);
      return r;
    });
  }

  /**
   * What conmon wrote to its sync pipe once `crun create` finished, for the container whose pid
   * file is `pidFile` (taken: a second call answers undefined); undefined when that conmon got no
   * pipe (no spawner, `SKIFF_CONMON_SYNC_PIPE=0`, a container adopted after a restart).
   */
  conmonSync(pidFile: string): Promise<SyncMessage> | undefined {
    return this.#syncs.take(pidFile);
  }

  /**
   * Mounts a file system inside the namespace (`mount -t <fstype> <source> -o <data> <target>`):
   * mount(2) by the spawner, else the `mount` command. Relative paths resolve from `wd`.
   */
  async mount(fs: { source: string; target: string; fstype: string; data: string; wd?: string }): Promise<void> {
    const r = await this.spawner?.request({
      op: "mount",
      source: fs.source,
      target: fs.target,
      fstype: fs.fstype,
      data: fs.data,
      cwd: fs.wd,
    });
    const argv = [MOUNT, "-t", fs.fstype, fs.source, "-o", fs.data, fs.target];
    if (!r) {
      await this.run(argv, { wd: fs.wd });
      return;
    }
    if (r.error !== undefined) throw new CommandError(argv, 32, r.error);
  }

  /**
   * Unmounts `target` inside the namespace (lazily with `detach`) when it is a mount point;
   * idempotent. umount2(2) by the spawner, else a shell with `umount`.
   */
  async unmount(target: string, opts: { detach?: boolean } = {}): Promise<void> {
    const r = await this.spawner?.request({ op: "umount", target, detach: opts.detach });
    if (!r) {
      await this.sh(`if grep -qF ${shq(` ${target} `)} /proc/self/mountinfo; then umount ${opts.detach ? "-l " : ""}${shq(target)}; fi`);
      return;
    }
    if (r.error !== undefined) throw new CommandError([UMOUNT, target], 32, r.error);
  }

  /**
   * Makes a pod's IPC and/or UTS namespaces, kept by bind mounts onto the files given (created
   * when missing), the UTS one with `hostname` set. By the spawner on its own thread, no process
   * (node/mountns/pod_namespaces.ts); without a spawner (or with `SKIFF_SPAWNER_UNSHARE=0`, for
   * A/B benchmarks) one `unshare --ipc=… --uts=… hostname <name>` process.
   */
  async unshare(files: { ipc?: string; uts?: string; hostname?: string }): Promise<void> {
    const kinds = (["ipc", "uts"] as const).filter((k) => files[k] !== undefined);
    if (kinds.length === 0) return;
    const r = unshareByCommand() ? undefined : await this.spawner?.request({ op: "unshare", ...files });
    if (r) {
      if (r.error !== undefined) throw new CommandError([UNSHARE, ...kinds.map((k) => `--${k}=${files[k]}`)], 1, r.error);
      return;
    }
    // The files the namespaces are bound onto are made here (the pod's directory is the same on
    // the host and in the mount namespace); then one `unshare`, no shell.
    await Promise.all(kinds.map((k) => Deno.writeFile(files[k]!, new Uint8Array())));
    const cmd = files.hostname !== undefined ? ["hostname", files.hostname] : ["true"];
    await this.run([UNSHARE, ...kinds.map((k) => `--${k}=${files[k]}`), ...cmd]);
  }

  /** Runs a shell script inside the namespace (one process for several steps). */
  sh(script: string, opts: { wd?: string; timeoutMs?: number } = {}): Promise<string> {
    // The script enters `wd` itself: one shell, not a second one to change directory.
    const body = opts.wd ? `cd ${shq(opts.wd)}\n${script}` : script;
    return this.run(["/bin/sh", "-ec", body], { timeoutMs: opts.timeoutMs });
  }

  /** Stops the spawner (every agent shutdown; the namespace and its mounts stay). Idempotent. */
  async release(): Promise<void> {
    await this.spawner?.close();
  }

  /**
   * Removes the namespace from the host (a clean node shutdown, after every container is gone):
   * it ends once no process is left in it. Stops the spawner first.
   */
  async close(): Promise<void> {
    await this.release();
    for (const path of [this.file, this.dir]) {
      if (!isMountPoint(path)) continue;
      await run([UMOUNT, "-l", path]).catch((e) => {
        if (isMountPoint(path)) throw e;
      });
    }
  }

  /** {@linkcode release}: an `await using` scope leaves the namespace in place. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

/**
 * The shell script that binds each of `binaries` read-only onto itself, unless it already is a
 * read-only mount point (idempotent: a restarted agent finds its namespace as it left it). Pure.
 *
 * crun (1.8's `is_self_cloned`) skips its copy of itself when its binary is on a read-only mount,
 * the case of ostree's read-only bind mount; runc ≥ 1.2 protects its binary with a private
 * read-only overlayfs mount of it. A container cannot open the binary for writing
 * through `/proc/<pid>/exe` (EROFS), nor remount a mount of the agent's namespace. The host's
 * own mount table is not touched, and replacing the binary on the host (a package upgrade renames
 * a new file over it) detaches the bind in the namespace: crun then copies itself again until the
 * next agent start binds the new file.
 */
export function readOnlyBindScript(binaries: readonly string[]): string {
  return binaries.map((b) => {
    const q = shq(b);
    return `if ! awk -v p=${q} '$5 == p && $6 ~ /^ro(,|$)/ { f = 1 } END { exit !f }' /proc/self/mountinfo; then ` +
      `mount --bind ${q} ${q} && mount -o remount,bind,ro ${q}; fi`;
  }).join("\n");
}

/** Quotes a word for `/bin/sh`. */
export function shq(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}
