/**
 * What the runtime knows about one pod (the kubelet's `kubecontainer.PodStatus`): its sandboxes
 * and every container instance, newest first. Pure helpers over it.
 * @module
 */
import type { Container as SpecContainer, Pod } from "kubernetes-types/core/v1.d.ts";
import type { ContainerStatus, PodSandboxStatus } from "../cri/api.ts";

export interface RuntimePodStatus {
  uid: string;
  /** Newest first. */
  sandboxes: PodSandboxStatus[];
  /** Every container instance of the pod, newest first. */
  containers: ContainerStatus[];
}

/** The newest instance of the container named `name`. */
export function latestStatus(status: RuntimePodStatus, name: string): ContainerStatus | undefined {
  return status.containers.find((c) => c.metadata.name === name);
}

/** Every instance of `name`, newest first. */
export function statusesOf(status: RuntimePodStatus, name: string): ContainerStatus[] {
  return status.containers.filter((c) => c.metadata.name === name);
}

/** Sorts sandboxes and containers newest first (by creation time, then attempt). */
export function sortNewestFirst(status: RuntimePodStatus): RuntimePodStatus {
  return {
    uid: status.uid,
    sandboxes: [...status.sandboxes].sort((a, b) =>
      b.createdAt - a.createdAt || b.metadata.attempt - a.metadata.attempt
    ),
    containers: [...status.containers].sort((a, b) =>
      b.createdAt - a.createdAt || b.metadata.attempt - a.metadata.attempt
    ),
  };
}

/** FNV-1a over the container's spec as JSON: the `io.kubernetes.container.hash` annotation. */
export function containerHash(container: SpecContainer): string {
  const text = stableJson(container);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16);
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
    return `{${
      keys.map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(",")
    }}`;
  }
  return JSON.stringify(v);
}

/** Upstream's `ShouldContainerBeRestarted`. */
export function shouldContainerBeRestarted(
  container: SpecContainer,
  pod: Pod,
  status: RuntimePodStatus,
): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  const s = latestStatus(status, container.name);
  if (!s) return true;
  if (s.state === "CONTAINER_RUNNING") return false;
  if (s.state === "CONTAINER_UNKNOWN" || s.state === "CONTAINER_CREATED") return true;
  const policy = pod.spec?.restartPolicy ?? "Always";
  if (policy === "Never") return false;
  if (policy === "OnFailure" && s.exitCode === 0) return false;
  return true;
}

/** Whether the pod restarts failed containers (`restartPolicy` other than Never). */
export function shouldRestartOnFailure(pod: Pod): boolean {
  return (pod.spec?.restartPolicy ?? "Always") !== "Never";
}

/** An init container instance that failed (exited non-zero, or in an unknown state). */
export function isInitContainerFailed(s: ContainerStatus): boolean {
  return (s.state === "CONTAINER_EXITED" && s.exitCode !== 0) || s.state === "CONTAINER_UNKNOWN";
}

/**
 * Upstream's `findNextInitContainerToRun`: the last failed init container's status, the next
 * init container to run, and whether initialization is done.
 */
export function findNextInitContainerToRun(
  pod: Pod,
  status: RuntimePodStatus,
): { failed?: ContainerStatus; next?: SpecContainer; done: boolean } {
  const inits = pod.spec?.initContainers ?? [];
  if (inits.length === 0) return { done: true };
  for (const c of pod.spec?.containers ?? []) {
    if (latestStatus(status, c.name)?.state === "CONTAINER_RUNNING") return { done: true };
  }
  for (let i = inits.length - 1; i >= 0; i--) {
    const s = latestStatus(status, inits[i].name);
    if (s && isInitContainerFailed(s)) return { failed: s, next: inits[i], done: false };
  }
  for (let i = inits.length - 1; i >= 0; i--) {
    const s = latestStatus(status, inits[i].name);
    if (!s) continue;
    if (s.state === "CONTAINER_RUNNING") return { done: false };
    if (s.state === "CONTAINER_EXITED") {
      if (i === inits.length - 1) return { done: true };
      return { next: inits[i + 1], done: false };
    }
  }
  return { next: inits[0], done: false };
}

/** Every container of the pod's spec: its init containers, containers and ephemeral containers. */
export function podContainerSpecs(pod: Pod): SpecContainer[] {
  return [
    ...(pod.spec?.initContainers ?? []),
    ...(pod.spec?.containers ?? []),
    ...((pod.spec?.ephemeralContainers ?? []) as SpecContainer[]),
  ];
}

/** The container's spec in the pod, whatever its kind. */
export function containerSpec(pod: Pod, name: string): SpecContainer | undefined {
  return podContainerSpecs(pod).find((c) => c.name === name);
}

/** A restartable init container: a sidecar (`restartPolicy: Always` on an init container). */
export function isSidecar(c: SpecContainer): boolean {
  return c.restartPolicy === "Always";
}

/** The initialization of a pod with sidecars, as upstream's `computeInitContainerActions`. */
export interface SidecarInitPlan {
  /** Every init container is done (regular ones exited 0, sidecars started): the main containers may run. */
  done: boolean;
  /** The init container to start next: a regular one, or a sidecar's first start. */
  next?: SpecContainer;
  /** The failed instance of `next`, a regular init container that is run again. */
  failed?: ContainerStatus;
  /** Sidecars that started before and are no longer running: started again (with back-off). */
  restart: SpecContainer[];
}

/**
 * The init containers of a pod that has sidecars, in order. A regular init container must exit
 * 0 before the next one starts; a sidecar must be running and started (its startup probe passed,
 * `started(id)`) before the next one starts, and is started again whenever it stops, whatever
 * the pod's `restartPolicy`. Once a main container has run, the regular init containers count
 * as done. Pods without sidecars use {@linkcode findNextInitContainerToRun}.
 */
export function sidecarInitPlan(
  pod: Pod,
  status: RuntimePodStatus,
  started: (s: ContainerStatus) => boolean,
): SidecarInitPlan {
  const restart: SpecContainer[] = [];
  const mainsRan = (pod.spec?.containers ?? []).some((c) => statusesOf(status, c.name).length > 0);
  for (const c of pod.spec?.initContainers ?? []) {
    const s = latestStatus(status, c.name);
    if (isSidecar(c)) {
      if (s?.state === "CONTAINER_RUNNING") {
        if (!mainsRan && !started(s)) return { done: false, restart };
        continue;
      }
      // Never ran yet (no instance, or one whose start failed): initialization waits for it.
      if (!statusesOf(status, c.name).some((x) => x.startedAt > 0)) return { done: false, next: c, restart };
      if (!pod.metadata?.deletionTimestamp) restart.push(c);
      continue;
    }
    if (mainsRan) continue;
    if (!s || s.state === "CONTAINER_CREATED") return { done: false, next: c, restart };
    if (s.state === "CONTAINER_RUNNING") return { done: false, restart };
    if (isInitContainerFailed(s)) return { done: false, next: c, failed: s, restart };
  }
  return { done: true, restart };
}
