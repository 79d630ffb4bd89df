/**
 * Builders for kubelet unit tests: pods and runtime statuses as plain data (pure logic only; the
 * end-to-end tests use the real runtime).
 * @module
 */
import type { Container, Pod } from "kubernetes-types/core/v1.d.ts";
import type { ContainerState, ContainerStatus, PodSandboxStatus } from "../cri/api.ts";
import type { RuntimePodStatus } from "./runtime_pod.ts";

export function testPod(containers: Partial<Container>[], extra: Partial<Pod["spec"]> = {}): Pod {
  return {
    metadata: { name: "web", namespace: "default", uid: "uid-1" },
    spec: { containers: containers.map((c, i) => ({ name: `c${i}`, image: "img", ...c })), ...extra },
    status: {
      conditions: [{ type: "PodScheduled", status: "True", lastTransitionTime: "2024-01-01T00:00:00Z" }],
    },
  } as Pod;
}

export function sandbox(
  id: string,
  state: PodSandboxStatus["state"] = "SANDBOX_READY",
  attempt = 0,
  createdAt = 1,
): PodSandboxStatus {
  return {
    id,
    metadata: { name: "web", namespace: "default", uid: "uid-1", attempt },
    state,
    createdAt,
    network: state === "SANDBOX_READY" ? { ip: "198.18.0.9", additionalIps: [] } : undefined,
    labels: {},
    annotations: {},
    runtimeHandler: "wasm",
  };
}

let seq = 0;

export function instance(
  name: string,
  state: ContainerState,
  opts: {
    attempt?: number;
    exitCode?: number;
    createdAt?: number;
    finishedAt?: number;
    reason?: string;
    annotations?: Record<string, string>;
  } = {},
): ContainerStatus {
  const createdAt = opts.createdAt ?? ++seq * 1000;
  return {
    id: `${name}-${opts.attempt ?? 0}-${createdAt}`,
    metadata: { name, attempt: opts.attempt ?? 0 },
    state,
    createdAt,
    startedAt: state === "CONTAINER_CREATED" ? 0 : createdAt + 1,
    finishedAt: state === "CONTAINER_EXITED" ? opts.finishedAt ?? createdAt + 500 : 0,
    exitCode: opts.exitCode ?? 0,
    image: { image: "img" },
    imageRef: "img@sha256:abc",
    reason: opts.reason ?? "",
    message: "",
    labels: {},
    annotations: opts.annotations ?? {},
    mounts: [],
    logPath: `/logs/${name}/${opts.attempt ?? 0}.log`,
  };
}

export function runtime(sandboxes: PodSandboxStatus[], containers: ContainerStatus[]): RuntimePodStatus {
  return {
    uid: "uid-1",
    sandboxes,
    containers: [...containers].sort((a, b) => b.createdAt - a.createdAt),
  };
}
