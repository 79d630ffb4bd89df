/**
 * Facts about the machine the node reports (`status.capacity`, `status.nodeInfo`): CPUs, memory,
 * the data dir's filesystem size, kernel, OS image, machine and boot IDs. I/O only; each read
 * falls back to a neutral value when the file is missing.
 * @module
 */

export interface MachineInfo {
  cpus: number;
  memoryBytes: number;
  /** Size and free space of the filesystem holding the data dir. */
  diskBytes: number;
  diskFreeBytes: number;
  kernelVersion: string;
  osImage: string;
  machineID: string;
  bootID: string;
  architecture: string;
  hostname: string;
}

function read(path: string): string {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return "";
  }
}

/** MemTotal and MemAvailable from /proc/meminfo, in bytes. */
export function memInfo(): { total: number; available: number } {
  const text = read("/proc/meminfo");
  const kb = (key: string) => Number(text.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"))?.[1] ?? 0) * 1024;
  return { total: kb("MemTotal"), available: kb("MemAvailable") };
}

/** Size and free bytes of the filesystem holding `path` (`df`, coreutils). */
export async function diskInfo(path: string): Promise<{ size: number; free: number }> {
  try {
    const out = await new Deno.Command("df", {
      args: ["-B1", "--output=size,avail", path],
      stdout: "piped",
      stderr: "null",
    })
      .output();
    const line = new TextDecoder().decode(out.stdout).trim().split("\n")[1] ?? "";
    const [size, free] = line.trim().split(/\s+/).map(Number);
    if (Number.isFinite(size) && Number.isFinite(free)) return { size, free };
  } catch { /* no df */ }
  return { size: 0, free: 0 };
}

/** Free PIDs: `pid_max` minus running processes. */
export function pidHeadroom(): { max: number; used: number } {
  const max = Number(read("/proc/sys/kernel/pid_max")) || 32768;
  let used = 0;
  try {
    for (const e of Deno.readDirSync("/proc")) if (/^[0-9]+$/.test(e.name)) used++;
  } catch { /* no /proc */ }
  return { max, used };
}

/** Reads everything once. */
export async function machineInfo(dataDir: string): Promise<MachineInfo> {
  const os = read("/etc/os-release").match(/^PRETTY_NAME="?([^"\n]*)"?/m)?.[1] ?? "Linux";
  const disk = await diskInfo(dataDir);
  return {
    cpus: navigator.hardwareConcurrency || 1,
    memoryBytes: memInfo().total,
    diskBytes: disk.size,
    diskFreeBytes: disk.free,
    kernelVersion: read("/proc/sys/kernel/osrelease") || Deno.osRelease(),
    osImage: os,
    machineID: read("/etc/machine-id") || read("/var/lib/dbus/machine-id"),
    bootID: read("/proc/sys/kernel/random/boot_id"),
    architecture: Deno.build.arch === "x86_64"
      ? "amd64"
      : Deno.build.arch === "aarch64"
      ? "arm64"
      : Deno.build.arch,
    hostname: Deno.hostname(),
  };
}
