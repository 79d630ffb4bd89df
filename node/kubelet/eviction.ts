/**
 * Local ephemeral storage eviction (the eviction manager's `localStorageEviction`): the kubelet
 * measures, every few seconds, what each running pod writes to node-local storage and evicts a
 * pod that exceeds a limit, with upstream's messages:
 *
 * - an `emptyDir` (not `medium: Memory`) over its `sizeLimit`:
 *   `Usage of EmptyDir volume "x" exceeds the limit "1Mi". `
 * - a container whose log exceeds its `limits.ephemeral-storage`:
 *   `Container c exceeded its local ephemeral storage limit "1Mi". `
 * - a pod whose emptyDirs and logs together exceed the sum of its containers' limits:
 *   `Pod ephemeral local storage usage exceeds the total limit of containers 2Mi. `
 *
 * The evicted pod is stopped at once and marked `Failed`, reason `Evicted`, with a
 * `DisruptionTarget` condition (reason `TerminationByKubelet`) and an `Evicted` event.
 * Unlike upstream, containers' writable layers are not measured (docs/storage.md).
 * Decisions are pure ({@linkcode storageEviction}); measuring is {@linkcode diskUsage}.
 * @module
 */
import type { Pod, PodStatus } from "kubernetes-types/core/v1.d.ts";
import { quantityValue } from "../env/quantity.ts";

/** What was measured for one pod, in bytes. */
export interface PodStorageUsage {
  /** emptyDir volume name → bytes (disk-backed emptyDirs only). */
  emptyDirs: Map<string, number>;
  /** Container name → bytes of its logs. */
  logs: Map<string, number>;
}

/** Whether the pod has anything the eviction manager watches. Pure. */
export function hasStorageLimits(pod: Pod): boolean {
  return (pod.spec?.volumes ?? []).some((v) =>
    v.emptyDir?.sizeLimit !== undefined && v.emptyDir.medium !== "Memory"
  ) ||
    (pod.spec?.containers ?? []).some((c) => c.resources?.limits?.["ephemeral-storage"] !== undefined);
}

/** The eviction message for the pod, or null when it is within its limits. Pure. */
export function storageEviction(pod: Pod, usage: PodStorageUsage): string | null {
  for (const v of pod.spec?.volumes ?? []) {
    const limit = v.emptyDir?.sizeLimit;
    if (limit === undefined || v.emptyDir?.medium === "Memory") continue;
    const bytes = quantityValue(String(limit));
    if (bytes !== undefined && (usage.emptyDirs.get(v.name) ?? 0) > bytes) {
      return `Usage of EmptyDir volume "${v.name}" exceeds the limit "${limit}". `;
    }
  }
  let total = 0;
  let limited = true;
  for (const c of pod.spec?.containers ?? []) {
    const limit = c.resources?.limits?.["ephemeral-storage"];
    if (limit === undefined) {
      limited = false;
      continue;
    }
    const bytes = quantityValue(String(limit)) ?? Infinity;
    total += bytes;
    if ((usage.logs.get(c.name) ?? 0) > bytes) {
      return `Container ${c.name} exceeded its local ephemeral storage limit "${limit}". `;
    }
  }
  if (limited && (pod.spec?.containers ?? []).length > 0) {
    const used = [...usage.emptyDirs.values(), ...usage.logs.values()].reduce((a, b) => a + b, 0);
    if (used > total) {
      return `Pod ephemeral local storage usage exceeds the total limit of containers ${
        formatBytes(total)
      }. `;
    }
  }
  return null;
}

function formatBytes(n: number): string {
  for (const [suffix, size] of [["Gi", 1 << 30], ["Mi", 1 << 20], ["Ki", 1 << 10]] as const) {
    if (n % size === 0 && n >= size) return `${n / size}${suffix}`;
  }
  return String(n);
}

/** Bytes of the regular files under `path` (symlinks not followed; a missing path is 0). */
export async function diskUsage(path: string): Promise<number> {
  let total = 0;
  let entries: Deno.DirEntry[];
  try {
    entries = [];
    for await (const e of Deno.readDir(path)) entries.push(e);
  } catch {
    return await Deno.lstat(path).then((s) => (s.isFile ? s.size : 0), () => 0);
  }
  for (const e of entries) {
    const p = `${path}/${e.name}`;
    if (e.isDirectory) total += await diskUsage(p);
    else if (e.isFile) total += await Deno.lstat(p).then((s) => s.size, () => 0);
  }
  return total;
}

/** Measures the pod's disk-backed emptyDirs (under `podDir`) and its containers' logs (under `logDir`). */
export async function measurePodStorage(pod: Pod, podDir: string, logDir: string): Promise<PodStorageUsage> {
  const usage: PodStorageUsage = { emptyDirs: new Map(), logs: new Map() };
  for (const v of pod.spec?.volumes ?? []) {
    if (!v.emptyDir || v.emptyDir.medium === "Memory") continue;
    usage.emptyDirs.set(v.name, await diskUsage(`${podDir}/volumes/kubernetes.io~empty-dir/${v.name}`));
  }
  for (const c of pod.spec?.containers ?? []) usage.logs.set(c.name, await diskUsage(`${logDir}/${c.name}`));
  return usage;
}

/** The final status of an evicted pod: Failed, reason Evicted, a DisruptionTarget condition. Pure. */
export function evictedStatus(status: PodStatus, message: string, now: number): PodStatus {
  return {
    ...status,
    phase: "Failed",
    reason: "Evicted",
    message,
    conditions: [
      ...(status.conditions ?? []).filter((c) => c.type !== "DisruptionTarget"),
      {
        type: "DisruptionTarget",
        status: "True",
        reason: "TerminationByKubelet",
        message,
        lastTransitionTime: new Date(now).toISOString().replace(/\.\d+Z$/, "Z"),
      },
    ],
  };
}
