/**
 * The OCI runtime `config.json` of a container: a pure function of the CRI container config
 * (which the kubelet built from the pod spec), the sandbox it joins, the image config and the
 * resolved user. Secure defaults, as container runtimes apply them for Kubernetes:
 *
 * - the default capability set only (`capabilities.add/drop` on top; `privileged` gets all);
 * - `no_new_privs` unless the kubelet says privilege escalation is allowed;
 * - the `RuntimeDefault` seccomp profile unless the pod asks for `Unconfined` (or is privileged);
 * - masked and read-only `/proc` and `/sys` paths (unless `procMount: Unmasked` or privileged);
 * - a device cgroup denying everything but the standard pseudo-devices;
 * - new pid and mount namespaces; the pod's network, IPC and UTS namespaces joined by path (or
 *   none of a kind, sharing the node's, for `hostNetwork`, `hostPID` and `hostIPC` pods).
 *
 * Limits: `limits.memory` (swap disabled when the kernel accounts it), CFS quota from
 * `limits.cpu`, shares from `requests.cpu`, and the node's per-container pids limit, all as
 * cgroup v1 values (crun converts them on cgroup v2).
 * @module
 */
import type { ContainerConfig, LinuxContainerSecurityContext } from "./container_config.ts";
import { type ImageRunConfig, mergeEnv, processArgs } from "./image_config.ts";
import { defaultSeccompProfile, type SeccompProfile } from "./seccomp.ts";
import type { ResolvedUser } from "./user.ts";

/** Annotations crun interprets (`run.oci.*`): never taken from a container config. Pure. */
export function isRuntimeAnnotation(key: string): boolean {
  return key.startsWith("run.oci.");
}

/** The capabilities containers get by default (containerd's and Docker's set). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** Every capability of Linux 5.9+ (CAP_LAST_CAP = CAP_CHECKPOINT_RESTORE). */
export const ALL_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
  "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
  "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
  "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

/** Paths hidden from containers (bind-mounted over with /dev/null or an empty tmpfs). */
export const MASKED_PATHS: readonly string[] = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

/** Paths containers may read but not write. */
export const READONLY_PATHS: readonly string[] = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** `NET_ADMIN` or `CAP_NET_ADMIN` → `CAP_NET_ADMIN`; `ALL` stays. */
export function capName(c: string): string {
  const up = c.toUpperCase();
  return up === "ALL" || up.startsWith("CAP_") ? up : `CAP_${up}`;
}

/** The effective capability set for a securityContext. */
export function effectiveCapabilities(sc: LinuxContainerSecurityContext): string[] {
  if (sc.privileged) return [...ALL_CAPABILITIES];
  const add = (sc.capabilities?.addCapabilities ?? []).map(capName);
  const drop = (sc.capabilities?.dropCapabilities ?? []).map(capName);
  let caps = new Set(add.includes("ALL") ? ALL_CAPABILITIES : DEFAULT_CAPABILITIES);
  if (drop.includes("ALL")) caps = new Set();
  else for (const d of drop) caps.delete(d);
  for (const a of add) if (a !== "ALL") caps.add(a);
  if (add.includes("ALL") && !drop.includes("ALL")) for (const c of ALL_CAPABILITIES) caps.add(c);
  return ALL_CAPABILITIES.filter((c) => caps.has(c)).concat([...caps].filter((c) => !ALL_CAPABILITIES.includes(c)));
}

/** The pod-level things a container joins. */
export interface SandboxView {
  /** `/run/netns/<name>` of the pod (ignored with `host.network`). */
  netnsPath: string;
  /**
   * The node's namespaces the pod uses (`hostNetwork`, which also means the node's UTS
   * namespace; `hostPID`; `hostIPC`): the container gets no namespace of that kind.
   */
  host?: { network?: boolean; pid?: boolean; ipc?: boolean };
  /** Bind-mounted IPC and UTS namespaces of the pod (absent: a new one per container). */
  ipcPath?: string;
  utsPath?: string;
  /** Hostname, when the UTS namespace is the container's own. */
  hostname: string;
  /** Files the node manages for the pod. */
  etcHosts?: string;
  resolvConf?: string;
  etcHostname?: string;
  sysctls: Record<string, string>;
}

export interface SpecInputs {
  config: ContainerConfig;
  sandbox: SandboxView;
  image: ImageRunConfig;
  user: ResolvedUser;
  /** Absolute path of the container's root filesystem. */
  rootfs: string;
  cgroupsPath: string;
  /** Per-container pids limit (0 or absent: none). */
  pidsLimit?: number;
  /** Whether the kernel accounts swap (memory.memsw): then swap is turned off for limited containers. */
  swapAccounting?: boolean;
  /** A host file bind-mounted at the container's termination message path. */
  terminationMessageFile?: string;
  /** A seccomp profile for `Localhost` references, already loaded. */
  localhostSeccomp?: SeccompProfile;
}

/** A container that cannot be configured (CreateContainerError). */
export class SpecError extends Error {
  override name = "SpecError";
}

// deno-lint-ignore no-explicit-any
type Json = any;

function depth(p: string): number {
  return p.split("/").filter(Boolean).length;
}

/** Builds `config.json`. Throws {@linkcode SpecError} for a container that cannot run. */
export function ociSpec(i: SpecInputs): Json {
  const c = i.config;
  const sc = c.linux?.securityContext ?? {};
  const res = c.linux?.resources ?? {};
  const privileged = sc.privileged === true;
  const args = processArgs(i.image, c.command, c.args);
  if (args.length === 0) throw new SpecError("no command specified: the image has no Entrypoint or Cmd");
  const env = mergeEnv(i.image.Env, c.envs);
  if (!env.some((e) => e.startsWith("PATH="))) env.unshift(DEFAULT_PATH);
  if (!env.some((e) => e.startsWith("HOSTNAME="))) env.push(`HOSTNAME=${i.sandbox.hostname}`);
  if (c.tty && !env.some((e) => e.startsWith("TERM="))) env.push("TERM=xterm");
  const cwd = c.workingDir || i.image.WorkingDir || "/";
  if (!cwd.startsWith("/")) throw new SpecError(`the working directory "${cwd}" is not absolute`);
  const caps = effectiveCapabilities(sc);
  let seccomp: SeccompProfile | undefined;
  const profile = sc.seccomp?.profileType ?? "RuntimeDefault";
  if (!privileged && profile === "RuntimeDefault") seccomp = defaultSeccompProfile(caps);
  else if (!privileged && profile === "Localhost") {
    if (!i.localhostSeccomp) throw new SpecError(`the seccomp profile "${sc.seccomp?.localhostRef}" is not loaded`);
    seccomp = i.localhostSeccomp;
  }

  const mounts: Json[] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    privileged
      ? { destination: "/dev", type: "bind", source: "/dev", options: ["rbind", "rw", "nosuid"] }
      : { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", privileged ? "rw" : "ro"] },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", privileged ? "rw" : "ro"],
    },
  ];
  const managed: [string, string | undefined][] = [
    ["/etc/hosts", i.sandbox.etcHosts],
    ["/etc/hostname", i.sandbox.etcHostname],
    ["/etc/resolv.conf", i.sandbox.resolvConf],
  ];
  const userPaths = new Set(c.mounts.map((m) => m.containerPath));
  for (const [dest, src] of managed) {
    if (src && !userPaths.has(dest)) {
      mounts.push({ destination: dest, type: "bind", source: src, options: ["rbind", "rprivate", "rw", "nosuid", "nodev"] });
    }
  }
  const termPath = c.annotations["io.kubernetes.container.terminationMessagePath"];
  if (i.terminationMessageFile && termPath?.startsWith("/") && !userPaths.has(termPath)) {
    mounts.push({ destination: termPath, type: "bind", source: i.terminationMessageFile, options: ["rbind", "rprivate", "rw"] });
  }
  // Volumes, parents before children (a mount under another volume must come after it).
  const volumes = [...c.mounts].sort((a, b) => depth(a.containerPath) - depth(b.containerPath));
  for (const m of volumes) {
    if (!m.containerPath.startsWith("/")) throw new SpecError(`the mount path "${m.containerPath}" is not absolute`);
    mounts.push({
      destination: m.containerPath,
      type: "bind",
      source: m.hostPath,
      options: ["rbind", "rprivate", m.readonly ? "ro" : "rw"],
    });
  }

  const host = i.sandbox.host ?? {};
  for (const name of Object.keys(i.sandbox.sysctls)) {
    const ns = name.startsWith("net.") ? "network" : /^(kernel\.(shm|msg|sem)|fs\.mqueue\.)/.test(name) ? "ipc" : "";
    if ((ns === "network" && host.network) || (ns === "ipc" && host.ipc)) {
      throw new SpecError(`the sysctl "${name}" is not allowed with the node's ${ns} namespace (host${ns === "ipc" ? "IPC" : "Network"})`);
    }
  }
  const namespaces: Json[] = [
    ...(host.pid ? [] : [{ type: "pid" }]),
    { type: "mount" },
    ...(host.network ? [] : [{ type: "network", path: i.sandbox.netnsPath }]),
    ...(host.ipc ? [] : [i.sandbox.ipcPath ? { type: "ipc", path: i.sandbox.ipcPath } : { type: "ipc" }]),
    ...(host.network ? [] : [i.sandbox.utsPath ? { type: "uts", path: i.sandbox.utsPath } : { type: "uts" }]),
  ];
  const resources: Json = {
    devices: privileged ? [{ allow: true, access: "rwm" }] : [
      { allow: false, access: "rwm" },
      ...[[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 1], [5, 2]].map(([major, minor]) => ({
        allow: true,
        type: "c",
        major,
        minor,
        access: "rwm",
      })),
      { allow: true, type: "c", major: 136, access: "rwm" }, // /dev/pts/*
    ],
  };
  if (res.memoryLimitInBytes) {
    resources.memory = { limit: res.memoryLimitInBytes };
    if (i.swapAccounting) resources.memory.swap = res.memoryLimitInBytes;
  }
  if (res.cpuShares || res.cpuQuota) {
    resources.cpu = {
      ...(res.cpuShares ? { shares: res.cpuShares } : {}),
      ...(res.cpuQuota ? { quota: res.cpuQuota, period: res.cpuPeriod ?? 100_000 } : {}),
    };
  }
  if (i.pidsLimit && i.pidsLimit > 0) resources.pids = { limit: i.pidsLimit };

  const unmasked = privileged || sc.unmaskedProc === true;
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: c.tty,
      user: { uid: i.user.uid, gid: i.user.gid, ...(i.user.additionalGids.length ? { additionalGids: i.user.additionalGids } : {}) },
      args,
      env,
      cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      noNewPrivileges: sc.noNewPrivs ?? !privileged,
    },
    root: { path: i.rootfs, readonly: sc.readonlyRootfs === true },
    ...(i.sandbox.utsPath || host.network ? {} : { hostname: i.sandbox.hostname }),
    mounts,
    // crun acts on `run.oci.*` annotations (a raw seccomp filter among them): none from the config.
    annotations: Object.fromEntries(Object.entries(c.annotations ?? {}).filter(([k]) => !isRuntimeAnnotation(k))),
    linux: {
      cgroupsPath: i.cgroupsPath,
      namespaces,
      resources,
      ...(Object.keys(i.sandbox.sysctls).length ? { sysctl: { ...i.sandbox.sysctls } } : {}),
      ...(seccomp ? { seccomp } : {}),
      ...(unmasked ? {} : { maskedPaths: [...MASKED_PATHS], readonlyPaths: [...READONLY_PATHS] }),
      rootfsPropagation: "rprivate",
    },
  };
}
