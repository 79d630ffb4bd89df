/**
 * The `crun` runtime plugin's records: the WIT records it receives (jco's camelCase), the
 * records it keeps in its state store, and the WIT statuses it answers. Pure.
 * @module
 */
// ---------------------------------------------------------------------------------------------
// Types of the WIT records (jco's camelCase).

export interface KeyValue {
  key: string;
  value: string;
}
export interface Metadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}
export interface SandboxConfig {
  metadata: Metadata;
  hostname: string;
  logDirectory: string;
  labels: KeyValue[];
  annotations: KeyValue[];
  netns: string;
  ip?: string;
  podDir: string;
  linux: string;
}
export interface Mount {
  containerPath: string;
  hostPath: string;
  readonly: boolean;
}
export interface ContainerConfig {
  name: string;
  attempt: number;
  image: string;
  command: string[];
  args: string[];
  workingDir: string;
  envs: KeyValue[];
  mounts: Mount[];
  labels: KeyValue[];
  annotations: KeyValue[];
  logPath: string;
  linux: string;
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
}
export interface ContainerExit {
  exitCode: number;
  oomKilled: boolean;
  finishedAt: number;
  message: string;
}

export interface SandboxRecord {
  id: string;
  metadata: Metadata;
  ready: boolean;
  createdAt: number;
  netns: string;
  ip?: string;
  podDir: string;
  hostname: string;
  logDirectory: string;
  labels: KeyValue[];
  annotations: KeyValue[];
  // deno-lint-ignore no-explicit-any
  linux: any;
  runtimeHandler: string;
}

export type State = "container-created" | "container-running" | "container-exited" | "container-unknown";

export interface ContainerRecord {
  id: string;
  podSandboxId: string;
  name: string;
  attempt: number;
  image: string;
  imageRef: string;
  state: State;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  reason: string;
  message: string;
  logPath: string;
  labels: KeyValue[];
  annotations: KeyValue[];
  mounts: Mount[];
  stopSignal: string;
  stdin: boolean;
  tty: boolean;
  /**
   * Its config.json has no poststart hooks, so the node's `write-exec-fifo` may start it instead
   * of `crun start` (set at create; absent from an older plugin's records: `crun start`).
   */
  startByFifo?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Views.

export function sandboxStatus(s: SandboxRecord) {
  return {
    id: s.id,
    metadata: s.metadata,
    state: s.ready ? "sandbox-ready" : "sandbox-notready",
    createdAt: Number(s.createdAt),
    ip: s.ip,
    labels: s.labels,
    annotations: s.annotations,
    netns: s.netns,
    podDir: s.podDir,
    logDirectory: s.logDirectory,
    runtimeHandler: s.runtimeHandler,
  };
}

export function containerStatus(c: ContainerRecord) {
  return {
    id: c.id,
    name: c.name,
    attempt: c.attempt,
    state: c.state,
    createdAt: Number(c.createdAt),
    startedAt: Number(c.startedAt),
    finishedAt: Number(c.finishedAt),
    exitCode: c.exitCode,
    image: c.image,
    imageRef: c.imageRef,
    reason: c.reason,
    message: c.message,
    logPath: c.logPath,
    podSandboxId: c.podSandboxId,
    labels: c.labels,
    annotations: c.annotations,
    mounts: c.mounts,
    stdin: c.stdin,
    tty: c.tty,
  };
}
