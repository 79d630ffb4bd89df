/**
 * The ReplicaSet controller (upstream `pkg/controller/replicaset`): keeps `spec.replicas` pods
 * alive, adopting and releasing pods by selector, and reports status. Informer events only queue
 * keys; `reconcile` reads the caches, decides with {@link planReplicas}, then acts.
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
import { labelsEqual, ownersSelecting, resolveControllerRef, sameRef } from "../workload/lookup.ts";
import {
  applyClaims,
  controllerRef,
  getControllerOf,
  planClaims,
  recheckOwner,
} from "../workload/ownership.ts";
import {
  createPod,
  deletePod,
  isNamespaceTerminating,
  podFromTemplate,
  withKind,
} from "../workload/pod_control.ts";
import { isPodActive, isPodReady } from "../workload/pod_util.ts";
import { SLOW_START_INITIAL_BATCH_SIZE, slowStartBatch } from "../workload/slow_start.ts";
import { writeStatus } from "../workload/status_update.ts";
import {
  availabilityRequeueMs,
  BURST_REPLICAS,
  planReplicas,
  replicaSetStatus,
  statusChanged,
} from "./plan.ts";

const KIND = "ReplicaSet";
const API_VERSION = "apps/v1";

/** Options of the ReplicaSet controller. */
export interface ReplicaSetControllerOptions {
  /** Most creations or deletions per sync (upstream `--replicaset-burst`... default 500). */
  burstReplicas?: number;
}

/** The ReplicaSet controller's state: caches, queue, expectations. `reconcile(key)` is one sync. */
export class ReplicaSetController {
  readonly queue = new WorkQueue<string>();
  readonly expectations: Expectations;
  readonly #ctx: ControllerContext;
  readonly #rs: Informer;
  readonly #pods: Informer;
  readonly #recorder: EventRecorder;
  readonly #burst: number;

  constructor(ctx: ControllerContext, opts: ReplicaSetControllerOptions = {}) {
    this.#ctx = ctx;
    this.#burst = opts.burstReplicas ?? BURST_REPLICAS;
    this.expectations = new Expectations({ now: ctx.now });
    this.#recorder = ctx.recorder("replicaset-controller");
    this.#rs = ctx.informers.get(R.replicasets);
    this.#pods = ctx.informers.get(R.pods);
    this.#rs.addHandler({
      onAdd: (rs) => this.queue.add(objectKey(rs)),
      onUpdate: (_, rs) => this.queue.add(objectKey(rs)),
      onDelete: (rs) => {
        this.expectations.delete(objectKey(rs));
        this.queue.add(objectKey(rs));
      },
    });
    this.#pods.addHandler({
      onAdd: (pod) => this.#addPod(pod),
      onUpdate: (old, pod) => this.#updatePod(old, pod),
      onDelete: (pod) => this.#deletePod(pod),
    });
  }

  #addPod(pod: KubeObject) {
    if (pod.metadata.deletionTimestamp) return this.#deletePod(pod);
    if (getControllerOf(pod)) {
      const rs = resolveControllerRef(pod, KIND, this.#rs);
      if (!rs) return;
      this.expectations.creationObserved(objectKey(rs));
      this.queue.add(objectKey(rs));
      return;
    }
    for (const rs of ownersSelecting(pod, this.#rs)) this.queue.add(objectKey(rs));
  }

  #updatePod(old: KubeObject, pod: KubeObject) {
    if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
    const labelsChanged = !labelsEqual(old.metadata.labels, pod.metadata.labels);
    if (pod.metadata.deletionTimestamp) {
      this.#deletePod(pod);
      if (labelsChanged) this.#deletePod(old);
      return;
    }
    const oldRef = getControllerOf(old), curRef = getControllerOf(pod);
    const refChanged = !sameRef(oldRef, curRef);
    if (refChanged && oldRef) {
      const rs = resolveControllerRef(old, KIND, this.#rs);
      if (rs) this.queue.add(objectKey(rs));
    }
    if (curRef) {
      const rs = resolveControllerRef(pod, KIND, this.#rs);
      if (!rs) return;
      this.queue.add(objectKey(rs));
      const minReady = rs.spec?.minReadySeconds ?? 0;
      if (!isPodReady(old) && isPodReady(pod) && minReady > 0) {
        this.queue.addAfter(objectKey(rs), minReady * 1000 + 1000);
      }
      return;
    }
    if (labelsChanged || refChanged) {
      for (const rs of ownersSelecting(pod, this.#rs)) this.queue.add(objectKey(rs));
    }
  }

  #deletePod(pod: KubeObject) {
    const rs = resolveControllerRef(pod, KIND, this.#rs);
    if (!rs) return;
    this.expectations.deletionObserved(objectKey(rs), objectKey(pod));
    this.queue.add(objectKey(rs));
  }

  /** Active pods of ReplicaSets that share `rs`'s controller (upstream `getIndirectlyRelatedPods`). */
  #relatedPods(rs: KubeObject): KubeObject[] {
    const owner = getControllerOf(rs);
    if (!owner) return [];
    const siblings = new Set(
      this.#rs.list(rs.metadata.namespace).filter((r) => getControllerOf(r)?.uid === owner.uid).map((r) =>
        r.metadata.uid
      ),
    );
    return this.#pods.list(rs.metadata.namespace).filter((p) => siblings.has(getControllerOf(p)?.uid));
  }

  /** One level-based sync of the ReplicaSet `namespace/name`. */
  async reconcile(key: string): Promise<ReconcileResult | void> {
    const cached = this.#rs.getByKey(key);
    if (!cached) {
      this.expectations.delete(key);
      return;
    }
    const rs = withKind(cached, API_VERSION, KIND);
    const client = this.#ctx.client;
    const needsSync = this.expectations.satisfied(key);
    const selector = fromLabelSelectorObject(rs.spec?.selector);
    const candidates = this.#pods.list(rs.metadata.namespace).filter(isPodActive);
    const plan = planClaims(rs, selector, candidates);
    const active = await applyClaims(client, R.pods, plan, {
      ref: controllerRef(rs, API_VERSION, KIND),
      canAdopt: recheckOwner(client, R.replicasets, rs),
    });

    let manageError: string | undefined;
    let thrown: unknown;
    if (needsSync && !rs.metadata.deletionTimestamp) {
      try {
        await this.#manage(key, rs, active);
      } catch (e) {
        thrown = e;
        manageError = (e as Error)?.message ?? String(e);
      }
    }
    const now = this.#ctx.now();
    const status = replicaSetStatus(rs, active, manageError, now);
    let current = rs;
    if (statusChanged(rs, status)) current = await writeStatus(client, R.replicasets, rs, status);
    if (thrown) throw thrown;
    const after = availabilityRequeueMs(current, status);
    return after !== undefined ? { requeueAfterMs: after } : undefined;
  }

  async #manage(key: string, rs: KubeObject, active: KubeObject[]): Promise<void> {
    const plan = planReplicas(rs, active, this.#relatedPods(rs), this.#ctx.now(), this.#burst);
    const client = this.#ctx.client;
    if (plan.create > 0) {
      this.expectations.expectCreations(key, plan.create);
      const ref = controllerRef(rs, API_VERSION, KIND);
      const result = await slowStartBatch(plan.create, SLOW_START_INITIAL_BATCH_SIZE, async () => {
        try {
          await createPod(client, this.#recorder, rs, podFromTemplate(rs.spec.template, rs, ref));
        } catch (e) {
          if (!isNamespaceTerminating(e)) throw e;
        }
      });
      for (let i = result.successes; i < plan.create; i++) this.expectations.creationObserved(key);
      if (result.error) throw result.error;
      return;
    }
    if (plan.delete.length) {
      this.expectations.expectDeletions(key, plan.delete.map(objectKey));
      const errors: unknown[] = [];
      await Promise.all(plan.delete.map(async (pod) => {
        try {
          await deletePod(client, this.#recorder, rs, pod);
        } catch (e) {
          this.expectations.deletionObserved(key, objectKey(pod));
          if (!isApiError(e, 404)) errors.push(e);
        }
      }));
      if (errors.length) throw errors[0];
    }
  }
}

/** The ReplicaSet controller as a {@link Controller}. */
export function replicaSetController(
  ctx: ControllerContext,
  opts: ReplicaSetControllerOptions = {},
): Controller {
  const c = new ReplicaSetController(ctx, opts);
  return queueController(
    "replicaset-controller",
    c.queue,
    (key) => c.reconcile(key),
    ctx.options.workers ?? 5,
  );
}
