/**
 * Taints and tolerations, pure: matching as upstream's `ToleratesTaint` /
 * `GetMatchingTolerations`, the minimum toleration time of the taint eviction controller, and the
 * taints the node lifecycle controller derives from node conditions. (The default not-ready and
 * unreachable tolerations are the API server's: control/apiserver/admission/default_toleration_seconds.ts.)
 * @module
 */

export interface Taint {
  key: string;
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute" | string;
  timeAdded?: string;
}

export interface Toleration {
  key?: string;
  operator?: "Exists" | "Equal" | string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export const TAINT_NOT_READY = "node.kubernetes.io/not-ready";
export const TAINT_UNREACHABLE = "node.kubernetes.io/unreachable";
export const TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable";
export const TAINT_MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure";
export const TAINT_DISK_PRESSURE = "node.kubernetes.io/disk-pressure";
export const TAINT_NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable";
export const TAINT_PID_PRESSURE = "node.kubernetes.io/pid-pressure";

/** Whether a toleration tolerates a taint (`ToleratesTaint`). */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? "") {
    case "":
    case "Equal":
      return (t.value ?? "") === (taint.value ?? "");
    case "Exists":
      return true;
    default:
      return false;
  }
}

/** Whether every taint is tolerated, and the first toleration used for each (`GetMatchingTolerations`). */
export function matchingTolerations(
  taints: Taint[],
  tolerations: Toleration[],
): { all: boolean; used: Toleration[] } {
  const used: Toleration[] = [];
  for (const taint of taints) {
    const t = tolerations.find((t) => toleratesTaint(t, taint));
    if (!t) return { all: false, used: [] };
    used.push(t);
  }
  return { all: true, used };
}

/**
 * The shortest `tolerationSeconds` among `tolerations`, in ms: 0 when there are none or one is
 * ≤ 0, -1 when all tolerate forever (`getMinTolerationTime`).
 */
export function minTolerationMs(tolerations: Toleration[]): number {
  if (!tolerations.length) return 0;
  let min = Infinity;
  for (const t of tolerations) {
    if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
    if (t.tolerationSeconds <= 0) return 0;
    min = Math.min(min, t.tolerationSeconds);
  }
  return min === Infinity ? -1 : min * 1000;
}

/** The NoExecute taints of a list. */
export function noExecute(taints: Taint[] | undefined): Taint[] {
  return (taints ?? []).filter((t) => t.effect === "NoExecute");
}

interface Condition {
  type: string;
  status: string;
}

/** The NoSchedule taints node conditions call for (`doNoScheduleTaintingPass`). */
export function noScheduleTaintsFor(conditions: Condition[] | undefined, unschedulable: boolean): Taint[] {
  const out: Taint[] = [];
  const status = (type: string) => (conditions ?? []).find((c) => c.type === type)?.status;
  const ready = status("Ready");
  if (ready === "False") out.push({ key: TAINT_NOT_READY, effect: "NoSchedule" });
  if (ready === "Unknown") out.push({ key: TAINT_UNREACHABLE, effect: "NoSchedule" });
  if (status("MemoryPressure") === "True") out.push({ key: TAINT_MEMORY_PRESSURE, effect: "NoSchedule" });
  if (status("DiskPressure") === "True") out.push({ key: TAINT_DISK_PRESSURE, effect: "NoSchedule" });
  if (status("NetworkUnavailable") === "True") {
    out.push({ key: TAINT_NETWORK_UNAVAILABLE, effect: "NoSchedule" });
  }
  if (status("PIDPressure") === "True") out.push({ key: TAINT_PID_PRESSURE, effect: "NoSchedule" });
  if (unschedulable) out.push({ key: TAINT_UNSCHEDULABLE, effect: "NoSchedule" });
  return out;
}

/** The NoExecute taint the Ready condition calls for, if any (`doNoExecuteTaintingPass`). */
export function noExecuteTaintFor(readyStatus: string | undefined): Taint | null {
  if (readyStatus === "False") return { key: TAINT_NOT_READY, effect: "NoExecute" };
  if (readyStatus === "Unknown") return { key: TAINT_UNREACHABLE, effect: "NoExecute" };
  return null;
}

/** The NoSchedule taint keys the controller manages. */
const NO_SCHEDULE_KEYS = new Set([
  TAINT_NOT_READY,
  TAINT_UNREACHABLE,
  TAINT_MEMORY_PRESSURE,
  TAINT_DISK_PRESSURE,
  TAINT_NETWORK_UNAVAILABLE,
  TAINT_PID_PRESSURE,
  TAINT_UNSCHEDULABLE,
]);

/** What the controller wants for the NoExecute taints of one node. */
export type NoExecuteWant =
  /** Keep whatever NoExecute taints the node has (e.g. evictions are paused for its zone). */
  | { kind: "keep" }
  /** Exactly this controller-managed NoExecute taint (or none). */
  | { kind: "set"; taint: Taint | null };

/**
 * The node's taint list after reconciling the controller-managed taints: managed NoSchedule taints
 * follow `noSchedule`; managed NoExecute taints follow `want`; other taints are kept; a taint that
 * stays keeps its `timeAdded`. Returns null when nothing changes.
 */
export function reconcileTaints(
  current: Taint[] | undefined,
  noSchedule: Taint[],
  want: NoExecuteWant,
  nowIso: string,
): Taint[] | null {
  const cur = current ?? [];
  const managedNoExec = (t: Taint) =>
    t.effect === "NoExecute" && (t.key === TAINT_NOT_READY || t.key === TAINT_UNREACHABLE);
  const managedNoSched = (t: Taint) => t.effect === "NoSchedule" && NO_SCHEDULE_KEYS.has(t.key);
  const next: Taint[] = cur.filter((t) => !managedNoSched(t) && (want.kind === "keep" || !managedNoExec(t)));
  for (const t of noSchedule) {
    const existing = cur.find((c) => c.key === t.key && c.effect === t.effect);
    next.push(existing ?? t);
  }
  if (want.kind === "set" && want.taint) {
    const existing = cur.find((c) => c.key === want.taint!.key && c.effect === "NoExecute");
    next.push(existing ?? { ...want.taint, timeAdded: nowIso });
  }
  const key = (l: Taint[]) => l.map((t) => `${t.key}=${t.value ?? ""}:${t.effect}`).sort().join(",");
  return key(next) === key(cur) ? null : next;
}
