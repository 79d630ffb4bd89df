/**
 * One Job sync's working state and the two halves of it that write (upstream `manageJob` and
 * `trackJobStatusAndRemoveFinalizers`): starting and stopping pods, and counting finished pods
 * through the tracking finalizer, flushing `uncountedTerminatedPods` before removing finalizers.
 * @module
 */
import { type Client, R } from "../../api/client.ts";
import type { EventRecorder } from "../../api/events.ts";
import { isApiError } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import type { Expectations } from "../workload/expectations.ts";
import { controllerRef } from "../workload/ownership.ts";
import {
  createPod,
  deletePod,
  isNamespaceTerminating,
  podFromTemplate,
  podsPrefix,
  withKind,
} from "../workload/pod_control.ts";
import { isPodReady } from "../workload/pod_util.ts";
import { SLOW_START_INITIAL_BATCH_SIZE, slowStartBatch } from "../workload/slow_start.ts";
import { writeStatus } from "../workload/status_update.ts";
import {
  formatIndexes,
  generateNameWithIndex,
  type Interval,
  JOB_COMPLETION_INDEX,
  totalIndexes,
  withCompletionIndexEnv,
  withIndexes,
} from "./indexes.ts";
import {
  type BackoffRecord,
  backoffRemainingMs,
  countUncounted,
  ensureCondition,
  hasTrackingFinalizer,
  isIndexed,
  JOB_TRACKING_FINALIZER,
  type JobCondition,
  newCondition,
  planManageJob,
  planTracking,
  type TrackedCounts,
} from "./plan.ts";

const KIND = "Job";
const API_VERSION = "batch/v1";
const CONTROLLER_UID = "batch.kubernetes.io/controller-uid";
const JOB_NAME = "batch.kubernetes.io/job-name";

/** What the write halves of a sync use from the controller. */
export interface JobDeps {
  client: Client;
  recorder: EventRecorder;
  now(): number;
  expectations: Expectations;
  /** Pod UIDs whose finalizer removal was sent but not yet seen, by Job key. */
  rmFinalizers: Map<string, Set<string>>;
  /** Pod failure back-off records, by Job key (saved when counts are flushed). */
  backoffs: Map<string, BackoffRecord>;
  baseBackoffMs: number;
  maxBackoffMs: number;
}

/** One sync's working state (upstream `syncJobCtx`). */
export interface JobSync {
  key: string;
  job: KubeObject;
  pods: KubeObject[];
  active: KubeObject[];
  activeCount: number;
  ready: number;
  terminating: number;
  succeeded: number;
  expectedRm: Set<string>;
  finished?: JobCondition;
  backoff: BackoffRecord;
  prevSucceededIndexes: Interval[];
  succeededIndexes: Interval[];
  requeueAfterMs?: number;
}

/**
 * Removes the tracking finalizer with a JSON patch guarded by a `test` of its position. When the
 * cached pod was stale (the test fails), the pod is read afresh and the patch retried once; a
 * pod that is gone, or no longer has the finalizer, counts as done.
 */
export async function removeTrackingFinalizer(client: Client, pod: KubeObject): Promise<void> {
  let current: KubeObject | null = pod;
  for (let attempt = 0; current && attempt < 2; attempt++) {
    const i = current.metadata.finalizers?.indexOf(JOB_TRACKING_FINALIZER) ?? -1;
    if (i < 0) return;
    try {
      await client.patch(R.pods, pod.metadata.namespace!, pod.metadata.name!, [
        { op: "test", path: `/metadata/finalizers/${i}`, value: JOB_TRACKING_FINALIZER },
        { op: "remove", path: `/metadata/finalizers/${i}` },
      ], "json");
      return;
    } catch (e) {
      if (isApiError(e, 404)) return;
      if (!isApiError(e, 422) || attempt > 0) throw e;
      current = await client.tryGet(R.pods, pod.metadata.namespace!, pod.metadata.name!);
      if (current && current.metadata.uid !== pod.metadata.uid) return;
    }
  }
}

/** Upstream `manageJob`. */
export async function manageJob(deps: JobDeps, s: JobSync): Promise<void> {
  const { job, key } = s;
  const now = deps.now();
  const plan = planManageJob(
    job,
    s.active,
    s.succeeded,
    s.terminating,
    s.succeededIndexes,
    backoffRemainingMs(s.backoff, now, deps.baseBackoffMs, deps.maxBackoffMs),
  );
  const client = deps.client;
  if (plan.kind === "wait") {
    s.requeueAfterMs = Math.min(s.requeueAfterMs ?? Infinity, plan.ms);
    return;
  }
  if (plan.kind === "delete") {
    deps.expectations.expectDeletionCount(key, plan.pods.length);
    let error: unknown;
    await Promise.all(plan.pods.map(async (pod) => {
      try {
        await removeTrackingFinalizer(deps.client, pod);
        await deletePod(client, deps.recorder, job, pod);
        s.activeCount--;
        s.terminating++;
        if (isPodReady(pod)) s.ready--;
      } catch (e) {
        deps.expectations.deletionObserved(key);
        if (!isApiError(e, 404)) error ??= e;
        else {
          s.activeCount--;
          if (isPodReady(pod)) s.ready--;
        }
      }
    }));
    if (error) throw error;
    return;
  }
  if (plan.kind !== "create") return;
  deps.expectations.expectCreations(key, plan.count);
  const template = structuredClone(job.spec.template ?? {});
  template.metadata = { ...(template.metadata ?? {}) };
  if (!job.spec?.selector) {
    template.metadata.labels = {
      ...(template.metadata.labels ?? {}),
      [CONTROLLER_UID]: job.metadata.uid,
      [JOB_NAME]: job.metadata.name,
      "controller-uid": job.metadata.uid,
      "job-name": job.metadata.name,
    };
  }
  if (isIndexed(job)) template.spec = withCompletionIndexEnv(template.spec);
  const finalizers = template.metadata.finalizers ?? [];
  if (!finalizers.includes(JOB_TRACKING_FINALIZER)) {
    template.metadata.finalizers = [...finalizers, JOB_TRACKING_FINALIZER];
  }
  const ref = controllerRef(job, API_VERSION, KIND);
  const result = await slowStartBatch(plan.count, SLOW_START_INITIAL_BATCH_SIZE, async (i) => {
    let t = template, generateName = podsPrefix(job.metadata.name!);
    const ix = plan.indexes?.[i];
    if (ix !== undefined) {
      t = structuredClone(template);
      t.metadata.annotations = { ...(t.metadata.annotations ?? {}), [JOB_COMPLETION_INDEX]: String(ix) };
      t.metadata.labels = { ...(t.metadata.labels ?? {}), [JOB_COMPLETION_INDEX]: String(ix) };
      t.spec = { ...t.spec, hostname: `${job.metadata.name}-${ix}` };
      generateName = generateNameWithIndex(job.metadata.name!, ix);
    }
    try {
      await createPod(client, deps.recorder, job, podFromTemplate(t, job, ref, generateName));
    } catch (e) {
      if (!isNamespaceTerminating(e)) throw e;
    }
  });
  s.activeCount += result.successes;
  for (let i = result.successes; i < plan.count; i++) deps.expectations.creationObserved(key);
  if (result.error) throw result.error;
}

/** Upstream `trackJobStatusAndRemoveFinalizers` + `flushUncountedAndRemoveFinalizers` + `enactJobFinished`. */
export async function trackJobStatus(deps: JobDeps, s: JobSync, needsFlush: boolean): Promise<void> {
  const { key } = s;
  let job = s.job;
  const client = deps.client;
  const withFinalizer = new Set(
    s.pods.filter((p) => hasTrackingFinalizer(p) && !s.expectedRm.has(p.metadata.uid!)).map((p) =>
      p.metadata.uid!
    ),
  );
  const counts: TrackedCounts = {
    succeeded: job.status.succeeded ?? 0,
    failed: job.status.failed ?? 0,
    uncountedTerminatedPods: job.status.uncountedTerminatedPods,
  };
  if (countUncounted(counts, withFinalizer)) needsFlush = true;
  const finishing = !s.finished
    ? undefined
    : s.finished.type === "SuccessCriteriaMet" || s.finished.type === "Complete"
    ? "success" as const
    : "failure" as const;
  const plan = planTracking(
    { ...job, status: { ...job.status, uncountedTerminatedPods: counts.uncountedTerminatedPods } },
    s.pods,
    s.expectedRm,
    finishing,
    s.prevSucceededIndexes,
  );
  if (plan.addSucceeded.length || plan.addFailed.length) needsFlush = true;
  counts.uncountedTerminatedPods = {
    succeeded: [...counts.uncountedTerminatedPods.succeeded, ...plan.addSucceeded],
    failed: [...counts.uncountedTerminatedPods.failed, ...plan.addFailed],
  };
  const extra: Record<string, unknown> = {};
  if (isIndexed(job)) {
    if (plan.newSucceededIndexes.length) needsFlush = true;
    s.succeededIndexes = withIndexes(s.succeededIndexes, plan.newSucceededIndexes);
    const str = formatIndexes(s.succeededIndexes);
    if (str !== (job.status.completedIndexes ?? "")) needsFlush = true;
    counts.succeeded = totalIndexes(s.succeededIndexes);
    extra.completedIndexes = str;
  }
  let conditions: JobCondition[] = job.status.conditions ?? [];
  const now = deps.now();
  if (s.finished?.type === "FailureTarget") {
    conditions = [...conditions, s.finished];
    needsFlush = true;
    s.finished = newCondition("Failed", "True", s.finished.reason ?? "", s.finished.message ?? "", now);
  }
  if (s.finished?.type === "SuccessCriteriaMet") {
    if (!conditions.some((c) => c.type === "SuccessCriteriaMet" && c.status === "True")) {
      conditions = [...conditions, s.finished];
      needsFlush = true;
    }
    s.finished = newCondition("Complete", "True", s.finished.reason ?? "", s.finished.message ?? "", now);
  }
  const status = () => ({ ...job.status, ...extra, ...counts, conditions });
  if (needsFlush) {
    job = await writeStatus(client, R.jobs, job, status());
    deps.backoffs.set(key, s.backoff);
    needsFlush = false;
  }
  let rmError: unknown;
  if (plan.removeFinalizer.length) {
    const expected = deps.rmFinalizers.get(key) ?? new Set<string>();
    deps.rmFinalizers.set(key, expected);
    await Promise.all(plan.removeFinalizer.map(async (pod) => {
      expected.add(pod.metadata.uid!);
      try {
        await removeTrackingFinalizer(deps.client, pod);
        withFinalizer.delete(pod.metadata.uid!);
      } catch (e) {
        expected.delete(pod.metadata.uid!);
        rmError ??= e;
      }
    }));
  }
  if (countUncounted(counts, withFinalizer)) needsFlush = true;
  if (rmError) {
    if (needsFlush) await writeStatus(client, R.jobs, job, status());
    throw rmError;
  }
  let finished = false;
  const u = counts.uncountedTerminatedPods;
  if (!plan.reachedMax && s.finished && u.succeeded.length + u.failed.length === 0 && s.terminating === 0) {
    conditions = ensureCondition(
      conditions,
      s.finished.type,
      s.finished.status,
      s.finished.reason ?? "",
      s.finished.message ?? "",
      now,
    ).conditions;
    if (s.finished.type === "Complete") extra.completionTime = s.finished.lastTransitionTime;
    finished = needsFlush = true;
  }
  if (!needsFlush) return;
  job = await writeStatus(client, R.jobs, job, status());
  if (!finished) return;
  if (s.finished!.type === "Complete") {
    const completions = job.spec?.completions;
    if (completions !== undefined && counts.succeeded > completions) {
      deps.recorder.event(
        job,
        "Warning",
        "TooManySucceededPods",
        "Too many succeeded pods running after completion count reached",
      );
    }
    deps.recorder.event(withKind(job, API_VERSION, KIND), "Normal", "Completed", "Job completed");
  } else {
    deps.recorder.event(
      withKind(job, API_VERSION, KIND),
      "Warning",
      s.finished!.reason ?? "",
      s.finished!.message ?? "",
    );
  }
}
