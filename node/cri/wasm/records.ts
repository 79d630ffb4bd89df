/**
 * The Wasm runtime's records of pod sandboxes and containers (kept on disk by record_store.ts),
 * and their CRI views and filters. Pure.
 * @module
 */
import type { ContainerSpec } from "../../../wasm/host/spec.ts";
import type {
  Container,
  ContainerFilter,
  ContainerMetadata,
  ContainerState,
  ContainerStatus,
  ImageSpec,
  Mount,
  PodSandbox,
  PodSandboxFilter,
  PodSandboxMetadata,
  PodSandboxState,
  PodSandboxStatus,
} from "../api.ts";
import type { ContainerExit } from "../../../wasm/host/spec.ts";

export const RUNTIME_NAME = "wasm";
export const RUNTIME_VERSION = "0.1.0";

/** A pod sandbox: an address in its namespace's sandbox group. */
export interface SandboxRecord {
  id: string;
  metadata: PodSandboxMetadata;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  createdAt: number;
  state: PodSandboxState;
  ip?: string;
  group: string;
  logDirectory: string;
}

/** A container: its CRI state and the spec its sandbox runs. */
export interface ContainerRecord {
  id: string;
  podSandboxId: string;
  metadata: ContainerMetadata;
  image: ImageSpec;
  imageRef: string;
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
  spec: ContainerSpec;
}

export function matches(labels: Record<string, string>, selector?: Record<string, string>): boolean {
  return !selector || Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The terminated reason the kubelet sees. */
export function exitReason(exit: ContainerExit): string {
  // SandboxLost is ours; to the kubelet it is a plain failure.
  return exit.reason === "SandboxLost" ? "Error" : exit.reason;
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
    // A stopped sandbox still reports the address it had (as CRI runtimes do): a finished pod
    // keeps showing its IP.
    network: s.ip ? { ip: s.ip, additionalIps: [] } : undefined,
    labels: s.labels,
    annotations: s.annotations,
    runtimeHandler: RUNTIME_NAME,
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
    runtimeHandler: RUNTIME_NAME,
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
