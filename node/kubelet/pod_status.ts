/**
 * The pod status the agent reports, generated from the runtime's view as the kubelet's
 * `generateAPIPodStatus` does: container statuses (state, lastState, restartCount, ready,
 * started, image, imageID, containerID), the phase (`getPhase`), the conditions
 * PodReadyToStartContainers, Initialized, ContainersReady and Ready (PodScheduled and conditions
 * owned by others are kept), podIP/podIPs, hostIP/hostIPs and startTime. Pure.
 * @module
 */
import type {
  Container as SpecContainer,
  ContainerStatus as ApiContainerStatus,
  Pod,
  PodCondition,
  PodStatus,
} from "kubernetes-types/core/v1.d.ts";
import type { ContainerStatus } from "../cri/api.ts";
import {
  isSidecar,
  type RuntimePodStatus,
  shouldContainerBeRestarted,
  statusesOf,
} from "./runtime_pod.ts";

/** Why a container's last start failed (the kubelet's reason cache): `CrashLoopBackOff`, `ErrImagePull`, ... */
export interface StartFailure {
  reason: string;
  message: string;
}

export interface StatusInputs {
  runtime: RuntimePodStatus;
  /** Container name → why its last start failed (cleared once it starts). */
  startFailures: ReadonlyMap<string, StartFailure>;
  /** Container ID → readiness probe verdict (absent: no probe result yet). */
  readiness: ReadonlyMap<string, boolean>;
  /** Container ID → startup probe verdict. */
  startup: ReadonlyMap<string, boolean>;
  hostIP: string;
  /** The worker finished the pod for good: phase must become terminal. */
  terminal: boolean;
  now: number;
  /** The runtime's scheme for container IDs, e.g. `wasm` (a container's own `runtimeName` wins). */
  runtimeName: string;
}

/** The kubelet-owned condition types. */
export const KUBELET_CONDITIONS = ["PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"];

/** A Kubernetes `Time` (seconds precision). */
export function timestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

function terminated(s: ContainerStatus, runtimeName: string) {
  return {
    exitCode: s.exitCode,
    reason: s.reason || (s.exitCode === 0 ? "Completed" : "Error"),
    ...(s.message ? { message: s.message } : {}),
    startedAt: s.startedAt ? timestamp(s.startedAt) : undefined,
    finishedAt: timestamp(s.finishedAt || s.createdAt),
    containerID: `${s.runtimeName ?? runtimeName}://${s.id}`,
  };
}

/** The status list of each kind of container. */
const STATUS_LIST = {
  init: "initContainerStatuses",
  main: "containerStatuses",
  ephemeral: "ephemeralContainerStatuses",
} as const;

function containerStatuses(
  pod: Pod,
  specs: SpecContainer[],
  kind: keyof typeof STATUS_LIST,
  inputs: StatusInputs,
  initDone: boolean,
): ApiContainerStatus[] {
  const init = kind === "init";
  const previous = new Map(pod.status?.[STATUS_LIST[kind]]?.map((s) => [s.name, s]) ?? []);
  return specs.map((c) => {
    const instances = statusesOf(inputs.runtime, c.name);
    const [latest, prior] = instances;
    const out: ApiContainerStatus = {
      name: c.name,
      image: c.image ?? "",
      imageID: "",
      ready: false,
      restartCount: 0,
      started: false,
      state: { waiting: { reason: !init && !initDone ? "PodInitializing" : "ContainerCreating" } },
      lastState: {},
    };
    const prev = previous.get(c.name);
    if (prev?.lastState?.terminated) out.lastState = prev.lastState;
    if (latest) {
      out.containerID = `${latest.runtimeName ?? inputs.runtimeName}://${latest.id}`;
      out.imageID = latest.imageRef;
      out.restartCount = latest.metadata.attempt;
      if (latest.state === "CONTAINER_RUNNING") {
        out.state = { running: { startedAt: timestamp(latest.startedAt || latest.createdAt) } };
        const startup = c.startupProbe ? inputs.startup.get(latest.id) === true : true;
        out.started = startup;
        out.ready = startup && (c.readinessProbe ? inputs.readiness.get(latest.id) === true : true);
      } else if (latest.state === "CONTAINER_EXITED") {
        out.state = { terminated: terminated(latest, inputs.runtimeName) };
      } else if (latest.state === "CONTAINER_UNKNOWN") {
        out.state = {
          terminated: {
            exitCode: 137,
            reason: "ContainerStatusUnknown",
            message: "The container could not be located when the pod was terminated",
            finishedAt: timestamp(inputs.now),
            containerID: `${latest.runtimeName ?? inputs.runtimeName}://${latest.id}`,
          },
        };
      } else {
        out.state = { waiting: { reason: "ContainerCreating" } };
      }
      if (prior && prior.state === "CONTAINER_EXITED") {
        out.lastState = { terminated: terminated(prior, inputs.runtimeName) };
      }
    }
    // A container that will be restarted and whose last start failed is Waiting with that reason.
    const latestExitedOk = latest?.state === "CONTAINER_EXITED" && latest.exitCode === 0;
    const failure = inputs.startFailures.get(c.name);
    const sidecar = init && isSidecar(c);
    // A sidecar is started again whenever it stops, whatever the pod's restartPolicy.
    const restarts = kind === "ephemeral"
      ? !latest
      : sidecar
      ? !pod.metadata?.deletionTimestamp && latest?.state !== "CONTAINER_RUNNING"
      : !(init && latestExitedOk) && shouldContainerBeRestarted(c, pod, inputs.runtime);
    if (failure && restarts) {
      if (out.state?.terminated) out.lastState = { terminated: out.state.terminated };
      out.state = { waiting: { reason: failure.reason, message: failure.message } };
      out.ready = false;
    }
    if (init && !sidecar && out.state?.terminated) out.ready = out.state.terminated.exitCode === 0;
    return out;
  });
}

/** Upstream's `getPhase`. */
export function podPhase(
  pod: Pod,
  init: ApiContainerStatus[],
  main: ApiContainerStatus[],
  terminal: boolean,
): PodStatus["phase"] {
  let pendingInit = 0;
  let failedInit = 0;
  const sidecars = new Set((pod.spec?.initContainers ?? []).filter(isSidecar).map((c) => c.name));
  for (const s of init) {
    // A sidecar holds initialization back until it has started; it never fails the pod.
    if (sidecars.has(s.name)) {
      if (!(s.state?.running && s.started)) pendingInit++;
      continue;
    }
    if (s.state?.running) pendingInit++;
    else if (s.state?.terminated) {
      if (s.state.terminated.exitCode !== 0) failedInit++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) {
        if (s.lastState.terminated.exitCode !== 0) failedInit++;
      } else pendingInit++;
    } else pendingInit++;
  }
  let unknown = 0, running = 0, waiting = 0, stopped = 0, succeeded = 0;
  for (const s of main) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    } else unknown++;
  }
  const policy = pod.spec?.restartPolicy ?? "Always";
  if (failedInit > 0 && policy === "Never") return "Failed";
  const anyStarted = main.some((s) => s.state?.running || s.state?.terminated || s.lastState?.terminated);
  if ((pendingInit > 0 && !anyStarted) || waiting > 0) return "Pending";
  if (running > 0 && unknown === 0) return "Running";
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (terminal) return stopped === succeeded ? "Succeeded" : "Failed";
    if (policy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    if (policy === "Never") return "Failed";
    return "Running";
  }
  return "Pending";
}

function condition(
  type: string,
  ok: boolean,
  now: number,
  old: PodCondition[] | undefined,
  reason?: string,
  message?: string,
): PodCondition {
  const status = ok ? "True" : "False";
  const prev = old?.find((c) => c.type === type);
  return {
    type,
    status,
    lastProbeTime: null as unknown as string,
    lastTransitionTime: prev && prev.status === status && prev.lastTransitionTime
      ? prev.lastTransitionTime
      : timestamp(now),
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
}

/** The whole status to post for `pod`. */
export function generatePodStatus(pod: Pod, inputs: StatusInputs): PodStatus {
  const old = pod.status ?? {};
  const now = inputs.now;
  const specInit = pod.spec?.initContainers ?? [];
  const specMain = pod.spec?.containers ?? [];
  const initStatuses = containerStatuses(pod, specInit, "init", inputs, false);
  const sidecarNames = new Set(specInit.filter(isSidecar).map((c) => c.name));
  // Initialized: regular init containers exited 0, sidecars running and started.
  const initialized = (s: ApiContainerStatus) =>
    sidecarNames.has(s.name) ? !!s.state?.running && !!s.started : s.state?.terminated?.exitCode === 0;
  const initDone = initStatuses.every(initialized) ||
    specMain.some((c) => statusesOf(inputs.runtime, c.name).length > 0);
  const mainStatuses = containerStatuses(pod, specMain, "main", inputs, initDone);
  let phase = podPhase(pod, initStatuses, mainStatuses, inputs.terminal);
  // A terminal phase is never left (upstream: the kubelet refuses the transition).
  if (old.phase === "Succeeded" || old.phase === "Failed") phase = old.phase;

  const sandbox = inputs.runtime.sandboxes[0];
  const sandboxReady = sandbox?.state === "SANDBOX_READY" &&
    (!!sandbox.network?.ip || !!pod.spec?.hostNetwork);
  const podIP = sandbox?.network?.ip ?? old.podIP;
  const ips = sandbox?.network
    ? [sandbox.network.ip, ...sandbox.network.additionalIps]
    : (old.podIPs ?? []).map((p) => p.ip);

  const uninitialized = initStatuses.filter((s) => !initialized(s)).map((s) => s.name);
  // Sidecars count for readiness, ahead of the main containers (upstream's order).
  const unready = [...initStatuses.filter((s) => sidecarNames.has(s.name)), ...mainStatuses]
    .filter((s) => !s.ready).map((s) => s.name);
  const terminalPhase = phase === "Succeeded" || phase === "Failed";
  const conds = old.conditions;
  const kubelet: PodCondition[] = [
    condition("PodReadyToStartContainers", sandboxReady, now, conds),
    initDone || uninitialized.length === 0
      ? condition(
        "Initialized",
        true,
        now,
        conds,
        terminalPhase && specInit.length > 0 ? "PodCompleted" : undefined,
      )
      : condition(
        "Initialized",
        false,
        now,
        conds,
        "ContainersNotInitialized",
        `containers with incomplete status: [${uninitialized.join(" ")}]`,
      ),
    terminalPhase
      ? condition("ContainersReady", false, now, conds, "PodCompleted")
      : unready.length
      ? condition(
        "ContainersReady",
        false,
        now,
        conds,
        "ContainersNotReady",
        `containers with unready status: [${unready.join(" ")}]`,
      )
      : condition("ContainersReady", true, now, conds),
    terminalPhase ? condition("Ready", false, now, conds, "PodCompleted") : unready.length
      ? condition(
        "Ready",
        false,
        now,
        conds,
        "ContainersNotReady",
        `containers with unready status: [${unready.join(" ")}]`,
      )
      : condition("Ready", true, now, conds),
  ];
  // Upstream order: PodReadyToStartContainers, Initialized, Ready, ContainersReady, then the
  // conditions others own (PodScheduled, DisruptionTarget, ...), kept as they are.
  const foreign = (conds ?? []).filter((c) => !KUBELET_CONDITIONS.includes(c.type));
  const merged = [kubelet[0], kubelet[1], kubelet[3], kubelet[2], ...foreign];

  const status: PodStatus = {
    ...old,
    phase,
    conditions: merged,
    hostIP: inputs.hostIP,
    hostIPs: [{ ip: inputs.hostIP }],
    startTime: old.startTime ?? timestamp(now),
    containerStatuses: mainStatuses,
  };
  if (podIP) {
    status.podIP = podIP;
    status.podIPs = ips.map((ip) => ({ ip }));
  }
  if (specInit.length) status.initContainerStatuses = initStatuses;
  else delete status.initContainerStatuses;
  const specEphemeral = (pod.spec?.ephemeralContainers ?? []) as SpecContainer[];
  if (specEphemeral.length) {
    // Never restarted, never ready, no `started` (upstream's ephemeral container statuses).
    status.ephemeralContainerStatuses = containerStatuses(pod, specEphemeral, "ephemeral", inputs, true)
      .map(({ started: _, ...s }) => ({ ...s, ready: false }));
  } else delete status.ephemeralContainerStatuses;
  if (pod.spec?.hostNetwork) {
    status.podIP = inputs.hostIP;
    status.podIPs = [{ ip: inputs.hostIP }];
  }
  return status;
}
