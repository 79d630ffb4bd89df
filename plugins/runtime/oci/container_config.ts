/**
 * CRI's `ContainerConfig` and the messages it is made of (`k8s.io/cri-api`, the subset used):
 * the vocabulary the kubelet and a runtime share. It lives with the runtime plugin kind because
 * the `crun` component bundles it (through spec.ts); node/cri/api.ts re-exports it. Types only.
 * @module
 */

export interface ContainerMetadata {
  name: string;
  attempt: number;
}

export interface ImageSpec {
  image: string;
  annotations?: Record<string, string>;
  runtimeHandler?: string;
}

export interface KeyValue {
  key: string;
  value: string;
}

export interface Mount {
  containerPath: string;
  hostPath: string;
  readonly: boolean;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol: "TCP" | "UDP" | "SCTP";
}

export interface ContainerResources {
  /** Memory limit in bytes (`limits.memory`). */
  memoryLimitInBytes?: number;
  /** CPU limit in millicores (`limits.cpu`). */
  cpuLimitMillis?: number;
}

/** CRI `LinuxContainerResources` (the subset used). */
export interface LinuxContainerResources {
  /** CFS period, µs (with `cpuQuota`). */
  cpuPeriod?: number;
  /** CFS quota, µs per period (`limits.cpu`). */
  cpuQuota?: number;
  /** Relative CPU weight (`requests.cpu`, 1024 per core, at least 2). */
  cpuShares?: number;
  memoryLimitInBytes?: number;
}

/** CRI `SecurityProfile` for seccomp. */
export interface SecurityProfile {
  profileType: "RuntimeDefault" | "Unconfined" | "Localhost";
  localhostRef?: string;
}

/** CRI `LinuxContainerSecurityContext` (the subset used), effective values (pod and container merged). */
export interface LinuxContainerSecurityContext {
  capabilities?: { addCapabilities: string[]; dropCapabilities: string[] };
  privileged?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  /** Refuse to run as uid 0 (the kubelet checks it against the image's user; here the runtime does). */
  runAsNonRoot?: boolean;
  readonlyRootfs?: boolean;
  supplementalGroups?: number[];
  noNewPrivs?: boolean;
  /** `procMount: Unmasked` clears the masked and read-only /proc paths. */
  unmaskedProc?: boolean;
  seccomp?: SecurityProfile;
}

/** CRI `LinuxContainerConfig`. */
export interface LinuxContainerConfig {
  resources: LinuxContainerResources;
  securityContext: LinuxContainerSecurityContext;
}

export interface ContainerConfig {
  metadata: ContainerMetadata;
  image: ImageSpec;
  command: string[];
  args: string[];
  workingDir: string;
  envs: KeyValue[];
  mounts: Mount[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Relative to the sandbox's `logDirectory`: `<container>/<attempt>.log`. */
  logPath: string;
  ports: ContainerPort[];
  resources: ContainerResources;
  stdin: boolean;
  /** Close stdin after the first attach ends (`stdinOnce`). */
  stdinOnce?: boolean;
  tty: boolean;
  /** Linux settings (see {@linkcode LinuxContainerConfig}); the Wasm runtime ignores them. */
  linux?: LinuxContainerConfig;
}
