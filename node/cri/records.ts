/**
 * What every runtime records of a pod sandbox and a container, with the CRI views and filters
 * built from those records. Each runtime extends the records with what only it needs
 * (oci/records.ts, wasm/records.ts). Pure.
 * @module
 */
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
} from "./api.ts";

/** A pod sandbox as every runtime records it. */
export interface SandboxRecordBase {
  id: string;
  metadata: PodSandboxMetadata;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  createdAt: number;
  state: PodSandboxState;
  ip?: string;
  logDirectory: string;
}

/** A container as every runtime records it. */
export interface ContainerRecordBase {
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
}

/** Whether `labels` hold every pair of `selector` (an absent selector matches everything). */
export function matches(labels: Record<string, string>, selector?: Record<string, string>): boolean {
  return !selector || Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export function sandboxMatches(s: SandboxRecordBase, f: PodSandboxFilter): boolean {
  return (!f.id || s.id === f.id) && (!f.state || s.state === f.state) && matches(s.labels, f.labelSelector);
}

export function containerMatches(c: ContainerRecordBase, f: ContainerFilter): boolean {
  return (!f.id || c.id === f.id) && (!f.podSandboxId || c.podSandboxId === f.podSandboxId) &&
    (!f.state || c.state === f.state) && matches(c.labels, f.labelSelector);
}

/**
 * The sandbox's CRI status. A stopped sandbox still reports the address it had (as CRI runtimes
 * do): a finished pod keeps showing its IP.
 */
export function sandboxStatusOf(s: SandboxRecordBase, runtimeHandler: string): PodSandboxStatus {
  return {
    id: s.id,
    metadata: s.metadata,
    state: s.state,
    createdAt: s.createdAt,
    network: s.ip ? { ip: s.ip, additionalIps: [] } : undefined,
    labels: s.labels,
    annotations: s.annotations,
    runtimeHandler,
  };
}

/** The sandbox as ListPodSandbox shows it. */
export function sandboxOf(s: SandboxRecordBase, runtimeHandler: string): PodSandbox {
  return {
    id: s.id,
    metadata: s.metadata,
    state: s.state,
    createdAt: s.createdAt,
    labels: s.labels,
    annotations: s.annotations,
    runtimeHandler,
  };
}

/** The container's CRI status; `runtimeName` names the low-level runtime when there is one. */
export function containerStatusOf(c: ContainerRecordBase, runtimeName?: string): ContainerStatus {
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
    ...(runtimeName ? { runtimeName } : {}),
  };
}

/** The container as ListContainers shows it. */
export function containerOf(c: ContainerRecordBase): Container {
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
