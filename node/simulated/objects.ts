/**
 * The objects a simulated node writes, pure: its Node (capacity, conditions, addresses, runtime
 * handlers `wasm` and `oci`, podCIDR), its heartbeat Lease, and the status a kubelet would post for
 * a pod it started (Running and Ready, with container statuses and an IP from the node's podCIDR).
 * @module
 */
import { type Cidr, ipToString, nthAddress, parseCidr } from "../../control/api/cidr.ts";
import type { KubeObject } from "../../control/api/types.ts";

/**
 * The range simulated nodes take their /24 pod CIDRs from: loopback addresses, so nothing sent to a
 * simulated pod (a Service endpoint, a port-forward) can leave this machine. Real nodes take theirs
 * from 198.18.0.0/16 (the node IPAM controller), which this range never overlaps.
 */
export const POD_CIDR_POOL = "127.128.0.0/9";
/** The range their InternalIPs come from (one per /24 block, in the same order): loopback too. */
export const NODE_IP_POOL = "127.64.0.0/12";
/** The namespace of node heartbeat Leases. */
export const NODE_LEASE_NAMESPACE = "kube-node-lease";
/** Label put on every simulated node. */
export const SIMULATED_LABEL = "node.skiff.dev/simulated";

export interface NodeShape {
  cpu: string;
  memory: string;
  pods: number;
}

export const DEFAULT_SHAPE: NodeShape = { cpu: "32", memory: "256Gi", pods: 110 };

function timestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** A MicroTime (`2006-01-02T15:04:05.000000Z`). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Hands out /24 blocks of the pool, lowest free first. */
export class PodCidrAllocator {
  readonly #pool: Cidr;
  readonly #used = new Set<number>();

  constructor(pool = POD_CIDR_POOL) {
    this.#pool = parseCidr(pool);
    if (this.#pool.bits > 24) throw new RangeError(`pod CIDR pool ${pool} is smaller than a /24`);
  }

  /** The block index of a /24 inside the pool, or null when it is not one of ours. */
  indexOf(cidr: string): number | null {
    try {
      const c = parseCidr(cidr);
      if (c.bits !== 24) return null;
      const i = (c.base - this.#pool.base) / 256;
      return Number.isInteger(i) && i >= 0 && i < 2 ** (24 - this.#pool.bits) ? i : null;
    } catch {
      return null;
    }
  }

  /** Marks a CIDR taken (e.g. by an existing node). */
  reserve(cidr: string): void {
    const i = this.indexOf(cidr);
    if (i !== null) this.#used.add(i);
  }

  /** The next free /24. */
  allocate(): string {
    const size = 2 ** (24 - this.#pool.bits);
    for (let i = 0; i < size; i++) {
      if (this.#used.has(i)) continue;
      this.#used.add(i);
      return `${ipToString(this.#pool.base + i * 256)}/24`;
    }
    throw new RangeError("the pod CIDR pool is exhausted");
  }
}

/** The InternalIP of the node owning pod CIDR block `index`. */
export function nodeIPFor(index: number): string {
  return nthAddress(parseCidr(NODE_IP_POOL), index + 1);
}

/** The Ready/pressure conditions of a healthy kubelet. */
export function healthyConditions(
  nowMs: number,
  previous: { type: string; status: string; lastTransitionTime?: string }[] = [],
) {
  const now = timestamp(nowMs);
  const c = (type: string, status: string, reason: string, message: string) => {
    const prev = previous.find((p) => p.type === type);
    return {
      type,
      status,
      lastHeartbeatTime: now,
      lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime ?? now : now,
      reason,
      message,
    };
  };
  return [
    c("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    c("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    c("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    c("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
  ];
}

/** The node's status as its kubelet posts it. */
export function nodeStatus(
  name: string,
  nodeIP: string,
  shape: NodeShape,
  nowMs: number,
  previous?: KubeObject,
): Record<string, unknown> {
  const resources = {
    cpu: shape.cpu,
    memory: shape.memory,
    pods: String(shape.pods),
    "ephemeral-storage": "100Gi",
  };
  const features = { recursiveReadOnlyMounts: false, userNamespaces: false };
  return {
    capacity: resources,
    allocatable: resources,
    conditions: healthyConditions(nowMs, previous?.status?.conditions),
    addresses: [{ type: "InternalIP", address: nodeIP }, { type: "Hostname", address: name }],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: name,
      systemUUID: name,
      bootID: "",
      kernelVersion: "simulated",
      osImage: "Skiff simulated node",
      containerRuntimeVersion: "skiff-sim://0.1.0",
      kubeletVersion: "v1.32.0-skiff",
      kubeProxyVersion: "",
      operatingSystem: "linux",
      architecture: "amd64",
    },
    runtimeHandlers: [{ name: "wasm", features }, { name: "oci", features }],
  };
}

/** A new Node as a kubelet registers it. */
export function nodeObject(
  name: string,
  podCIDR: string,
  nodeIP: string,
  shape: NodeShape,
  nowMs: number,
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        [SIMULATED_LABEL]: "true",
      },
      annotations: { "node.alpha.kubernetes.io/ttl": "0" },
    },
    spec: { podCIDR, podCIDRs: [podCIDR] },
    status: nodeStatus(name, nodeIP, shape, nowMs),
  };
}

/** The node's heartbeat Lease, owned by the Node (so it goes with it). */
export function leaseObject(node: KubeObject, nowMs: number, durationSeconds = 40): KubeObject {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name: node.metadata.name,
      namespace: NODE_LEASE_NAMESPACE,
      ownerReferences: [{
        apiVersion: "v1",
        kind: "Node",
        name: node.metadata.name!,
        uid: node.metadata.uid!,
      }],
    },
    spec: {
      holderIdentity: node.metadata.name,
      leaseDurationSeconds: durationSeconds,
      renewTime: microTime(nowMs),
    },
  };
}

/** Hands out pod IPs of one node's /24 (.2 to .254; .1 is the node's bridge). */
export class PodIPAllocator {
  readonly #cidr: Cidr;
  readonly #used = new Set<number>();

  constructor(podCIDR: string) {
    this.#cidr = parseCidr(podCIDR);
  }

  reserve(ip: string): void {
    const parts = ip.split(".");
    const base = ipToString(this.#cidr.base).split(".");
    if (parts.slice(0, 3).join(".") === base.slice(0, 3).join(".")) this.#used.add(Number(parts[3]));
  }

  release(ip: string): void {
    const parts = ip.split(".");
    const base = ipToString(this.#cidr.base).split(".");
    if (parts.slice(0, 3).join(".") === base.slice(0, 3).join(".")) this.#used.delete(Number(parts[3]));
  }

  /** The lowest free address, or null when the node's range is full. */
  allocate(): string | null {
    for (let i = 2; i < 255; i++) {
      if (this.#used.has(i)) continue;
      this.#used.add(i);
      return nthAddress(this.#cidr, i);
    }
    return null;
  }
}

function setCondition(list: Record<string, unknown>[], type: string, now: string) {
  const i = list.findIndex((c) => c.type === type);
  const prev = i >= 0 ? list[i] : undefined;
  const next = {
    type,
    status: "True",
    lastProbeTime: null,
    lastTransitionTime: prev?.status === "True" ? prev.lastTransitionTime : now,
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
}

/** The status a kubelet posts once it has started every container of the pod. */
export function runningPodStatus(
  pod: KubeObject,
  podIP: string,
  hostIP: string,
  nowMs: number,
): Record<string, unknown> {
  const now = timestamp(nowMs);
  const ip = pod.spec?.hostNetwork ? hostIP : podIP;
  const conditions = [...(pod.status?.conditions ?? [])] as Record<string, unknown>[];
  for (
    const type of ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
  ) {
    setCondition(conditions, type, now);
  }
  const id = (name: string) => `skiff-sim://${pod.metadata.uid ?? pod.metadata.name}-${name}`;
  const containerStatuses = (pod.spec?.containers ?? []).map((c: { name: string; image?: string }) => ({
    name: c.name,
    image: c.image ?? "",
    imageID: "",
    containerID: id(c.name),
    ready: true,
    started: true,
    restartCount: 0,
    state: { running: { startedAt: now } },
    lastState: {},
  }));
  const initContainerStatuses = (pod.spec?.initContainers ?? []).map((
    c: { name: string; image?: string },
  ) => ({
    name: c.name,
    image: c.image ?? "",
    imageID: "",
    containerID: id(c.name),
    ready: true,
    started: false,
    restartCount: 0,
    state: {
      terminated: {
        exitCode: 0,
        reason: "Completed",
        startedAt: now,
        finishedAt: now,
        containerID: id(c.name),
      },
    },
    lastState: {},
  }));
  return {
    ...pod.status,
    phase: "Running",
    conditions,
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP: ip,
    podIPs: [{ ip }],
    startTime: pod.status?.startTime ?? now,
    containerStatuses,
    ...(initContainerStatuses.length ? { initContainerStatuses } : {}),
  };
}

/** Whether a pod already shows what `runningPodStatus` would post. */
export function isRunningAndReady(pod: KubeObject): boolean {
  return pod.status?.phase === "Running" && !!pod.status?.podIP &&
    (pod.status?.conditions ?? []).some((c: { type: string; status: string }) =>
      c.type === "Ready" && c.status === "True"
    );
}
