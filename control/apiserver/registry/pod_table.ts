/**
 * The Pod table: upstream's `printPod`, including init-container progress (`Init:1/2`), waiting
 * and terminated reasons (`CrashLoopBackOff`, `Completed`, `ExitCode:1`), sidecars,
 * `Terminating`, `SchedulingGated`, and restarts with the time since the last one.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import type { TableSpec } from "../../api/resource.ts";
import type { KubeObject } from "../../api/types.ts";
import { humanDuration } from "./duration.ts";
import { age, ageColumn, column, nameColumn } from "./table.ts";

type Obj = Record<string, any>;
const arr = (v: unknown): any[] => (Array.isArray(v) ? v : []);

function time(t: unknown): number {
  if (typeof t !== "string") return 0;
  const v = Date.parse(t);
  return Number.isNaN(v) ? 0 : v;
}

function conditionTrue(status: Obj, type: string): boolean {
  for (const c of arr(status?.conditions)) if (c?.type === type) return c.status === "True";
  return false;
}

function hasPodReadyCondition(status: Obj): boolean {
  return arr(status?.conditions).some((c) => c?.type === "Ready" && c.status === "True");
}

const isRestartable = (c: Obj | undefined) => c?.restartPolicy === "Always";

/** The Ready, Status and Restarts cells of a pod, as `printPod` computes them. */
export function podSummary(
  pod: KubeObject,
  now: number,
): { ready: string; reason: string; restarts: string } {
  const spec: Obj = pod.spec ?? {};
  const status: Obj = pod.status ?? {};
  let restarts = 0;
  let sidecarRestarts = 0;
  let total = arr(spec.containers).length;
  let ready = 0;
  let lastRestart = 0;
  let lastSidecarRestart = 0;
  const phase: string = status.phase ?? "";
  let reason: string = status.reason || phase;
  for (const c of arr(status.conditions)) {
    if (c?.type === "PodScheduled" && c.reason === "SchedulingGated") reason = "SchedulingGated";
  }
  const inits = new Map<string, Obj>();
  for (const c of arr(spec.initContainers)) {
    inits.set(c?.name, c);
    if (isRestartable(c)) total++;
  }
  let initializing = false;
  const initStatuses = arr(status.initContainerStatuses);
  for (let i = 0; i < initStatuses.length; i++) {
    const cs: Obj = initStatuses[i] ?? {};
    restarts += cs.restartCount ?? 0;
    const finished = time(cs.lastState?.terminated?.finishedAt);
    if (cs.lastState?.terminated && finished > lastRestart) lastRestart = finished;
    const sidecar = isRestartable(inits.get(cs.name));
    if (sidecar) {
      sidecarRestarts += cs.restartCount ?? 0;
      if (cs.lastState?.terminated && finished > lastSidecarRestart) lastSidecarRestart = finished;
    }
    const terminated = cs.state?.terminated;
    const waiting = cs.state?.waiting;
    if (terminated && (terminated.exitCode ?? 0) === 0) continue;
    if (sidecar && cs.started === true) {
      if (cs.ready) ready++;
      continue;
    }
    if (terminated) {
      if (!terminated.reason) {
        reason = terminated.signal
          ? `Init:Signal:${terminated.signal}`
          : `Init:ExitCode:${terminated.exitCode ?? 0}`;
      } else reason = `Init:${terminated.reason}`;
    } else if (waiting?.reason && waiting.reason !== "PodInitializing") {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${arr(spec.initContainers).length}`;
    }
    initializing = true;
    break;
  }
  if (!initializing || conditionTrue(status, "Initialized")) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = arr(status.containerStatuses);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs: Obj = statuses[i] ?? {};
      restarts += cs.restartCount ?? 0;
      const finished = time(cs.lastState?.terminated?.finishedAt);
      if (cs.lastState?.terminated && finished > lastRestart) lastRestart = finished;
      const waiting = cs.state?.waiting;
      const terminated = cs.state?.terminated;
      if (waiting?.reason) reason = waiting.reason;
      else if (terminated?.reason) reason = terminated.reason;
      else if (terminated) {
        reason = terminated.signal ? `Signal:${terminated.signal}` : `ExitCode:${terminated.exitCode ?? 0}`;
      } else if (cs.ready && cs.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === "Completed" && hasRunning) reason = hasPodReadyCondition(status) ? "Running" : "NotReady";
  }
  if (pod.metadata?.deletionTimestamp && status.reason === "NodeLost") reason = "Unknown";
  else if (pod.metadata?.deletionTimestamp && phase !== "Succeeded" && phase !== "Failed") {
    reason = "Terminating";
  }
  const restartsCell = restarts !== 0 && lastRestart !== 0
    ? `${restarts} (${humanDuration(now - lastRestart)} ago)`
    : String(restarts);
  return { ready: `${ready}/${total}`, reason, restarts: restartsCell };
}

function readinessGates(pod: KubeObject): string {
  const gates = arr(pod.spec?.readinessGates);
  if (gates.length === 0) return "<none>";
  let trueConditions = 0;
  for (const g of gates) {
    const c = arr(pod.status?.conditions).find((c) => c?.type === g?.conditionType);
    if (c?.status === "True") trueConditions++;
  }
  return `${trueConditions}/${gates.length}`;
}

/** The pod's primary IP; `status.podIP` is authoritative, as in upstream's v1 conversion. */
export function podIP(pod: KubeObject): string {
  return pod.status?.podIP || arr(pod.status?.podIPs)[0]?.ip || "";
}

/** The Pod table. */
export const podTable: TableSpec = {
  columns: [
    nameColumn,
    column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    column("Status", "The aggregate status of the containers in this pod."),
    column(
      "Restarts",
      "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    ageColumn,
    column(
      "IP",
      "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
      { wide: true },
    ),
    column("Node", "NodeName indicates in which node this pod is scheduled.", { wide: true }),
    column(
      "Nominated Node",
      "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.",
      { wide: true },
    ),
    column("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.", {
      wide: true,
    }),
  ],
  cells(pod, now) {
    const { ready, reason, restarts } = podSummary(pod, now);
    const ip = podIP(pod) || "<none>";
    return [
      pod.metadata?.name ?? "",
      ready,
      reason,
      restarts,
      age(pod, now),
      ip,
      pod.spec?.nodeName || "<none>",
      pod.status?.nominatedNodeName || "<none>",
      readinessGates(pod),
    ];
  },
};
