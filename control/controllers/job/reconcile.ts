/**
 * The Job controller (upstream `pkg/controller/job`): runs pods to `completions` with
 * `parallelism`, retries failures with back-off up to `backoffLimit`, enforces
 * `activeDeadlineSeconds`, supports suspend and Indexed completion, and counts pods exactly once
 * through the `batch.kubernetes.io/job-tracking` finalizer and `status.uncountedTerminatedPods`.
 * @module
 */
import { R } from "../../api/client.ts";
import type { EventRecorder } from "../../api/events.ts";
import type { Informer } from "../../api/informer.ts";
import { fromLabelSelectorObject } from "../../api/selector.ts";
import { isApiError } from "../../api/status.ts";
import { type KubeObject, objectKey } from "../../api/types.ts";
import type { ReconcileResult } from "../../api/workqueue.ts";
import { type Controller, type ControllerContext, queueController, WorkQueue } from "../controller.ts";
import { Expectations } from "../workload/expectations.ts";
import { ownersSelecting, resolveControllerRef } from "../workload/lookup.ts";
import {
  applyClaims,
  controllerRef,
  getControllerOf,
  planClaims,
  recheckOwner,
} from "../workload/ownership.ts";
import { deletePod, withKind } from "../workload/pod_control.ts";
import { isPodReady } from "../workload/pod_util.ts";
import { completionIndex, parseIndexes, totalIndexes, withIndexes } from "./indexes.ts";
import {
  activeDeadlineRemainingMs,
  activePods,
  type BackoffRecord,
  countTerminating,
  DEFAULT_POD_FAILURE_BACKOFF_MS,
  ensureCondition,
  findCondition,
  hasTrackingFinalizer,
  isIndexed,
  isJobFinished,
  isSuspended,
  JOB_TRACKING_FINALIZER,
  MAX_POD_FAILURE_BACKOFF_MS,
  newCondition,
  newFinishedPods,
  nextBackoffRecord,
  pastActiveDeadline,
  pastBackoffLimitOnFailure,
  readyCount,
} from "./plan.ts";
import { type JobDeps, type JobSync, manageJob, removeTrackingFinalizer, trackJobStatus } from "./sync.ts";

const KIND = "Job";
const API_VERSION = "batch/v1";
const CONTROLLER_UID = "batch.kubernetes.io/controller-uid";

/** Options of the Job controller. */
export interface JobControllerOptions {
  /** First pod-failure back-off (upstream 10 s); tests shrink it. */
  podFailureBackoffMs?: number;
  /** Longest pod-failure back-off (upstream 6 min). */
  maxPodFailureBackoffMs?: number;
}

/** The Job controller's state. `reconcile(key)` is one sync. */
export class JobController {
  readonly queue = new WorkQueue<string>();
  readonly expectations: Expectations;
  /** Pod UIDs whose finalizer removal was sent but not yet seen (upstream `finalizerExpectations`). */
  readonly #rmFinalizers = new Map<string, Set<string>>();
  readonly #backoffs = new Map<string, BackoffRecord>();
  readonly #ctx: ControllerContext;
  readonly #jobs: Informer;
  readonly #pods: Informer;
  readonly #recorder: EventRecorder;
  readonly #deps: JobDeps;

  constructor(ctx: ControllerContext, opts: JobControllerOptions = {}) {
    this.#ctx = ctx;
    this.expectations = new Expectations({ now: ctx.now });
    this.#recorder = ctx.recorder("job-controller");
    this.#deps = {
      client: ctx.client,
      recorder: this.#recorder,
      now: ctx.now,
      expectations: this.expectations,
      rmFinalizers: this.#rmFinalizers,
      backoffs: this.#backoffs,
      baseBackoffMs: opts.podFailureBackoffMs ?? DEFAULT_POD_FAILURE_BACKOFF_MS,
      maxBackoffMs: opts.maxPodFailureBackoffMs ?? MAX_POD_FAILURE_BACKOFF_MS,
    };
    this.#jobs = ctx.informers.get(R.jobs);
    this.#pods = ctx.informers.get(R.pods);
    const enqueue = (job: KubeObject) => this.queue.add(objectKey(job));
    this.#jobs.addHandler({ onAdd: enqueue, onUpdate: (_, j) => enqueue(j), onDelete: enqueue });
    this.#pods.addHandler({
      onAdd: (pod) => {
        if (pod.metadata.deletionTimestamp) return this.#podGone(pod);
        const job = resolveControllerRef(pod, KIND, this.#jobs);
        if (job) {
          this.expectations.creationObserved(objectKey(job));
          return enqueue(job);
        }
        this.#orphan(pod);
      },
      onUpdate: (old, pod) => {
        if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
        if (hasTrackingFinalizer(old) && !hasTrackingFinalizer(pod)) this.#finalizerGone(pod);
        if (pod.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) return this.#podGone(pod);
        const oldJob = resolveControllerRef(old, KIND, this.#jobs);
        const job = resolveControllerRef(pod, KIND, this.#jobs);
        if (oldJob && oldJob !== job) enqueue(oldJob);
        if (job) return enqueue(job);
        this.#orphan(pod);
      },
      onDelete: (pod) => {
        this.#finalizerGone(pod);
        this.#podGone(pod);
      },
    });
  }

  #podGone(pod: KubeObject) {
    const job = resolveControllerRef(pod, KIND, this.#jobs);
    if (!job) return this.#orphan(pod);
    this.expectations.deletionObserved(objectKey(job));
    this.queue.add(objectKey(job));
  }

  #finalizerGone(pod: KubeObject) {
    const ref = getControllerOf(pod);
    if (ref?.kind !== KIND) return;
    this.#rmFinalizers.get(`${pod.metadata.namespace}/${ref.name}`)?.delete(pod.metadata.uid!);
  }

  /** Orphans matching a Job may be adopted; pods of a gone Job with our finalizer must lose it. */
  #orphan(pod: KubeObject) {
    const ref = getControllerOf(pod);
    if (ref?.kind === KIND && hasTrackingFinalizer(pod)) {
      this.queue.add(`${pod.metadata.namespace}/${ref.name}`);
    }
    if (!ref) { for (const job of ownersSelecting(pod, this.#jobs)) this.queue.add(objectKey(job)); }
  }

  /** Removes our finalizer from pods left behind by a deleted or finished Job. */
  async #releaseLeftovers(namespace: string, name: string, uid?: string) {
    const left = this.#pods.list(namespace).filter((p) => {
      const ref = getControllerOf(p);
      return ref?.kind === KIND && ref.name === name && (uid === undefined || ref.uid === uid) &&
        hasTrackingFinalizer(p) &&
        (uid === undefined || p.status?.phase === "Succeeded" || p.status?.phase === "Failed" ||
          !!p.metadata.deletionTimestamp);
    });
    const errors: unknown[] = [];
    await Promise.all(
      left.map((p) => removeTrackingFinalizer(this.#ctx.client, p).catch((e) => errors.push(e))),
    );
    if (errors.length) throw errors[0];
  }

  /** One level-based sync of the Job `namespace/name` (upstream `syncJob`). */
  async reconcile(key: string): Promise<ReconcileResult | void> {
    const cached = this.#jobs.getByKey(key);
    const [namespace, name] = key.split("/");
    if (!cached) {
      this.expectations.delete(key);
      this.#rmFinalizers.delete(key);
      this.#backoffs.delete(key);
      await this.#releaseLeftovers(namespace, name);
      return;
    }
    const job = withKind(structuredClone(cached), API_VERSION, KIND);
    if (isJobFinished(job)) {
      this.#backoffs.delete(key);
      await this.#releaseLeftovers(namespace, name, job.metadata.uid);
      return;
    }
    const mode = job.spec?.completionMode;
    if (mode !== undefined && mode !== "NonIndexed" && mode !== "Indexed") {
      this.#recorder.event(
        job,
        "Warning",
        "UnknownCompletionMode",
        "Skipped Job sync because completion mode is unknown",
      );
      return;
    }
    const now = this.#ctx.now();
    job.status = { ...(job.status ?? {}) };
    job.status.uncountedTerminatedPods = {
      succeeded: [...(job.status.uncountedTerminatedPods?.succeeded ?? [])],
      failed: [...(job.status.uncountedTerminatedPods?.failed ?? [])],
    };
    const satisfied = this.expectations.satisfied(key);
    const pods = await this.#claimPods(job);
    const active = activePods(pods);
    // A snapshot, as upstream's getExpectedUIDs: the live set shrinks as pod updates arrive,
    // while `pods` below stays the snapshot taken now.
    const expectedRm = new Set(this.#rmFinalizers.get(key) ?? []);
    const s: JobSync = {
      key,
      job,
      pods,
      active,
      activeCount: active.length,
      ready: readyCount(active),
      terminating: countTerminating(pods),
      succeeded: 0,
      expectedRm,
      backoff: { failuresAfterLastSuccess: 0 },
      prevSucceededIndexes: [],
      succeededIndexes: [],
    };
    const fresh = newFinishedPods(job, pods, expectedRm);
    const uncounted = job.status.uncountedTerminatedPods;
    s.succeeded = (job.status.succeeded ?? 0) + fresh.succeeded.length + uncounted.succeeded.length;
    const failed = (job.status.failed ?? 0) + fresh.failed.length + uncounted.failed.length;
    if (!job.status.startTime && !isSuspended(job)) {
      job.status.startTime = new Date(Math.floor(now / 1000) * 1000).toISOString().replace(".000Z", "Z");
    }
    s.backoff = nextBackoffRecord(
      this.#backoffs.get(key) ?? { failuresAfterLastSuccess: 0 },
      fresh.succeeded,
      fresh.failed,
      now,
    );

    const backoffLimit = job.spec?.backoffLimit ?? 6;
    const met = findCondition(job, "SuccessCriteriaMet");
    if (met?.status === "True") s.finished = met;
    if (!s.finished) {
      const target = findCondition(job, "FailureTarget");
      if (target?.status === "True") {
        s.finished = newCondition("Failed", "True", target.reason ?? "", target.message ?? "", now);
      }
    }
    if (!s.finished) {
      if (failed > backoffLimit || pastBackoffLimitOnFailure(job, pods)) {
        s.finished = newCondition(
          "FailureTarget",
          "True",
          "BackoffLimitExceeded",
          "Job has reached the specified backoff limit",
          now,
        );
      } else if (pastActiveDeadline(job, now)) {
        s.finished = newCondition(
          "FailureTarget",
          "True",
          "DeadlineExceeded",
          "Job was active longer than specified deadline",
          now,
        );
      } else {
        const left = activeDeadlineRemainingMs(job, now);
        if (left !== undefined) s.requeueAfterMs = left;
      }
    }
    if (isIndexed(job)) {
      const completions = job.spec?.completions ?? 0;
      s.prevSucceededIndexes = parseIndexes(job.status.completedIndexes, completions);
      const fresh = pods.filter((p) => p.status?.phase === "Succeeded" && hasTrackingFinalizer(p))
        .map(completionIndex).filter((ix) => ix >= 0 && ix < completions);
      s.succeededIndexes = withIndexes(s.prevSucceededIndexes, fresh);
      s.succeeded = totalIndexes(s.succeededIndexes);
    }

    let manageError: unknown;
    let suspendChanged = false;
    if (s.finished) {
      const { deleted, deletedReady, error } = await this.#deleteActivePods(job, s.active);
      if (deleted !== s.activeCount || !satisfied) s.finished = undefined;
      s.activeCount -= deleted;
      s.terminating += deleted;
      s.ready -= deletedReady;
      manageError = error;
    } else {
      let managed = false;
      if (satisfied && !job.metadata.deletionTimestamp) {
        try {
          await manageJob(this.#deps, s);
        } catch (e) {
          manageError = e;
        }
        managed = true;
      }
      const completions = job.spec?.completions;
      const complete = completions === undefined || completions === null
        ? s.succeeded > 0 && s.activeCount === 0
        : s.succeeded >= completions && s.activeCount === 0;
      if (complete) {
        s.finished = newCondition(
          "SuccessCriteriaMet",
          "True",
          "CompletionsReached",
          "Reached expected number of succeeded pods",
          now,
        );
      } else if (managed) {
        const [status, reason, msg, ev] = isSuspended(job)
          ? ["True", "JobSuspended", "Job suspended", "Suspended"] as const
          : ["False", "JobResumed", "Job resumed", "Resumed"] as const;
        const r = ensureCondition(job.status.conditions, "Suspended", status, reason, msg, now);
        if (r.changed) {
          job.status.conditions = r.conditions;
          suspendChanged = true;
          this.#recorder.event(job, "Normal", ev, msg);
          if (!isSuspended(job)) {
            job.status.startTime = new Date(Math.floor(now / 1000) * 1000).toISOString().replace(
              ".000Z",
              "Z",
            );
          }
        }
      }
    }
    const needsUpdate = suspendChanged || s.activeCount !== (cached.status?.active ?? 0) ||
      s.ready !== cached.status?.ready || s.terminating !== cached.status?.terminating ||
      job.status.startTime !== cached.status?.startTime;
    job.status.active = s.activeCount;
    job.status.ready = s.ready;
    job.status.terminating = s.terminating;
    await trackJobStatus(this.#deps, s, needsUpdate);
    if (manageError) throw manageError;
    return s.requeueAfterMs !== undefined ? { requeueAfterMs: s.requeueAfterMs } : undefined;
  }

  /** The Job's selector; upstream's API server always sets one, we fall back to the controller-uid label. */
  #selector(job: KubeObject) {
    return fromLabelSelectorObject(
      job.spec?.selector ?? { matchLabels: { [CONTROLLER_UID]: job.metadata.uid } },
    );
  }

  /** Upstream `getPodsForJob`: claims pods, adopting with the tracking finalizer. */
  async #claimPods(job: KubeObject): Promise<KubeObject[]> {
    const client = this.#ctx.client;
    const plan = planClaims(job, this.#selector(job), this.#pods.list(job.metadata.namespace));
    const pods = await applyClaims(client, R.pods, plan, {
      ref: controllerRef(job, API_VERSION, KIND),
      canAdopt: recheckOwner(client, R.jobs, job),
      finalizers: [JOB_TRACKING_FINALIZER],
    });
    return pods.map((p) =>
      getControllerOf(p)?.uid === job.metadata.uid && !hasTrackingFinalizer(p) &&
        plan.adopt.some((a) => a.metadata.uid === p.metadata.uid)
        ? {
          ...p,
          metadata: { ...p.metadata, finalizers: [...(p.metadata.finalizers ?? []), JOB_TRACKING_FINALIZER] },
        }
        : p
    );
  }

  /** Upstream `deleteActivePods`: DELETE calls that keep finalizers (tracking removes them). */
  async #deleteActivePods(job: KubeObject, pods: KubeObject[]) {
    let deleted = 0, deletedReady = 0;
    let error: unknown;
    await Promise.all(pods.map(async (pod) => {
      try {
        await deletePod(this.#ctx.client, this.#recorder, job, pod);
        deleted++;
      } catch (e) {
        if (isApiError(e, 404)) deleted++;
        else error ??= e;
      }
      if (isPodReady(pod)) deletedReady++;
    }));
    return { deleted, deletedReady, error };
  }
}

/** The Job controller as a {@link Controller}. */
export function jobController(ctx: ControllerContext, opts: JobControllerOptions = {}): Controller {
  const c = new JobController(ctx, opts);
  return queueController("job-controller", c.queue, (key) => c.reconcile(key), ctx.options.workers ?? 5);
}
