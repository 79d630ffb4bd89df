/**
 * The runtime interface the node agent drives, shaped like the Kubernetes CRI
 * (`k8s.io/cri-api` `RuntimeService` and `ImageService`): pod sandboxes, containers and images,
 * each verb idempotent. Runtimes (Wasm now, OCI containers later) implement it; the pod workers
 * know nothing else about them.
 *
 * Differences from CRI, on purpose:
 * - Times are milliseconds since the epoch (CRI: nanoseconds).
 * - `ContainerConfig.ports` carries the container's declared ports: a Wasm HTTP component does
 *   not open sockets itself, the runtime serves it on these ports of the pod IP.
 * - `ContainerConfig.probeSupport`-style questions are answered by {@linkcode RuntimeService.capabilities}.
 * - `events()` is CRI's `GetContainerEvents`: the runtime pushes state changes, so the agent
 *   never polls per pod.
 * @module
 */
import type {
  ContainerConfig,
  ContainerMetadata,
  ImageSpec,
  Mount,
} from "../../plugins/runtime/oci/container_config.ts";

/** Labels the agent puts on sandboxes and containers (the kubelet's, verbatim). */
export const LABEL_POD_NAME = "io.kubernetes.pod.name";
export const LABEL_POD_NAMESPACE = "io.kubernetes.pod.namespace";
export const LABEL_POD_UID = "io.kubernetes.pod.uid";
export const LABEL_CONTAINER_NAME = "io.kubernetes.container.name";
/** Annotations the agent puts on containers (the kubelet's). */
export const ANNOTATION_CONTAINER_HASH = "io.kubernetes.container.hash";
export const ANNOTATION_RESTART_COUNT = "io.kubernetes.container.restartCount";
export const ANNOTATION_INIT_CONTAINER = "skiff.dev/init-container";

export interface PodSandboxMetadata {
  name: string;
  namespace: string;
  uid: string;
  attempt: number;
}

export interface PortMapping {
  protocol: "TCP" | "UDP" | "SCTP";
  containerPort: number;
  hostPort?: number;
  hostIp?: string;
}

/** CRI `LinuxSandboxSecurityContext` (the subset used). */
/** CRI `NamespaceMode`: the pod's namespace, one per container, or the node's. */
export type NamespaceMode = "POD" | "CONTAINER" | "NODE";

/** CRI `NamespaceOption` (`hostNetwork`, `hostPID` / `shareProcessNamespace`, `hostIPC`). */
export interface NamespaceOption {
  network?: NamespaceMode;
  pid?: NamespaceMode;
  ipc?: NamespaceMode;
}

export interface LinuxSandboxSecurityContext {
  namespaceOptions?: NamespaceOption;
  runAsUser?: number;
  runAsGroup?: number;
  supplementalGroups?: number[];
  readonlyRootfs?: boolean;
  privileged?: boolean;
}

/** CRI `LinuxPodSandboxConfig`. */
export interface LinuxPodSandboxConfig {
  /** Namespaced sysctls of the pod (`spec.securityContext.sysctls`). */
  sysctls: Record<string, string>;
  securityContext?: LinuxSandboxSecurityContext;
}

/** CRI's `DNSConfig`: the sandbox's resolv.conf (servers, search domains, options). */
export interface DnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  /** The pod's DNS configuration (kubelet `GetPodDNS`, node/dns/pod_dns.ts). */
  dnsConfig?: DnsConfig;
  hostname: string;
  /** Directory the containers' `logPath`s are relative to (`<data-dir>/pods/<ns>_<name>_<uid>`). */
  logDirectory: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  portMappings: PortMapping[];
  /** Memory limit for the whole sandbox, bytes (sum of container limits), when every container has one. */
  memoryLimitBytes?: number;
  /** Linux settings (runtimes that run Linux processes use them; the Wasm runtime ignores them). */
  linux?: LinuxPodSandboxConfig;
}

export type PodSandboxState = "SANDBOX_READY" | "SANDBOX_NOTREADY";

export interface PodSandboxNetworkStatus {
  ip: string;
  additionalIps: string[];
}

export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  createdAt: number;
  network?: PodSandboxNetworkStatus;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
}

export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  createdAt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
}

/** CRI's container messages live with the runtime plugin kind (the `crun` component bundles them). */
export type {
  ContainerMetadata,
  ImageSpec,
  KeyValue,
  Mount,
  ContainerPort,
  ContainerResources,
  LinuxContainerResources,
  SecurityProfile,
  LinuxContainerSecurityContext,
  LinuxContainerConfig,
  ContainerConfig,
} from "../../plugins/runtime/oci/container_config.ts";

export type ContainerState =
  | "CONTAINER_CREATED"
  | "CONTAINER_RUNNING"
  | "CONTAINER_EXITED"
  | "CONTAINER_UNKNOWN";

export interface ContainerStatus {
  id: string;
  metadata: ContainerMetadata;
  state: ContainerState;
  createdAt: number;
  /** 0 when not started. */
  startedAt: number;
  /** 0 when not finished. */
  finishedAt: number;
  exitCode: number;
  image: ImageSpec;
  imageRef: string;
  /** `Completed`, `Error`, `OOMKilled`, ... for exited containers. */
  reason: string;
  message: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  mounts: Mount[];
  /** Absolute path of the log file. */
  logPath: string;
  /**
   * The runtime that runs it, as the scheme of `containerID` (`wasm`, `crun`); set by nodes with
   * several runtimes, otherwise the node's first handler is used.
   */
  runtimeName?: string;
}

export interface Container {
  id: string;
  podSandboxId: string;
  metadata: ContainerMetadata;
  image: ImageSpec;
  imageRef: string;
  state: ContainerState;
  createdAt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ContainerFilter {
  id?: string;
  podSandboxId?: string;
  state?: ContainerState;
  labelSelector?: Record<string, string>;
}

export interface PodSandboxFilter {
  id?: string;
  state?: PodSandboxState;
  labelSelector?: Record<string, string>;
}

/** A state change the runtime reports (CRI `ContainerEventResponse`). */
export interface ContainerEvent {
  containerId: string;
  type:
    | "CONTAINER_CREATED_EVENT"
    | "CONTAINER_STARTED_EVENT"
    | "CONTAINER_STOPPED_EVENT"
    | "CONTAINER_DELETED_EVENT";
  podSandboxId: string;
  /** The pod's UID (from the sandbox metadata), so the agent can route the event. */
  podUid: string;
  createdAt: number;
}

/** A sandbox made by `runPodSandboxDeferred`: its id, and the setting up of its network. */
export interface DeferredSandbox {
  id: string;
  networkReady: Promise<void>;
}

/** What a runtime can do beyond the CRI baseline; the agent rejects pods needing the rest. */
export interface RuntimeCapabilities {
  /** `exec` probes and `kubectl exec`. */
  exec: boolean;
  /** Whether the runtime serves ports itself (Wasm HTTP) rather than the guest opening sockets. */
  servesPorts: boolean;
}

/** What an exec runs (CRI `ExecRequest`). */
export interface ExecRequest {
  cmd: string[];
  tty: boolean;
  stdin: boolean;
}

/**
 * A running exec or attach session (CRI's streaming server, as objects instead of URLs): the
 * caller pumps `output` (stdout and stderr, or the terminal), feeds `write`, resizes the terminal
 * and waits for `exited`.
 */
export interface StreamSession {
  /** Output chunks tagged with their stream; ends when the process (or the attach) ends. */
  output: ReadableStream<{ stream: "stdout" | "stderr"; data: Uint8Array }>;
  /** Writes to the process's stdin (ignored without stdin). */
  write(data: Uint8Array): Promise<void>;
  /** Closes stdin. */
  closeStdin(): Promise<void>;
  /** Sets the terminal size (ignored without a TTY). */
  resize(cols: number, rows: number): void;
  /** The exit code (exec), or 0 when an attach ends. */
  exited: Promise<number>;
  /** Ends the session (kills an exec's process). */
  close(): Promise<void>;
}

/** A runtime error with a kubelet reason (`CreateContainerError`, `RunContainerError`, ...). */
export class RuntimeError extends Error {
  override name = "RuntimeError";
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

/** Errors from `pullImage`: the kubelet maps them to `ErrImagePull`. */
export class ImagePullError extends Error {
  override name = "ImagePullError";
}

/** CRI RuntimeService. Every verb is idempotent (stopping a stopped thing succeeds). */
export interface RuntimeService {
  version(): Promise<{ runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }>;
  capabilities(): RuntimeCapabilities;

  runPodSandbox(config: PodSandboxConfig, runtimeHandler: string): Promise<string>;
  /**
   * Optional: RunPodSandbox that answers before the sandbox's network is set up, so that the
   * caller can create the pod's containers while the network Plugin's ADD runs (upstream's
   * RunPodSandbox returns after the network; docs/containers.md, "The start-up path"). It
   * resolves once containers can be created in the sandbox; `networkReady` settles when the
   * network is set up (the pod's IP in the sandbox's status): no container of the sandbox may be
   * started before it resolves. When it rejects (with the `CreatePodSandboxError` RunPodSandbox
   * would have thrown), the caller removes the sandbox, and the containers created in it with it.
   */
  runPodSandboxDeferred?(config: PodSandboxConfig, runtimeHandler: string): Promise<DeferredSandbox>;
  stopPodSandbox(podSandboxId: string): Promise<void>;
  removePodSandbox(podSandboxId: string): Promise<void>;
  podSandboxStatus(podSandboxId: string): Promise<PodSandboxStatus | null>;
  listPodSandbox(filter?: PodSandboxFilter): Promise<PodSandbox[]>;

  createContainer(
    podSandboxId: string,
    config: ContainerConfig,
    sandboxConfig: PodSandboxConfig,
  ): Promise<string>;
  startContainer(containerId: string): Promise<void>;
  /** Stops gracefully, killing after `timeoutSeconds`. */
  stopContainer(containerId: string, timeoutSeconds: number): Promise<void>;
  removeContainer(containerId: string): Promise<void>;
  containerStatus(containerId: string): Promise<ContainerStatus | null>;
  listContainers(filter?: ContainerFilter): Promise<Container[]>;
  /**
   * Optional: the statuses of every sandbox of pod `uid` and of the containers in them, at once:
   * what the kubelet otherwise gathers with ListPodSandbox + PodSandboxStatus + ListContainers +
   * ContainerStatus (upstream's evented PLEG gets the same bundle: CRI's ContainerEventResponse
   * carries the pod's `pod_sandbox_status` and `containers_statuses`, KEP-3386). A runtime whose
   * calls cross a process boundary (a runtime Plugin) answers it in fewer calls.
   */
  podStatus?(uid: string): Promise<{ sandboxes: PodSandboxStatus[]; containers: ContainerStatus[] }>;

  /** Subscribes to container events; returns an unsubscribe function. */
  events(handler: (event: ContainerEvent) => void): () => void;

  /** Runs a command in a container and collects its output (exec probes). Runtimes without exec omit it. */
  execSync?(
    containerId: string,
    cmd: string[],
    timeoutMs: number,
  ): Promise<{ exitCode: number; stdout: Uint8Array; stderr: Uint8Array }>;
  /** Starts an interactive exec (`kubectl exec`). */
  exec?(containerId: string, req: ExecRequest): Promise<StreamSession>;
  /** Attaches to a container's main process (`kubectl attach`). */
  attach?(containerId: string, opts: { stdin: boolean; tty: boolean }): Promise<StreamSession>;
  /** Opens a TCP connection to `port` inside the sandbox's network namespace (`kubectl port-forward`). */
  portForward?(podSandboxId: string, port: number): Promise<Deno.Conn>;
}

export interface Image {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
}

/** CRI ImageService. */
export interface ImageService {
  /**
   * Pulls (or finds in the cache) and returns the image reference (`name@sha256:...`).
   * `pullSecrets` are the decoded `.dockerconfigjson` documents of the pod's imagePullSecrets
   * (CRI passes an `AuthConfig`).
   */
  pullImage(image: ImageSpec, opts?: { pullSecrets?: unknown[]; signal?: AbortSignal }): Promise<string>;
  imageStatus(image: ImageSpec): Promise<Image | null>;
  listImages(): Promise<Image[]>;
  removeImage(image: ImageSpec): Promise<void>;
}
