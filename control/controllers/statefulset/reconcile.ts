/**
 * The StatefulSet controller (upstream `pkg/controller/statefulset`): stable pod names and
 * storage, ordered or parallel management, rolling updates by ordinal with a partition, and
 * ControllerRevision history. Claims stay Pending until storage binds them; pods are not held
 * back for that, as upstream.
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
import { equalRevision, sortRevisions } from "../workload/history.ts";
import { labelsEqual, ownersSelecting, resolveControllerRef, sameRef } from "../workload/lookup.ts";
import {
  applyClaims,
  controllerRef,
  getControllerOf,
  planClaims,
  recheckOwner,
} from "../workload/ownership.ts";
import { withKind } from "../workload/pod_control.ts";
import { isPodReady } from "../workload/pod_util.ts";
import { slowStartBatch } from "../workload/slow_start.ts";
import { writeStatus } from "../workload/status_update.ts";
import { claimsFor, isMemberOf, ordinalOf, withIdentity, withStorage } from "./identity.ts";
import { completeRollingUpdate, planStatefulSet, type SetStep, statusDiffers } from "./plan.ts";
import { applyRevision, chooseUpdateRevision, newRevision, revisionsToTruncate } from "./revisions.ts";

const KIND = "StatefulSet";
const API_VERSION = "apps/v1";

/** The StatefulSet controller's state. `reconcile(key)` is one sync. */
export class StatefulSetController {
  readonly queue = new WorkQueue<string>();
  readonly #ctx: ControllerContext;
  readonly #sets: Informer;
  readonly #pods: Informer;
  readonly #revisions: Informer;
  readonly #claims: Informer;
  readonly #recorder: EventRecorder;

  constructor(ctx: ControllerContext) {
    this.#ctx = ctx;
    this.#recorder = ctx.recorder("statefulset-controller");
    this.#sets = ctx.informers.get(R.statefulsets);
    this.#pods = ctx.informers.get(R.pods);
    this.#revisions = ctx.informers.get(R.controllerrevisions);
    this.#claims = ctx.informers.get(R.persistentvolumeclaims);
    const enqueue = (s: KubeObject) => this.queue.add(objectKey(s));
    this.#sets.addHandler({ onAdd: enqueue, onUpdate: (_, s) => enqueue(s), onDelete: enqueue });
    const owner = (obj: KubeObject) => resolveControllerRef(obj, KIND, this.#sets);
    this.#pods.addHandler({
      onAdd: (pod) => {
        const set = owner(pod);
        if (set) return enqueue(set);
        if (!getControllerOf(pod)) ownersSelecting(pod, this.#sets).forEach(enqueue);
      },
      onUpdate: (old, pod) => {
        if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
        const refChanged = !sameRef(getControllerOf(old), getControllerOf(pod));
        if (refChanged) {
          const o = owner(old);
          if (o) enqueue(o);
        }
        const set = owner(pod);
        if (set) {
          enqueue(set);
          const minReady = set.spec?.minReadySeconds ?? 0;
          if (!isPodReady(old) && isPodReady(pod) && minReady > 0) {
            this.queue.addAfter(objectKey(set), minReady * 1000 + 1000);
          }
          return;
        }
        if (!getControllerOf(pod) && (refChanged || !labelsEqual(old.metadata.labels, pod.metadata.labels))) {
          ownersSelecting(pod, this.#sets).forEach(enqueue);
        }
      },
      onDelete: (pod) => {
        const set = owner(pod);
        if (set) enqueue(set);
      },
    });
    this.#revisions.addHandler({
      onAdd: (rev) => {
        const set = owner(rev);
        if (set) enqueue(set);
      },
      onDelete: (rev) => {
        const set = owner(rev);
        if (set) enqueue(set);
      },
    });
  }

  /** One level-based sync of the StatefulSet `namespace/name`. */
  async reconcile(key: string): Promise<ReconcileResult | void> {
    const cached = this.#sets.getByKey(key);
    if (!cached) return;
    const set = withKind(cached, API_VERSION, KIND);
    const client = this.#ctx.client;
    const sel = set.spec?.selector ?? {};
    if (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length) {
      this.#recorder.event(
        set,
        "Warning",
        "SelectingAll",
        "This statefulset is selecting all pods. A non-empty selector is required.",
      );
      return;
    }
    const selector = fromLabelSelectorObject(sel);
    const ref = controllerRef(set, API_VERSION, KIND);
    const canAdopt = recheckOwner(client, R.statefulsets, set);
    const pods = await applyClaims(
      client,
      R.pods,
      planClaims(set, selector, this.#pods.list(set.metadata.namespace), (p) => isMemberOf(set, p)),
      { ref, canAdopt },
    );
    const revisions = sortRevisions(
      await applyClaims(
        client,
        R.controllerrevisions,
        planClaims(set, selector, this.#revisions.list(set.metadata.namespace)),
        {
          ref,
          canAdopt,
        },
      ),
    );
    const { update, collisionCount } = await this.#updateRevision(set, revisions);
    const current = revisions.find((r) => r.metadata.name === set.status?.currentRevision) ?? update;
    const info = {
      currentName: current.metadata.name!,
      updateName: update.metadata.name!,
      currentSet: applyRevision(set, current),
      updateSet: applyRevision(set, update),
    };
    const plan = planStatefulSet(
      { ...set, status: { ...set.status, collisionCount } },
      pods,
      info,
      this.#ctx.now(),
    );
    let thrown: unknown;
    try {
      await this.#execute(set, plan.monotonic, plan.replicas, plan.condemned, plan.update);
    } catch (e) {
      thrown = e;
    }
    const status = completeRollingUpdate(set, plan.status);
    if (statusDiffers(set, status)) {
      await writeStatus(client, R.statefulsets, set, { ...set.status, ...status });
    }
    if (thrown) throw thrown;
    const live = new Set([
      info.currentName,
      info.updateName,
      ...pods.map((p) => p.metadata.labels?.["controller-revision-hash"] ?? ""),
    ]);
    for (const r of revisionsToTruncate(set, revisions, live)) {
      await client.delete(R.controllerrevisions, r.metadata.namespace!, r.metadata.name!).catch((e) => {
        if (!isApiError(e, 404)) throw e;
      });
    }
    const minReady = set.spec?.minReadySeconds ?? 0;
    if (minReady > 0 && status.availableReplicas !== (set.spec?.replicas ?? 1)) {
      return { requeueAfterMs: minReady * 1000 };
    }
  }

  /** Upstream `getStatefulSetRevisions`' update revision: reuse, renumber (rollback) or create. */
  async #updateRevision(
    set: KubeObject,
    sorted: KubeObject[],
  ): Promise<{ update: KubeObject; collisionCount: number }> {
    const client = this.#ctx.client;
    let collisionCount = set.status?.collisionCount ?? 0;
    const choice = chooseUpdateRevision(set, sorted);
    if (choice.kind === "latest") return { update: choice.revision, collisionCount };
    if (choice.kind === "renumber") {
      return {
        update: await client.update(R.controllerrevisions, { ...choice.revision, revision: choice.to }),
        collisionCount,
      };
    }
    // history.CreateControllerRevision: on a name clash with different data, bump the collision count.
    for (let attempt = 0; attempt < 10; attempt++) {
      const rev = newRevision(set, choice.revision.revision, collisionCount);
      try {
        return { update: await client.create(R.controllerrevisions, rev), collisionCount };
      } catch (e) {
        if (!(isApiError(e, 409) && e.reason === "AlreadyExists")) throw e;
        const existing = await client.get(R.controllerrevisions, rev.metadata.namespace!, rev.metadata.name!);
        if (equalRevision(existing, rev)) return { update: existing, collisionCount };
        collisionCount++;
      }
    }
    throw new Error(`could not find a free ControllerRevision name for StatefulSet ${set.metadata.name}`);
  }

  async #execute(
    set: KubeObject,
    monotonic: boolean,
    replicas: SetStep[][],
    condemned: SetStep[],
    update: SetStep[],
  ) {
    const runGroup = async (steps: SetStep[]) => {
      for (const step of steps) await this.#step(set, step);
    };
    if (monotonic) {
      for (const group of [...replicas, condemned, update]) await runGroup(group);
      return;
    }
    const parallel = async (groups: SetStep[][]) => {
      const work = groups.filter((g) => g.length);
      const r = await slowStartBatch(work.length, 1, (i) => runGroup(work[i]));
      if (r.error) throw r.error;
    };
    await parallel(replicas);
    await parallel(condemned.map((s) => [s]));
    await runGroup(update);
  }

  async #step(set: KubeObject, step: SetStep) {
    const client = this.#ctx.client;
    const ns = set.metadata.namespace!;
    switch (step.kind) {
      case "recreate":
        if (step.failed) {
          this.#recorder.event(
            set,
            "Warning",
            "RecreatingFailedPod",
            `StatefulSet ${ns}/${set.metadata.name} is recreating failed Pod ${step.pod.metadata.name}`,
          );
        } else {
          this.#recorder.event(
            set,
            "Normal",
            "RecreatingTerminatedPod",
            `StatefulSet ${ns}/${set.metadata.name} is recreating terminated Pod ${step.pod.metadata.name}`,
          );
        }
        return await this.#podCall(
          set,
          "delete",
          step.pod,
          () => client.delete(R.pods, ns, step.pod.metadata.name!),
        );
      case "create":
        await this.#createClaims(set, step.pod);
        return await this.#podCall(set, "create", step.pod, () => client.create(R.pods, step.pod));
      case "claims":
        return await this.#createClaims(set, step.pod);
      case "update": {
        const fixed = withStorage(set, withIdentity(set, step.pod));
        if (!fixed.spec?.volumes?.length) delete fixed.spec.volumes;
        await this.#createClaims(set, fixed);
        return await this.#podCall(set, "update", fixed, () => client.update(R.pods, fixed));
      }
      case "delete":
        return await this.#podCall(
          set,
          "delete",
          step.pod,
          () =>
            client.delete(R.pods, ns, step.pod.metadata.name!).catch((e) => {
              if (!isApiError(e, 404)) throw e;
              return step.pod;
            }),
        );
    }
  }

  /** Runs a pod write and records upstream's `recordPodEvent`. */
  async #podCall(
    set: KubeObject,
    verb: "create" | "update" | "delete",
    pod: KubeObject,
    call: () => Promise<unknown>,
  ) {
    const title = verb[0].toUpperCase() + verb.slice(1);
    try {
      await call();
    } catch (e) {
      // Upstream sinks AlreadyExists on create: the informer has not shown the pod yet.
      if (verb === "create" && isApiError(e, 409)) throw e;
      this.#recorder.event(
        set,
        "Warning",
        `Failed${title}`,
        `${verb} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${
          (e as Error).message
        }`,
      );
      throw e;
    }
    this.#recorder.event(
      set,
      "Normal",
      `Successful${title}`,
      `${verb} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`,
    );
  }

  /** Upstream `createPersistentVolumeClaims`: each missing claim of the pod's ordinal is created. */
  async #createClaims(set: KubeObject, pod: KubeObject) {
    for (const claim of claimsFor(set, ordinalOf(pod)).values()) {
      const existing = this.#claims.get(claim.metadata.namespace, claim.metadata.name!);
      if (existing) {
        if (existing.metadata.deletionTimestamp) {
          throw new Error(`pvc ${claim.metadata.name} is being deleted`);
        }
        continue;
      }
      try {
        await this.#ctx.client.create(R.persistentvolumeclaims, claim);
        this.#recorder.event(
          set,
          "Normal",
          "SuccessfulCreate",
          `create Claim ${claim.metadata.name} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} success`,
        );
      } catch (e) {
        if (isApiError(e, 409)) continue;
        this.#recorder.event(
          set,
          "Warning",
          "FailedCreate",
          `create Claim ${claim.metadata.name} for Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${
            (e as Error).message
          }`,
        );
        throw e;
      }
    }
  }
}

/** The StatefulSet controller as a {@link Controller}. */
export function statefulSetController(ctx: ControllerContext): Controller {
  const c = new StatefulSetController(ctx);
  return queueController(
    "statefulset-controller",
    c.queue,
    (key) => c.reconcile(key),
    ctx.options.workers ?? 2,
  );
}
