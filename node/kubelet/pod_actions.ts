/**
 * `computePodActions`: what a sync must do to bring a pod's runtime state to its spec, as the
 * kubelet's `kuberuntime_manager.go` decides it. Pure: spec + runtime status + probe verdicts in,
 * a plan out; `sync_pod.ts` carries it out.
 *
 * @example
 * ```ts
 * const plan = computePodActions(pod, runtimeStatus, { livenessFailed: new Set() });
 * if (plan.createSandbox) { ... }
 * ```
 * @module
 */
import type { Container as SpecContainer, Pod } from "kubernetes-types/core/v1.d.ts";
import { ANNOTATION_CONTAINER_HASH, type ContainerStatus } from "../cri/api.ts";
import {
  containerHash,
  containerSpec,
  findNextInitContainerToRun,
  isSidecar,
  latestStatus,
  type RuntimePodStatus,
  shouldContainerBeRestarted,
  shouldRestartOnFailure,
  sidecarInitPlan,
} from "./runtime_pod.ts";

/** Why a running container is killed. */
export type KillReason = "LivenessProbe" | "StartupProbe" | "DefinitionChanged" | "Unknown";

export interface ContainerToKill {
  name: string;
  message: string;
  reason: KillReason;
}

/** The plan of one sync. */
export interface PodActions {
  /** Stop every container and the sandbox (before recreating it, or because nothing should run). */
  killPod: boolean;
  createSandbox: boolean;
  /** The sandbox to keep using (when not creating one). */
  sandboxId?: string;
  /** Attempt number of the sandbox to create. */
  attempt: number;
  nextInitContainerToStart?: SpecContainer;
  /** Sidecars (restartable init containers) to start again, beside whatever else starts. */
  sidecarsToStart: SpecContainer[];
  /** Ephemeral containers (`kubectl debug`) never started yet; they are never restarted. */
  ephemeralToStart: SpecContainer[];
  /** Indexes into `spec.containers`. */
  containersToStart: number[];
  /** Container ID → why. */
  containersToKill: Map<string, ContainerToKill>;
}

/** Probe verdicts the plan depends on, keyed by container ID. */
export interface ProbeVerdicts {
  livenessFailed: ReadonlySet<string>;
  startupFailed?: ReadonlySet<string>;
  /** Container ID → whether its startup probe has passed (absent: no startup probe runs). */
  startup?: ReadonlyMap<string, boolean>;
}

/** Upstream's `podSandboxChanged`: whether a new sandbox is needed, its attempt, and the one to keep. */
export function podSandboxChanged(
  pod: Pod,
  status: RuntimePodStatus,
): { create: boolean; attempt: number; sandboxId?: string } {
  if (status.sandboxes.length === 0) return { create: true, attempt: 0 };
  const ready = status.sandboxes.filter((s) => s.state === "SANDBOX_READY").length;
  const latest = status.sandboxes[0];
  const attempt = latest.metadata.attempt + 1;
  if (ready > 1) return { create: true, attempt, sandboxId: latest.id };
  if (latest.state !== "SANDBOX_READY") return { create: true, attempt, sandboxId: latest.id };
  if (!pod.spec?.hostNetwork && !latest.network?.ip) return { create: true, attempt, sandboxId: latest.id };
  return { create: false, attempt: latest.metadata.attempt, sandboxId: latest.id };
}

function containerSucceeded(c: SpecContainer, status: RuntimePodStatus): boolean {
  const s = latestStatus(status, c.name);
  return !!s && s.state === "CONTAINER_EXITED" && s.exitCode === 0;
}

function changed(c: SpecContainer, s: ContainerStatus): boolean {
  const hash = s.annotations[ANNOTATION_CONTAINER_HASH];
  return hash !== undefined && hash !== containerHash(c);
}

/** Decides the sync of `pod` given its runtime state. */
export function computePodActions(pod: Pod, status: RuntimePodStatus, probes: ProbeVerdicts): PodActions {
  const sandbox = podSandboxChanged(pod, status);
  const actions: PodActions = {
    killPod: sandbox.create,
    createSandbox: sandbox.create,
    sandboxId: sandbox.sandboxId,
    attempt: sandbox.attempt,
    sidecarsToStart: [],
    ephemeralToStart: [],
    containersToStart: [],
    containersToKill: new Map(),
  };
  const containers = pod.spec?.containers ?? [];

  if (sandbox.create) {
    if (!shouldRestartOnFailure(pod) && sandbox.attempt !== 0 && status.containers.length !== 0) {
      // Never restart a finished pod's sandbox just to find out there is nothing to run.
      actions.createSandbox = false;
      return actions;
    }
    const toStart: number[] = [];
    containers.forEach((c, i) => {
      if (pod.spec?.restartPolicy === "OnFailure" && containerSucceeded(c, status)) return;
      toStart.push(i);
    });
    if (toStart.length === 0 && findNextInitContainerToRun(pod, status).done) {
      actions.createSandbox = false;
      return actions;
    }
    if ((pod.spec?.initContainers ?? []).length > 0) {
      actions.nextInitContainerToStart = pod.spec!.initContainers![0];
      return actions;
    }
    actions.containersToStart = toStart;
    return actions;
  }

  // Ephemeral containers may start before initialization is done, as upstream's.
  if (!pod.metadata?.deletionTimestamp) {
    for (const c of pod.spec?.ephemeralContainers ?? []) {
      if (!latestStatus(status, c.name)) actions.ephemeralToStart.push(c as SpecContainer);
    }
  }
  const inits = pod.spec?.initContainers ?? [];
  const init = inits.some(isSidecar)
    ? sidecarInitPlan(pod, status, (s) => started(pod, s, probes))
    : { ...findNextInitContainerToRun(pod, status), restart: [] };
  restartSidecars(pod, status, probes, init.restart, actions);
  if (!init.done) {
    if (init.next) {
      const failed = init.failed !== undefined;
      if (failed && !shouldRestartOnFailure(pod)) {
        actions.killPod = true;
        actions.sidecarsToStart = [];
        actions.ephemeralToStart = [];
        actions.containersToKill.clear();
      } else {
        if (init.failed?.state === "CONTAINER_UNKNOWN") {
          actions.containersToKill.set(init.failed.id, {
            name: init.next.name,
            message: "Init container is in unknown state, try killing it before restart",
            reason: "Unknown",
          });
        }
        actions.nextInitContainerToStart = init.next;
      }
    }
    return actions;
  }

  let keep = 0;
  containers.forEach((c, i) => {
    const s = latestStatus(status, c.name);
    if (!s || s.state !== "CONTAINER_RUNNING") {
      if (shouldContainerBeRestarted(c, pod, status)) {
        actions.containersToStart.push(i);
        if (s?.state === "CONTAINER_UNKNOWN") {
          actions.containersToKill.set(s.id, {
            name: c.name,
            message: "Container is in unknown state, try killing it before restart",
            reason: "Unknown",
          });
        }
      }
      return;
    }
    const kill = killReason(`Container ${c.name}`, c, s, probes);
    if (!kill) {
      keep++;
      return;
    }
    let message = kill.message;
    if (kill.reason === "DefinitionChanged" || shouldRestartOnFailure(pod)) {
      message += ", will be restarted";
      actions.containersToStart.push(i);
    }
    actions.containersToKill.set(s.id, { name: c.name, message, reason: kill.reason });
  });

  if (keep === 0 && actions.containersToStart.length === 0) {
    // Nothing of the pod's own work is left: its sidecars stop with it.
    actions.killPod = true;
    actions.sidecarsToStart = [];
    actions.ephemeralToStart = [];
  }
  return actions;
}

/** Why a running container must be killed (`<what> definition changed`, `… failed liveness probe`). */
function killReason(
  what: string,
  c: SpecContainer,
  s: ContainerStatus,
  probes: ProbeVerdicts,
): { message: string; reason: KillReason } | undefined {
  if (changed(c, s)) return { message: `${what} definition changed`, reason: "DefinitionChanged" };
  if (probes.livenessFailed.has(s.id)) {
    return { message: `${what} failed liveness probe`, reason: "LivenessProbe" };
  }
  if (probes.startupFailed?.has(s.id)) {
    return { message: `${what} failed startup probe`, reason: "StartupProbe" };
  }
  return undefined;
}

/** Whether a running container has started: no startup probe, or one that passed. */
function started(pod: Pod, s: ContainerStatus, probes: ProbeVerdicts): boolean {
  const spec = containerSpec(pod, s.metadata.name);
  return !spec?.startupProbe || probes.startup?.get(s.id) === true;
}

/**
 * Sidecars to start again: those that stopped (`restart`), and running ones whose liveness or
 * startup probe failed, which are killed first, as a main container of a pod that restarts.
 */
function restartSidecars(
  pod: Pod,
  status: RuntimePodStatus,
  probes: ProbeVerdicts,
  restart: SpecContainer[],
  actions: PodActions,
) {
  actions.sidecarsToStart.push(...restart);
  if (pod.metadata?.deletionTimestamp) return;
  for (const c of pod.spec?.initContainers ?? []) {
    if (!isSidecar(c)) continue;
    const s = latestStatus(status, c.name);
    if (s?.state !== "CONTAINER_RUNNING") continue;
    const kill = killReason(`Init container ${c.name}`, c, s, probes);
    if (!kill) continue;
    const message = `${kill.message}, will be restarted`;
    actions.containersToKill.set(s.id, { name: c.name, message, reason: kill.reason });
    actions.sidecarsToStart.push(c);
  }
}
