/**
 * The TTL-after-finished controller (upstream `pkg/controller/ttlafterfinished`): a finished Job
 * with `ttlSecondsAfterFinished` is deleted that long after its `Complete` or `Failed` condition,
 * after a fresh read confirms it, with the UID as precondition.
 *
 * Upstream deletes with Foreground propagation; Skiff defaults to Background (the Job goes at
 * once, the garbage collector removes its pods after), configurable with `propagationPolicy`.
 * @module
 */
import { R } from "../../api/client.ts";
import type { Informer } from "../../api/informer.ts";
import { isApiError } from "../../api/status.ts";
import { type KubeObject, objectKey } from "../../api/types.ts";
import type { ReconcileResult } from "../../api/workqueue.ts";
import { type Controller, type ControllerContext, queueController, WorkQueue } from "../controller.ts";
import { isJobFinished, jobFinishTime } from "./plan.ts";

/** Whether the Job is finished, has a TTL and is not being deleted (upstream `needsCleanup`). */
export function needsCleanup(job: KubeObject): boolean {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  return ttl !== undefined && ttl !== null && !job.metadata.deletionTimestamp && isJobFinished(job);
}

/** When the Job's TTL expires, in ms since the epoch (undefined when it has none or is not finished). */
export function expireAt(job: KubeObject): number | undefined {
  if (!needsCleanup(job)) return undefined;
  const finished = jobFinishTime(job);
  return finished === undefined ? undefined : finished + job.spec.ttlSecondsAfterFinished * 1000;
}

/** Options of the TTL-after-finished controller. */
export interface TtlControllerOptions {
  propagationPolicy?: "Background" | "Foreground";
}

/** The TTL-after-finished controller's state. */
export class TtlAfterFinishedController {
  readonly queue = new WorkQueue<string>();
  readonly #ctx: ControllerContext;
  readonly #jobs: Informer;
  readonly #policy: "Background" | "Foreground";

  constructor(ctx: ControllerContext, opts: TtlControllerOptions = {}) {
    this.#ctx = ctx;
    this.#policy = opts.propagationPolicy ?? "Background";
    this.#jobs = ctx.informers.get(R.jobs);
    const enqueue = (job: KubeObject) => {
      if (needsCleanup(job)) this.queue.add(objectKey(job));
    };
    this.#jobs.addHandler({ onAdd: enqueue, onUpdate: (_, j) => enqueue(j) });
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const job = this.#jobs.getByKey(key);
    if (!job) return;
    const at = expireAt(job);
    if (at === undefined) return;
    const now = this.#ctx.now();
    if (at > now) return { requeueAfterMs: at - now };
    const client = this.#ctx.client;
    const fresh = await client.tryGet(R.jobs, job.metadata.namespace!, job.metadata.name!);
    if (!fresh) return;
    const freshAt = expireAt(fresh);
    if (freshAt === undefined) return;
    if (freshAt > now) return { requeueAfterMs: freshAt - now };
    try {
      await client.delete(R.jobs, fresh.metadata.namespace!, fresh.metadata.name!, {
        propagationPolicy: this.#policy,
        preconditions: { uid: fresh.metadata.uid },
      });
    } catch (e) {
      if (!isApiError(e, 404) && !isApiError(e, 409)) throw e;
    }
  }
}

/** The TTL-after-finished controller as a {@link Controller}. */
export function ttlAfterFinishedController(
  ctx: ControllerContext,
  opts: TtlControllerOptions = {},
): Controller {
  const c = new TtlAfterFinishedController(ctx, opts);
  return queueController(
    "ttl-after-finished-controller",
    c.queue,
    (key) => c.reconcile(key),
    ctx.options.workers ?? 2,
  );
}
