/**
 * Which watched pod updates need a sync, as the kubelet's config source decides
 * (`pkg/kubelet/config/config.go`, `checkAndUpdatePod`): an update that changes nothing but the
 * status is not a pod update. Upstream then only "reconciles" (keeps the API's status, syncs
 * for readiness gates alone). Here such an update is skipped only when its status is the very
 * one this kubelet last wrote, that is the watch echoing the kubelet's own status write; a status
 * someone else wrote still gets a sync, which writes the kubelet's status back (the kubelet is
 * the source of truth of a pod's status). Everything else the kubelet reads (spec, labels,
 * annotations, deletion, owner references, finalizers) is compared, which is more than
 * upstream's `podsDifferSemantically` (spec, labels, annotations, deletion): a change there
 * syncs, so no sync upstream makes is skipped.
 * @module
 */
import type { Pod, PodStatus } from "kubernetes-types/core/v1.d.ts";
import { deepEqual } from "../../control/api/types.ts";

const TERMINAL = new Set(["Succeeded", "Failed"]);

/** Metadata a write changes without changing the pod (the store's bookkeeping). */
const BOOKKEEPING = new Set(["resourceVersion", "managedFields"]);

/** Whether `old` and `pod` differ in anything but their status and the store's bookkeeping. Pure. */
export function podsDiffer(old: Pod, pod: Pod): boolean {
  for (const k of new Set([...Object.keys(old), ...Object.keys(pod)])) {
    if (k === "status" || k === "metadata") continue;
    if (!deepEqual((old as Record<string, unknown>)[k], (pod as Record<string, unknown>)[k])) return true;
  }
  const a = (old.metadata ?? {}) as Record<string, unknown>,
    b = (pod.metadata ?? {}) as Record<string, unknown>;
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (!BOOKKEEPING.has(k) && !deepEqual(a[k], b[k])) return true;
  }
  return false;
}

/**
 * Whether an update from `old` to `pod` needs a sync: no when it is the echo of the kubelet's
 * own status write (`own`: the statuses it is writing or last wrote for this pod; the watch
 * event may arrive before the write's answer) and nothing else changed, and that status is not
 * terminal (kubelet.ts stops a terminal pod's sandbox when it syncs it). Pure.
 */
export function updateNeedsSync(old: Pod, pod: Pod, own: PodStatus[]): boolean {
  if (old.metadata?.uid !== pod.metadata?.uid) return true;
  if (podsDiffer(old, pod)) return true;
  // A terminal status is acted on when it is seen (the pod's sandbox stopped): always a sync.
  if (TERMINAL.has(pod.status?.phase ?? "")) return true;
  return !own.some((s) => deepEqual(pod.status, s));
}
