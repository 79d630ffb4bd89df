/**
 * The CronJob controller (upstream `cronjob_controllerv2.go`): starts a Job for each schedule
 * time (in `spec.timeZone`), honouring the starting deadline, the concurrency policy and
 * suspend, tracks active Jobs, trims history, and requeues each CronJob for its next schedule
 * time with its own timer (`Deno.cron` cannot take schedules made at run time).
 * @module
 */
import { R } from "../../api/client.ts";
import type { EventRecorder } from "../../api/events.ts";
import type { Informer } from "../../api/informer.ts";
import { isApiError } from "../../api/status.ts";
import { type KubeObject, objectKey } from "../../api/types.ts";
import type { ReconcileResult } from "../../api/workqueue.ts";
import { type Controller, type ControllerContext, queueController, WorkQueue } from "../controller.ts";
import { isControlledBy } from "../workload/ownership.ts";
import { withKind } from "../workload/pod_control.ts";
import { timestamp } from "../workload/pod_util.ts";
import { writeStatus } from "../workload/status_update.ts";
import { parseSchedule } from "../../api/cron/cron.ts";
import {
  type CronEvent,
  decide,
  jobFromTemplate,
  jobRef,
  jobsBeyondHistory,
  reconcileActive,
} from "./plan.ts";
import { nextScheduleDelay } from "./schedule.ts";
import { checkTimeZone, localTimeZone } from "../../api/cron/time_zone.ts";

const KIND = "CronJob";
const API_VERSION = "batch/v1";

/** Options of the CronJob controller. */
export interface CronJobControllerOptions {
  /** The zone of CronJobs without `spec.timeZone` (upstream: the controller manager's local zone). */
  defaultTimeZone?: string;
}

/** The CronJob controller's state. `reconcile(key)` is one sync. */
export class CronJobController {
  readonly queue = new WorkQueue<string>();
  readonly #ctx: ControllerContext;
  readonly #cronJobs: Informer;
  readonly #jobs: Informer;
  readonly #recorder: EventRecorder;
  readonly #defaultTz: string;

  constructor(ctx: ControllerContext, opts: CronJobControllerOptions = {}) {
    this.#ctx = ctx;
    this.#defaultTz = opts.defaultTimeZone ?? localTimeZone();
    this.#recorder = ctx.recorder("cronjob-controller");
    this.#cronJobs = ctx.informers.get(R.cronjobs);
    this.#jobs = ctx.informers.get(R.jobs);
    const enqueue = (cj: KubeObject) => this.queue.add(objectKey(cj));
    this.#cronJobs.addHandler({ onAdd: enqueue, onUpdate: (_, cj) => enqueue(cj), onDelete: enqueue });
    const onJob = (job: KubeObject) => {
      const ref = job.metadata.ownerReferences?.find((r) => r.controller && r.kind === KIND);
      if (ref) this.queue.add(`${job.metadata.namespace}/${ref.name}`);
    };
    this.#jobs.addHandler({ onAdd: onJob, onUpdate: (_, j) => onJob(j), onDelete: onJob });
  }

  #emit(cj: KubeObject, events: CronEvent[]) {
    for (const e of events) this.#recorder.event(cj, e.type, e.reason, e.message);
  }

  /** One level-based sync of the CronJob `namespace/name`. */
  async reconcile(key: string): Promise<ReconcileResult | void> {
    const cached = this.#cronJobs.getByKey(key);
    if (!cached) return;
    const cj = withKind(structuredClone(cached), API_VERSION, KIND);
    const client = this.#ctx.client;
    const tz = cj.spec?.timeZone ?? this.#defaultTz;
    if (cj.spec?.timeZone !== undefined && cj.spec?.timeZone !== null) {
      try {
        checkTimeZone(tz);
      } catch (e) {
        this.#recorder.event(
          cj,
          "Warning",
          "UnknownTimeZone",
          `invalid timeZone: "${tz}": ${(e as Error).message}`,
        );
        return;
      }
    }
    const jobs = this.#jobs.list(cj.metadata.namespace).filter((j) => isControlledBy(j, cj.metadata.uid));
    const active = reconcileActive(cj, jobs);
    this.#emit(cj, active.events);
    let status = active.status;
    let changed = active.changed;
    for (const ref of active.missing) {
      const job = await client.tryGet(R.jobs, ref.namespace ?? cj.metadata.namespace, ref.name);
      if (job) continue;
      this.#recorder.event(cj, "Normal", "MissingJob", `Active job went missing: ${ref.name}`);
      status.active = status.active.filter((r: { uid: string }) => r.uid !== ref.uid);
      changed = true;
    }
    const write = async () => {
      if (changed) await writeStatus(client, R.cronjobs, cj, status);
    };
    if (cj.metadata.deletionTimestamp || cj.spec?.suspend) {
      return void await this.#finish(cj, jobs, status, changed);
    }

    if (/TZ/.test(cj.spec?.schedule ?? "")) {
      this.#recorder.event(
        cj,
        "Warning",
        "UnsupportedSchedule",
        `CRON_TZ or TZ used in schedule "${cj.spec.schedule}" is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details`,
      );
    }
    let schedule;
    try {
      schedule = parseSchedule(cj.spec?.schedule ?? "", tz);
    } catch (e) {
      this.#recorder.event(
        cj,
        "Warning",
        "UnparseableSchedule",
        `unparseable schedule: "${cj.spec?.schedule}" : ${(e as Error).message}`,
      );
      await write();
      return;
    }
    const now = this.#ctx.now();
    const current = { ...cj, status };
    const d = decide(current, now, schedule);
    this.#emit(cj, d.events);
    let requeueAfterMs = d.requeueAfterMs;
    if (d.kind === "start") {
      if (d.replace) {
        for (const ref of [...status.active]) {
          let job;
          try {
            job = await client.get(R.jobs, ref.namespace ?? cj.metadata.namespace, ref.name);
          } catch (e) {
            this.#recorder.event(cj, "Warning", "FailedGet", `Get job: ${(e as Error).message}`);
            await write();
            throw e;
          }
          if (!await this.#deleteJob(cj, job, status)) {
            await write();
            throw new Error(`could not replace job ${job.metadata.namespace}/${job.metadata.name}`);
          }
          changed = true;
        }
      }
      const request = jobFromTemplate(cj, d.scheduledTime, tz);
      let job: KubeObject;
      let existed = false;
      try {
        job = await client.create(R.jobs, request);
      } catch (e) {
        if (isApiError(e, 409) && e.reason === "AlreadyExists") {
          existed = true;
          job = await client.get(R.jobs, cj.metadata.namespace!, request.metadata.name!);
          if (
            !isControlledBy(job, cj.metadata.uid) ||
            status.active.some((r: { uid: string }) => r.uid === job.metadata.uid)
          ) {
            await write();
            return;
          }
        } else {
          this.#recorder.event(cj, "Warning", "FailedCreate", `Error creating job: ${(e as Error).message}`);
          await write();
          throw e;
        }
      }
      if (!existed) {
        this.#recorder.event(cj, "Normal", "SuccessfulCreate", `Created job ${job.metadata.name}`);
      }
      status = {
        ...status,
        active: [...status.active, jobRef(job)],
        lastScheduleTime: timestamp(d.scheduledTime),
      };
      changed = true;
      requeueAfterMs = nextScheduleDelay({ ...cj, status }, now, schedule);
    }
    await this.#finish(cj, jobs, status, changed);
    return requeueAfterMs !== undefined ? { requeueAfterMs: Math.max(requeueAfterMs, 0) } : undefined;
  }

  /** History cleanup, then the status write (upstream `sync` after `syncCronJob`). */
  async #finish(cj: KubeObject, jobs: KubeObject[], status: KubeObject["status"], changed: boolean) {
    if (!cj.metadata.deletionTimestamp) {
      for (const job of jobsBeyondHistory({ ...cj, status }, jobs)) {
        if (await this.#deleteJob(cj, job, status)) changed = true;
      }
    }
    if (changed) await writeStatus(this.#ctx.client, R.cronjobs, cj, status);
  }

  /** Upstream `deleteJob`: Background deletion, then out of the active list. Mutates `status`. */
  async #deleteJob(cj: KubeObject, job: KubeObject, status: KubeObject["status"]): Promise<boolean> {
    try {
      await this.#ctx.client.delete(R.jobs, job.metadata.namespace!, job.metadata.name!, {
        propagationPolicy: "Background",
      });
    } catch (e) {
      if (isApiError(e, 404)) return false;
      this.#recorder.event(cj, "Warning", "FailedDelete", `Deleted job: ${(e as Error).message}`);
      return false;
    }
    status.active = (status.active ?? []).filter((r: { uid: string }) => r.uid !== job.metadata.uid);
    this.#recorder.event(cj, "Normal", "SuccessfulDelete", `Deleted job ${job.metadata.name}`);
    return true;
  }
}

/** The CronJob controller as a {@link Controller}. */
export function cronJobController(ctx: ControllerContext, opts: CronJobControllerOptions = {}): Controller {
  const c = new CronJobController(ctx, opts);
  return queueController("cronjob-controller", c.queue, (key) => c.reconcile(key), ctx.options.workers ?? 2);
}
