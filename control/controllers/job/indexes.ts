/**
 * Indexed Jobs, pure (upstream `indexed_job_utils.go`): completion indexes of pods, the
 * `status.completedIndexes` interval string ("1,3-5"), the lowest pending indexes to start, and
 * which pods with duplicate or out-of-range indexes to remove.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { sortActivePods } from "../workload/ranking.ts";

/** The annotation and label carrying an Indexed Job pod's index. */
export const JOB_COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index";
/** The environment variable that exposes the index to containers. */
export const COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX";

/** A pod's completion index from its annotation (or label); -1 when missing or invalid. */
export function completionIndex(pod: KubeObject): number {
  const v = pod.metadata.annotations?.[JOB_COMPLETION_INDEX] ?? pod.metadata.labels?.[JOB_COMPLETION_INDEX];
  if (v === undefined || !/^\d+$/.test(v)) return -1;
  const n = Number(v);
  return n <= 2147483647 ? n : -1;
}

/** A closed range of completion indexes. */
export interface Interval {
  first: number;
  last: number;
}

/** Upstream `parseIndexesFromString`: intervals below `completions`. */
export function parseIndexes(s: string | undefined, completions: number): Interval[] {
  const out: Interval[] = [];
  for (const part of (s ?? "").split(",")) {
    if (!part) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) continue;
    const first = Number(m[1]);
    let last = m[2] !== undefined ? Number(m[2]) : first;
    if (first >= completions) continue;
    last = Math.min(last, completions - 1);
    const prev = out.at(-1);
    if (prev && prev.last + 1 >= first) prev.last = Math.max(prev.last, last);
    else out.push({ first, last });
  }
  return out;
}

/** Upstream `orderedIntervals.String`. */
export function formatIndexes(intervals: Interval[]): string {
  return intervals.map((i) => (i.first === i.last ? `${i.first}` : `${i.first}-${i.last}`)).join(",");
}

/** Upstream `withOrderedIndexes`: the intervals with more indexes merged in. */
export function withIndexes(intervals: Interval[], indexes: number[]): Interval[] {
  const all = new Set<number>();
  for (const i of intervals) for (let x = i.first; x <= i.last; x++) all.add(x);
  for (const x of indexes) all.add(x);
  const sorted = [...all].sort((a, b) => a - b);
  const out: Interval[] = [];
  for (const x of sorted) {
    const prev = out.at(-1);
    if (prev && prev.last + 1 === x) prev.last = x;
    else out.push({ first: x, last: x });
  }
  return out;
}

/** How many indexes the intervals hold. */
export function totalIndexes(intervals: Interval[]): number {
  return intervals.reduce((n, i) => n + i.last - i.first + 1, 0);
}

/** Whether `x` is in one of the intervals. */
export function hasIndex(intervals: Interval[], x: number): boolean {
  return intervals.some((i) => i.first <= x && x <= i.last);
}

/** Upstream `firstPendingIndexes`: the lowest `count` indexes neither succeeded nor active. */
export function firstPendingIndexes(
  activePods: KubeObject[],
  succeeded: Interval[],
  count: number,
  completions: number,
): number[] {
  const active = new Set(activePods.map(completionIndex).filter((x) => x >= 0));
  const out: number[] = [];
  for (let x = 0; x < completions && out.length < count; x++) {
    if (!active.has(x) && !hasIndex(succeeded, x)) out.push(x);
  }
  return out;
}

/**
 * Upstream `appendDuplicatedIndexPodsForRemoval`: pods with invalid or out-of-range indexes, and
 * all but the best pod of each index, are to remove; the rest remain.
 */
export function duplicatedIndexPods(
  pods: KubeObject[],
  completions: number,
): { remove: KubeObject[]; keep: KubeObject[] } {
  const byIndex = new Map<number, KubeObject[]>();
  const remove: KubeObject[] = [], keep: KubeObject[] = [];
  for (const pod of pods) {
    const ix = completionIndex(pod);
    if (ix < 0 || ix >= completions) {
      remove.push(pod);
      continue;
    }
    if (!byIndex.has(ix)) byIndex.set(ix, []);
    byIndex.get(ix)!.push(pod);
  }
  for (const [, group] of [...byIndex].sort((a, b) => a[0] - b[0])) {
    const sorted = sortActivePods(group);
    remove.push(...sorted.slice(0, -1));
    keep.push(sorted.at(-1)!);
  }
  return { remove, keep };
}

/** Upstream `podGenerateNameWithIndex`: `<job>-<index>-`, the job name cut to fit 63 characters. */
export function generateNameWithIndex(jobName: string, index: number): string {
  const append = `-${index}-`;
  const max = 63 - 5;
  const prefix = jobName.length + append.length > max ? jobName.slice(0, max - append.length) : jobName;
  return prefix + append;
}

/** Upstream `addCompletionIndexEnvVariables`: JOB_COMPLETION_INDEX from the pod's annotation. */
export function withCompletionIndexEnv(spec: KubeObject["spec"]): KubeObject["spec"] {
  const add = (c: KubeObject["spec"]) => {
    const env = [...(c.env ?? [])];
    if (!env.some((e: { name: string }) => e.name === COMPLETION_INDEX_ENV)) {
      env.push({
        name: COMPLETION_INDEX_ENV,
        valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${JOB_COMPLETION_INDEX}']` } },
      });
    }
    return { ...c, env };
  };
  return {
    ...spec,
    containers: (spec?.containers ?? []).map(add),
    ...(spec?.initContainers ? { initContainers: spec.initContainers.map(add) } : {}),
  };
}
