/**
 * The CRI configs the agent hands the runtime, built from the pod spec as the kubelet's
 * `generatePodSandboxConfig` and `generateContainerConfig` do: kubelet labels and annotations,
 * the log directory `<root>/<ns>_<name>_<uid>` and log path `<container>/<attempt>.log`, ports,
 * resources, the resolved environment, command, args and mounts. Pure.
 * @module
 */
import { type ClusterDnsSettings, podDnsConfig } from "../dns/pod_dns.ts";
import type { Container, Pod } from "kubernetes-types/core/v1.d.ts";
import {
  ANNOTATION_CONTAINER_HASH,
  ANNOTATION_INIT_CONTAINER,
  ANNOTATION_RESTART_COUNT,
  type ContainerConfig,
  LABEL_CONTAINER_NAME,
  LABEL_POD_NAME,
  LABEL_POD_NAMESPACE,
  LABEL_POD_UID,
  type Mount,
  type PodSandboxConfig,
} from "../cri/api.ts";
import type { ContainerEnvironment } from "../env/env_vars.ts";
import { milliValue, quantityValue } from "../env/quantity.ts";
import { linuxContainerConfig, linuxSandboxConfig } from "./linux_config.ts";
import { containerHash } from "./runtime_pod.ts";

/** `<ns>_<name>_<uid>`: the pod's log directory name (the kubelet's `/var/log/pods` layout). */
export function podLogDirName(pod: Pod): string {
  return `${pod.metadata!.namespace}_${pod.metadata!.name}_${pod.metadata!.uid}`;
}

/** The pod's kubelet labels (selecting its sandboxes and containers in the runtime). */
export function podLabels(pod: Pod): Record<string, string> {
  return {
    [LABEL_POD_NAME]: pod.metadata!.name!,
    [LABEL_POD_NAMESPACE]: pod.metadata!.namespace!,
    [LABEL_POD_UID]: pod.metadata!.uid!,
  };
}

/** Sum of the containers' memory limits, when every container has one. */
function sandboxMemoryLimit(pod: Pod): number | undefined {
  let sum = 0;
  for (const c of pod.spec?.containers ?? []) {
    const v = quantityValue(c.resources?.limits?.memory);
    if (v === undefined) return undefined;
    sum += v;
  }
  return sum;
}

export function podSandboxConfig(
  pod: Pod,
  attempt: number,
  logRoot: string,
  clusterDns?: ClusterDnsSettings,
): PodSandboxConfig {
  const ports = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []).filter((p) => p.hostPort);
  return {
    metadata: {
      name: pod.metadata!.name!,
      namespace: pod.metadata!.namespace!,
      uid: pod.metadata!.uid!,
      attempt,
    },
    hostname: pod.spec?.hostname ?? pod.metadata!.name!,
    logDirectory: `${logRoot}/${podLogDirName(pod)}`,
    labels: { ...pod.metadata?.labels, ...podLabels(pod) },
    annotations: { ...pod.metadata?.annotations },
    portMappings: ports.map((p) => ({
      protocol: (p.protocol ?? "TCP") as "TCP",
      containerPort: p.containerPort,
      hostPort: p.hostPort,
      hostIp: p.hostIP,
    })),
    memoryLimitBytes: sandboxMemoryLimit(pod),
    ...(clusterDns ? { dnsConfig: podDnsConfig(pod, clusterDns) } : {}),
    linux: linuxSandboxConfig(pod),
  };
}

export interface ContainerConfigInputs {
  attempt: number;
  env: ContainerEnvironment;
  mounts: Mount[];
  imageRef: string;
  init: boolean;
}

export function containerConfig(
  pod: Pod,
  container: Container,
  inputs: ContainerConfigInputs,
): ContainerConfig {
  const limits = container.resources?.limits ?? {};
  return {
    metadata: { name: container.name, attempt: inputs.attempt },
    image: { image: inputs.imageRef, annotations: {} },
    command: inputs.env.command,
    args: inputs.env.args,
    workingDir: container.workingDir ?? "",
    envs: [...inputs.env.env].map(([key, value]) => ({ key, value })),
    mounts: inputs.mounts,
    labels: { ...podLabels(pod), [LABEL_CONTAINER_NAME]: container.name },
    annotations: {
      [ANNOTATION_CONTAINER_HASH]: containerHash(container),
      [ANNOTATION_RESTART_COUNT]: String(inputs.attempt),
      ...(inputs.init ? { [ANNOTATION_INIT_CONTAINER]: "true" } : {}),
      "io.kubernetes.container.terminationMessagePath": container.terminationMessagePath ??
        "/dev/termination-log",
      "io.kubernetes.pod.terminationGracePeriod": String(pod.spec?.terminationGracePeriodSeconds ?? 30),
    },
    logPath: `${container.name}/${inputs.attempt}.log`,
    ports: (container.ports ?? []).map((p) => ({
      name: p.name,
      containerPort: p.containerPort,
      protocol: (p.protocol ?? "TCP") as "TCP",
    })),
    resources: {
      memoryLimitInBytes: quantityValue(limits.memory),
      cpuLimitMillis: milliValue(limits.cpu),
    },
    stdin: container.stdin ?? false,
    stdinOnce: container.stdinOnce ?? false,
    tty: container.tty ?? false,
    linux: linuxContainerConfig(pod, container),
  };
}
