/**
 * The Node a real Skiff node registers and the status it posts, pure: capacity and allocatable
 * (allocatable = capacity minus the kubelet's default hard-eviction thresholds: 100Mi memory, 10%
 * of ephemeral storage), the four conditions, addresses, `daemonEndpoints`, `nodeInfo` and
 * `runtimeHandlers`.
 *
 * @example
 * ```ts
 * const status = nodeStatus({ ...facts, now: Date.now() }, previous);
 * ```
 * @module
 */
import type { NodeCondition, NodeStatus } from "kubernetes-types/core/v1.d.ts";
import type { KubeObject } from "../../control/api/types.ts";
import type { MachineInfo } from "./machine.ts";

export const KUBELET_VERSION = "v1.32.0-skiff";
const MEMORY_EVICTION_BYTES = 100 * 1024 * 1024;

/** What the node status is computed from. */
export interface NodeFacts {
  name: string;
  machine: MachineInfo;
  /** InternalIP: where the API server reaches the agent's endpoint. */
  address: string;
  port: number;
  /** `status.capacity.pods`. */
  maxPods: number;
  runtimeHandlers: string[];
  /** `<name>://<version>` of the runtime, e.g. `wasm://0.1.0`. */
  runtimeVersion: string;
  memoryAvailableBytes: number;
  diskFreeBytes: number;
  pidsFree: number;
  /** Why the node is not ready (network or runtime down), or undefined when it is. */
  notReadyReason?: string;
  /** Conditions the runtime reports besides the kubelet's four (e.g. `OCIRuntimeUnavailable`). */
  extraConditions?: { type: string; status: "True" | "False"; reason: string; message: string }[];
  now: number;
}

function timestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** The node's labels as the kubelet sets them. */
export function nodeLabels(name: string, arch: string): Record<string, string> {
  return {
    "kubernetes.io/hostname": name,
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": arch,
    "beta.kubernetes.io/os": "linux",
    "beta.kubernetes.io/arch": arch,
  };
}

function conditions(f: NodeFacts, previous: NodeCondition[] = []): NodeCondition[] {
  const now = timestamp(f.now);
  const c = (type: string, on: boolean, reason: string, message: string): NodeCondition => {
    const status = on ? "True" : "False";
    const prev = previous.find((p) => p.type === type);
    return {
      type,
      status,
      lastHeartbeatTime: now,
      lastTransitionTime: prev && prev.status === status && prev.lastTransitionTime
        ? prev.lastTransitionTime
        : now,
      reason,
      message,
    };
  };
  const memPressure = f.memoryAvailableBytes < MEMORY_EVICTION_BYTES;
  const diskPressure = f.machine.diskBytes > 0 && f.diskFreeBytes < f.machine.diskBytes * 0.1;
  const pidPressure = f.pidsFree < 1000;
  return [
    memPressure
      ? c("MemoryPressure", true, "KubeletHasInsufficientMemory", "kubelet has insufficient memory available")
      : c("MemoryPressure", false, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    diskPressure
      ? c("DiskPressure", true, "KubeletHasDiskPressure", "kubelet has disk pressure")
      : c("DiskPressure", false, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    pidPressure
      ? c("PIDPressure", true, "KubeletHasInsufficientPID", "kubelet has insufficient PID available")
      : c("PIDPressure", false, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    f.notReadyReason
      ? c("Ready", false, "KubeletNotReady", f.notReadyReason)
      : c("Ready", true, "KubeletReady", "kubelet is posting ready status"),
    ...(f.extraConditions ?? []).map((x) => c(x.type, x.status === "True", x.reason, x.message)),
  ];
}

/** The status to post. `previous` keeps condition transition times stable. */
export function nodeStatus(f: NodeFacts, previous?: NodeStatus): NodeStatus {
  const m = f.machine;
  const capacity = {
    cpu: String(m.cpus),
    memory: `${Math.floor(m.memoryBytes / 1024)}Ki`,
    pods: String(f.maxPods),
    "ephemeral-storage": `${Math.floor(m.diskBytes / 1024)}Ki`,
  };
  const allocatable = {
    cpu: capacity.cpu,
    memory: `${Math.max(0, Math.floor((m.memoryBytes - MEMORY_EVICTION_BYTES) / 1024))}Ki`,
    pods: capacity.pods,
    "ephemeral-storage": String(Math.floor(m.diskBytes * 0.9)),
  };
  const features = { recursiveReadOnlyMounts: false, userNamespaces: false };
  return {
    capacity,
    allocatable,
    conditions: conditions(f, previous?.conditions),
    addresses: [{ type: "InternalIP", address: f.address }, { type: "Hostname", address: f.name }],
    daemonEndpoints: { kubeletEndpoint: { Port: f.port } },
    nodeInfo: {
      machineID: m.machineID,
      systemUUID: m.machineID,
      bootID: m.bootID,
      kernelVersion: m.kernelVersion,
      osImage: m.osImage,
      containerRuntimeVersion: f.runtimeVersion,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: "",
      operatingSystem: "linux",
      architecture: m.architecture,
    },
    runtimeHandlers: f.runtimeHandlers.map((name) => ({ name, features })),
  } as NodeStatus;
}

/** Whether two statuses differ in anything but heartbeat times. */
export function nodeStatusChanged(a: NodeStatus | undefined, b: NodeStatus): boolean {
  const strip = (s: NodeStatus | undefined) =>
    JSON.stringify({
      ...s,
      conditions: (s?.conditions ?? []).map((c) => ({ ...c, lastHeartbeatTime: undefined })),
    });
  return strip(a) !== strip(b);
}

/** A new Node object for `f`. */
export function nodeObject(f: NodeFacts): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: f.name,
      labels: nodeLabels(f.name, f.machine.architecture),
      annotations: { "node.alpha.kubernetes.io/ttl": "0" },
    },
    spec: {},
    status: nodeStatus(f),
  };
}
