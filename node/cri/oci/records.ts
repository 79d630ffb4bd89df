/**
 * The OCI runtime's records of pod sandboxes and containers (kept on disk, so a restarted agent
 * knows them) and their CRI views. Pure.
 * @module
 */
import type {
  Container,
  ContainerFilter,
  ContainerMetadata,
  ContainerState,
  ContainerStatus,
  ImageSpec,
  LinuxPodSandboxConfig,
  Mount,
  PodSandbox,
  PodSandboxFilter,
  PodSandboxMetadata,
  PodSandboxState,
  PodSandboxStatus,
} from "../api.ts";

export const RUNTIME_NAME = "crun";
export const HANDLER = "oci";

/** A pod sandbox: a network namespace with the pod's address, and its IPC and UTS namespaces. */
export interface SandboxRecord {
  id: string;
  metadata: PodSandboxMetadata;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  createdAt: number;
  state: PodSandboxState;
  ip?: string;
  /** The network namespace's name (`/run/netns/<netns>`). */
  netns: string;
  hostname: string;
  /** The sandbox's directory (hosts, resolv.conf, namespace files). */
  dir: string;
  logDirectory: string;
  linux?: LinuxPodSandboxConfig;
  runtimeHandler: string;
}

/** A container and where it is in its life. */
export interface ContainerRecord {
  id: string;
  podSandboxId: string;
  metadata: ContainerMetadata;
  image: ImageSpec;
  imageRef: string;
  /** The image's ID (config digest), for image garbage collection. */
  imageId: string;
  state: ContainerState;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  reason: string;
  message: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  mounts: Mount[];
  logPath: string;
  /** The signal that asks it to stop (the image's StopSignal, or SIGTERM). */
  stopSignal: string;
  stdin: boolean;
  tty: boolean;
  /** The cgroup path (for OOM checks and cleanup). */
  cgroupsPath: string;
}

export function matches(labels: Record<string, string>, selector?: Record<string, string>): boolean {
  return !selector || Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export function sandboxMatches(s: SandboxRecord, f: PodSandboxFilter): boolean {
  return (!f.id || s.id === f.id) && (!f.state || s.state === f.state) && matches(s.labels, f.labelSelector);
}

export function containerMatches(c: ContainerRecord, f: ContainerFilter): boolean {
  return (!f.id || c.id === f.id) && (!f.podSandboxId || c.podSandboxId === f.podSandboxId) &&
    (!f.state || c.state === f.state) && matches(c.labels, f.labelSelector);
}

export function sandboxStatusOf(s: SandboxRecord): PodSandboxStatus {
  return {
    id: s.id,
    metadata: s.metadata,
    state: s.state,
    createdAt: s.createdAt,
    network: s.ip ? { ip: s.ip, additionalIps: [] } : undefined,
    labels: s.labels,
    annotations: s.annotations,
    runtimeHandler: s.runtimeHandler,
  };
}

export function sandboxOf(s: SandboxRecord): PodSandbox {
  return {
    id: s.id,
    metadata: s.metadata,
    state: s.state,
    createdAt: s.createdAt,
    labels: s.labels,
    annotations: s.annotations,
    runtimeHandler: s.runtimeHandler,
  };
}

export function containerStatusOf(c: ContainerRecord): ContainerStatus {
  return {
    id: c.id,
    metadata: c.metadata,
    state: c.state,
    createdAt: c.createdAt,
    startedAt: c.startedAt,
    finishedAt: c.finishedAt,
    exitCode: c.exitCode,
    image: c.image,
    imageRef: c.imageRef,
    reason: c.reason,
    message: c.message,
    labels: c.labels,
    annotations: c.annotations,
    mounts: c.mounts,
    logPath: c.logPath,
    runtimeName: RUNTIME_NAME,
  };
}

export function containerOf(c: ContainerRecord): Container {
  return {
    id: c.id,
    podSandboxId: c.podSandboxId,
    metadata: c.metadata,
    image: c.image,
    imageRef: c.imageRef,
    state: c.state,
    createdAt: c.createdAt,
    labels: c.labels,
    annotations: c.annotations,
  };
}

/** The terminated reason of an exit: `OOMKilled` when the kernel killed for memory, else as upstream. */
export function exitReason(exitCode: number, oomKilled: boolean): string {
  if (oomKilled) return "OOMKilled";
  return exitCode === 0 ? "Completed" : "Error";
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGTERM: 15,
  SIGWINCH: 28,
};

/** A StopSignal as crun takes it (`SIGTERM`, `TERM`, `15`); SIGTERM when unknown. */
export function normalizeSignal(s: string | undefined): string {
  if (!s) return "SIGTERM";
  const up = s.toUpperCase();
  if (/^\d+$/.test(up)) return Object.entries(SIGNALS).find(([, n]) => n === Number(up))?.[0] ?? "SIGTERM";
  const name = up.startsWith("SIG") ? up : `SIG${up}`;
  return SIGNALS[name] ? name : "SIGTERM";
}
