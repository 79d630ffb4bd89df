/**
 * The OCI runtime's records of pod sandboxes and containers (kept on disk, so a restarted agent
 * knows them) and their CRI views. Pure.
 * @module
 */
import type { ContainerStatus, LinuxPodSandboxConfig, PodSandbox, PodSandboxStatus } from "../api.ts";
import {
  containerMatches,
  containerOf,
  type ContainerRecordBase,
  containerStatusOf as baseContainerStatus,
  sandboxMatches,
  sandboxOf as baseSandbox,
  type SandboxRecordBase,
  sandboxStatusOf as baseSandboxStatus,
} from "../records.ts";

export { containerMatches, containerOf, sandboxMatches };

export const RUNTIME_NAME = "crun";
export const HANDLER = "oci";

/** A pod sandbox: a network namespace with the pod's address, and its IPC and UTS namespaces. */
export interface SandboxRecord extends SandboxRecordBase {
  /** The network namespace's name (`/run/netns/<netns>`). */
  netns: string;
  hostname: string;
  /** The sandbox's directory (hosts, resolv.conf, namespace files). */
  dir: string;
  linux?: LinuxPodSandboxConfig;
  runtimeHandler: string;
}

/** A container and where it is in its life. */
export interface ContainerRecord extends ContainerRecordBase {
  /** The image's ID (config digest), for image garbage collection. */
  imageId: string;
  /** The signal that asks it to stop (the image's StopSignal, or SIGTERM). */
  stopSignal: string;
  stdin: boolean;
  tty: boolean;
  /** The cgroup path (for OOM checks and cleanup). */
  cgroupsPath: string;
}

export function sandboxStatusOf(s: SandboxRecord): PodSandboxStatus {
  return baseSandboxStatus(s, s.runtimeHandler);
}

export function sandboxOf(s: SandboxRecord): PodSandbox {
  return baseSandbox(s, s.runtimeHandler);
}

export function containerStatusOf(c: ContainerRecord): ContainerStatus {
  return baseContainerStatus(c, RUNTIME_NAME);
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
