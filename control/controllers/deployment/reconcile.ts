/**
 * The Deployment controller (upstream `pkg/controller/deployment`): rolls ReplicaSets forward
 * (RollingUpdate or Recreate), scales them proportionally, keeps revisions and history, and
 * reports status so `kubectl rollout status/undo/history/pause/resume/restart` work. Decisions are
 * the pure functions of `plan.ts`, `status.ts` and `new_replica_set.ts`; this file reads the
 * caches and writes, in upstream's order.
 * @module
 */
import { R } from "../../api/client.ts";
import type { EventRecorder } from "../../api/events.ts";
import type { Informer } from "../../api/informer.ts";
import { fromLabelSelectorObject, matchesLabels } from "../../api/selector.ts";
import { isApiError } from "../../api/status.ts";
import { type KubeObject, objectKey } from "../../api/types.ts";
import type { ReconcileResult } from "../../api/workqueue.ts";
import { type Controller, type ControllerContext, queueController, WorkQueue } from "../controller.ts";
import { type Condition, getCondition, setCondition } from "../workload/conditions.ts";
import { semanticEqual } from "../workload/equality.ts";
import { labelsEqual, ownersSelecting, resolveControllerRef, sameRef } from "../workload/lookup.ts";
import {
  applyClaims,
  controllerRef,
  getControllerOf,
  isControlledBy,
  planClaims,
  recheckOwner,
} from "../workload/ownership.ts";
import { isNamespaceTerminating, withKind } from "../workload/pod_control.ts";
import { writeStatus } from "../workload/status_update.ts";
import { replicasAnnotationsNeedUpdate, setReplicasAnnotations } from "./annotations.ts";
import { buildNewReplicaSet, nextRevision, syncedNewReplicaSet } from "./new_replica_set.ts";
import {
  isScalingEvent,
  oldPodsRunning,
  planCleanup,
  planNewReplicaSet,
  planOldReplicaSets,
  planRecreateScaleDown,
  planScale,
  type ScaleStep,
} from "./plan.ts";
import { calculateStatus, condition, pausedConditions, rolloutStatus } from "./status.ts";
import {
  activeReplicaSets,
  deploymentComplete,
  equalIgnoreHash,
  findNewReplicaSet,
  findOldReplicaSets,
  hasProgressDeadline,
  maxSurge,
  Reason,
  replicas,
  REVISION_ANNOTATION,
} from "./util.ts";

const KIND = "Deployment";
const API_VERSION = "apps/v1";

/** One sync's view: the Deployment as last written, and its ReplicaSets as last seen or written. */
interface Sync {
  d: KubeObject;
  rss: Map<string, KubeObject>;
}

const list = (s: Sync) => [...s.rss.values()];

/** The Deployment controller's state: caches, queue, recorder. `reconcile(key)` is one sync. */
export class DeploymentController {
  readonly queue = new WorkQueue<string>();
  readonly #ctx: ControllerContext;
  readonly #deployments: Informer;
  readonly #rs: Informer;
  readonly #pods: Informer;
  readonly #recorder: EventRecorder;

  constructor(ctx: ControllerContext) {
    this.#ctx = ctx;
    this.#recorder = ctx.recorder("deployment-controller");
    this.#deployments = ctx.informers.get(R.deployments);
    this.#rs = ctx.informers.get(R.replicasets);
    this.#pods = ctx.informers.get(R.pods);
    const enqueue = (d: KubeObject) => this.queue.add(objectKey(d));
    this.#deployments.addHandler({ onAdd: enqueue, onUpdate: (_, d) => enqueue(d), onDelete: enqueue });
    this.#rs.addHandler({
      onAdd: (rs) => this.#onReplicaSet(rs),
      onUpdate: (old, rs) => {
        if (old.metadata.resourceVersion === rs.metadata.resourceVersion) return;
        const refChanged = !sameRef(getControllerOf(old), getControllerOf(rs));
        if (refChanged) this.#onReplicaSet(old);
        if (getControllerOf(rs)) return this.#onReplicaSet(rs);
        if (refChanged || !labelsEqual(old.metadata.labels, rs.metadata.labels)) this.#onReplicaSet(rs);
      },
      onDelete: (rs) => this.#onReplicaSet(rs),
    });
    // Recreate waits for old pods to go: look again when they change or disappear.
    const onPod = (pod: KubeObject) => {
      const rs = resolveControllerRef(pod, "ReplicaSet", this.#rs);
      const d = rs && resolveControllerRef(rs, KIND, this.#deployments);
      if (d && d.spec?.strategy?.type === "Recreate") enqueue(d);
    };
    this.#pods.addHandler({ onUpdate: (_, pod) => onPod(pod), onDelete: onPod });
  }

  #onReplicaSet(rs: KubeObject) {
    if (getControllerOf(rs)) {
      const d = resolveControllerRef(rs, KIND, this.#deployments);
      if (d) this.queue.add(objectKey(d));
      return;
    }
    for (const d of ownersSelecting(rs, this.#deployments)) this.queue.add(objectKey(d));
  }

  /** One level-based sync of the Deployment `namespace/name`. */
  async reconcile(key: string): Promise<ReconcileResult | void> {
    const cached = this.#deployments.getByKey(key);
    if (!cached) return;
    const client = this.#ctx.client;
    const s: Sync = { d: withKind(structuredClone(cached), API_VERSION, KIND), rss: new Map() };
    const sel = s.d.spec?.selector ?? {};
    if (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length) {
      this.#recorder.event(
        s.d,
        "Warning",
        "SelectingAll",
        "This deployment is selecting all pods. A non-empty selector is required.",
      );
      if ((s.d.status?.observedGeneration ?? 0) < (s.d.metadata.generation ?? 0)) {
        await writeStatus(client, R.deployments, s.d, {
          ...s.d.status,
          observedGeneration: s.d.metadata.generation,
        });
      }
      return;
    }
    const selector = fromLabelSelectorObject(sel);
    const claimed = await applyClaims(
      client,
      R.replicasets,
      planClaims(s.d, selector, this.#rs.list(s.d.metadata.namespace)),
      {
        ref: controllerRef(s.d, API_VERSION, KIND),
        canAdopt: recheckOwner(client, R.deployments, s.d),
      },
    );
    for (const rs of claimed) s.rss.set(rs.metadata.uid!, withKind(rs, API_VERSION, "ReplicaSet"));

    if (s.d.metadata.deletionTimestamp) return void await this.#syncStatusOnly(s);
    const paused = pausedConditions(s.d, this.#ctx.now());
    if (paused) s.d = await writeStatus(client, R.deployments, s.d, { ...s.d.status, conditions: paused });
    if (s.d.spec?.paused) return void await this.#sync(s);
    const { newRS, oldRSs } = await this.#allReplicaSets(s, false);
    if (isScalingEvent(s.d, newRS, oldRSs)) return void await this.#sync(s);
    const after = s.d.spec?.strategy?.type === "Recreate"
      ? await this.#rolloutRecreate(s, selector)
      : await this.#rolloutRolling(s);
    return after !== undefined ? { requeueAfterMs: after } : undefined;
  }

  // ---- ReplicaSets and revisions

  /** Upstream `getAllReplicaSetsAndSyncRevision`. */
  async #allReplicaSets(s: Sync, create: boolean): Promise<{ newRS?: KubeObject; oldRSs: KubeObject[] }> {
    const { all: oldRSs } = findOldReplicaSets(s.d, list(s));
    const newRS = await this.#newReplicaSet(s, oldRSs, create);
    return { newRS, oldRSs: findOldReplicaSets(s.d, list(s)).all };
  }

  async #newReplicaSet(s: Sync, oldRSs: KubeObject[], create: boolean): Promise<KubeObject | undefined> {
    const client = this.#ctx.client;
    const existing = findNewReplicaSet(s.d, list(s));
    if (existing) {
      const synced = syncedNewReplicaSet(s.d, existing, oldRSs);
      if (synced) return this.#store(s, await client.update(R.replicasets, synced));
      await this.#setRevision(s, existing.metadata.annotations?.[REVISION_ANNOTATION] ?? "");
      if (hasProgressDeadline(s.d) && !getCondition(s.d.status?.conditions, "Progressing")) {
        const msg = `Found new replica set "${existing.metadata.name}"`;
        await this.#setConditions(
          s,
          condition("Progressing", "True", Reason.FoundNewRS, msg, this.#ctx.now()),
        );
      }
      return existing;
    }
    if (!create) return undefined;

    const rs = buildNewReplicaSet(s.d, oldRSs);
    let created: KubeObject;
    let alreadyExists = false;
    try {
      created = await client.create(R.replicasets, rs);
    } catch (e) {
      if (isApiError(e, 409) && e.reason === "AlreadyExists") {
        alreadyExists = true;
        const found = this.#rs.get(rs.metadata.namespace, rs.metadata.name!) ??
          await client.get(R.replicasets, rs.metadata.namespace!, rs.metadata.name!);
        if (
          isControlledBy(found, s.d.metadata.uid) && equalIgnoreHash(s.d.spec?.template, found.spec?.template)
        ) {
          created = found;
        } else {
          const collisionCount = (s.d.status?.collisionCount ?? 0) + 1;
          s.d = await writeStatus(this.#ctx.client, R.deployments, s.d, { ...s.d.status, collisionCount });
          throw e;
        }
      } else if (isNamespaceTerminating(e)) {
        throw e;
      } else {
        const msg = `Failed to create new replica set "${rs.metadata.name}": ${(e as Error).message}`;
        if (hasProgressDeadline(s.d)) {
          await this.#setConditions(
            s,
            condition("Progressing", "False", Reason.FailedRSCreate, msg, this.#ctx.now()),
          )
            .catch(() => {});
        }
        this.#recorder.event(s.d, "Warning", Reason.FailedRSCreate, msg);
        throw e;
      }
    }
    this.#store(s, created);
    if (!alreadyExists && replicas(rs) > 0) {
      this.#recorder.event(
        s.d,
        "Normal",
        "ScalingReplicaSet",
        `Scaled up replica set ${created.metadata.name} to ${replicas(rs)}`,
      );
    }
    await this.#setRevision(s, String(nextRevision(oldRSs)));
    if (!alreadyExists && hasProgressDeadline(s.d)) {
      const msg = `Created new replica set "${created.metadata.name}"`;
      await this.#setConditions(
        s,
        condition("Progressing", "True", Reason.NewReplicaSet, msg, this.#ctx.now()),
      );
    }
    return created;
  }

  #store(s: Sync, rs: KubeObject): KubeObject {
    const obj = withKind(rs, API_VERSION, "ReplicaSet");
    s.rss.set(obj.metadata.uid!, obj);
    return obj;
  }

  /**
   * Upstream `SetDeploymentRevision`. Upstream writes the annotation with the status update (its
   * status strategy keeps metadata changes); we patch the Deployment's metadata, which works
   * whatever the status strategy keeps.
   */
  async #setRevision(s: Sync, rev: string) {
    if (s.d.metadata.annotations?.[REVISION_ANNOTATION] === rev) return;
    const patched = await this.#ctx.client.patch(R.deployments, s.d.metadata.namespace!, s.d.metadata.name!, {
      metadata: { annotations: { [REVISION_ANNOTATION]: rev } },
    });
    s.d = withKind(patched, API_VERSION, KIND);
  }

  async #setConditions(s: Sync, cond: Condition) {
    const conditions = setCondition<Condition>(s.d.status?.conditions, cond);
    s.d = await writeStatus(this.#ctx.client, R.deployments, s.d, { ...s.d.status, conditions });
  }

  // ---- scaling

  /** Upstream `scaleReplicaSet` (step.operation set) or `scaleReplicaSetAndRecordEvent`. */
  async #scale(s: Sync, step: ScaleStep): Promise<boolean> {
    const rs = s.rss.get(step.rs.metadata.uid!) ?? step.rs;
    const cur = replicas(rs);
    if (step.operation === undefined && cur === step.replicas) return false;
    const operation = step.operation ?? (cur < step.replicas ? "up" : "down");
    const sizeChanged = cur !== step.replicas;
    if (!sizeChanged && !replicasAnnotationsNeedUpdate(rs, s.d)) return false;
    const annotations = { ...(rs.metadata.annotations ?? {}) };
    setReplicasAnnotations(annotations, replicas(s.d), replicas(s.d) + maxSurge(s.d));
    const updated = await this.#ctx.client.update(R.replicasets, {
      ...rs,
      metadata: { ...rs.metadata, annotations },
      spec: { ...rs.spec, replicas: step.replicas },
    });
    this.#store(s, updated);
    if (sizeChanged) {
      this.#recorder.event(
        s.d,
        "Normal",
        "ScalingReplicaSet",
        `Scaled ${operation} replica set ${rs.metadata.name} to ${step.replicas} from ${cur}`,
      );
    }
    return sizeChanged;
  }

  async #scaleAll(s: Sync, steps: ScaleStep[]): Promise<boolean> {
    let scaled = false;
    for (const step of steps) if (await this.#scale(s, step)) scaled = true;
    return scaled;
  }

  #latest(s: Sync, rs: KubeObject | undefined): KubeObject | undefined {
    return rs && (s.rss.get(rs.metadata.uid!) ?? rs);
  }

  // ---- the four sync paths

  async #syncStatusOnly(s: Sync) {
    const { newRS, oldRSs } = await this.#allReplicaSets(s, false);
    await this.#syncDeploymentStatus(s, [...oldRSs, newRS], newRS);
  }

  /** Upstream `sync`: scaling events and paused Deployments. */
  async #sync(s: Sync) {
    const { newRS, oldRSs } = await this.#allReplicaSets(s, false);
    await this.#scaleAll(s, planScale(s.d, newRS, oldRSs));
    if (s.d.spec?.paused) await this.#cleanup(s, oldRSs);
    const latestNew = this.#latest(s, newRS);
    await this.#syncDeploymentStatus(s, [...oldRSs.map((rs) => this.#latest(s, rs)), latestNew], latestNew);
  }

  async #rolloutRolling(s: Sync): Promise<number | undefined> {
    const { newRS, oldRSs } = await this.#allReplicaSets(s, true);
    const all = () => [...oldRSs.map((rs) => this.#latest(s, rs)!), this.#latest(s, newRS)!];
    const target = planNewReplicaSet(s.d, all(), newRS!);
    if (target !== undefined && await this.#scale(s, { rs: newRS!, replicas: target })) {
      return await this.#syncRolloutStatus(s, all(), this.#latest(s, newRS));
    }
    const olds = activeReplicaSets(oldRSs.map((rs) => this.#latest(s, rs)));
    if (await this.#scaleAll(s, planOldReplicaSets(s.d, all(), olds, this.#latest(s, newRS)!))) {
      return await this.#syncRolloutStatus(s, all(), this.#latest(s, newRS));
    }
    if (deploymentComplete(s.d, s.d.status ?? {})) await this.#cleanup(s, oldRSs);
    return await this.#syncRolloutStatus(s, all(), this.#latest(s, newRS));
  }

  async #rolloutRecreate(
    s: Sync,
    selector: ReturnType<typeof fromLabelSelectorObject>,
  ): Promise<number | undefined> {
    let { newRS, oldRSs } = await this.#allReplicaSets(s, false);
    const all = () => [...oldRSs.map((rs) => this.#latest(s, rs)), this.#latest(s, newRS)];
    if (await this.#scaleAll(s, planRecreateScaleDown(oldRSs))) {
      return await this.#syncRolloutStatus(s, all(), this.#latest(s, newRS));
    }
    if (oldPodsRunning(newRS, oldRSs, this.#podMap(s, selector))) {
      return await this.#syncRolloutStatus(s, all(), this.#latest(s, newRS));
    }
    if (!newRS) ({ newRS, oldRSs } = await this.#allReplicaSets(s, true));
    await this.#scale(s, { rs: newRS!, replicas: replicas(s.d) });
    if (deploymentComplete(s.d, s.d.status ?? {})) await this.#cleanup(s, oldRSs);
    return await this.#syncRolloutStatus(s, all(), this.#latest(s, newRS));
  }

  /** Pods of the Deployment's ReplicaSets, by ReplicaSet UID (upstream `getPodMapForDeployment`). */
  #podMap(s: Sync, selector: ReturnType<typeof fromLabelSelectorObject>): Map<string, KubeObject[]> {
    const map = new Map<string, KubeObject[]>();
    for (const uid of s.rss.keys()) map.set(uid, []);
    for (const pod of this.#pods.list(s.d.metadata.namespace)) {
      if (!selector || !matchesLabels(selector, pod.metadata.labels)) continue;
      const uid = getControllerOf(pod)?.uid;
      if (uid && map.has(uid)) map.get(uid)!.push(pod);
    }
    return map;
  }

  async #cleanup(s: Sync, oldRSs: KubeObject[]) {
    for (const rs of planCleanup(s.d, oldRSs.map((r) => this.#latest(s, r)!))) {
      try {
        await this.#ctx.client.delete(R.replicasets, rs.metadata.namespace!, rs.metadata.name!);
      } catch (e) {
        if (!isApiError(e, 404)) throw e;
      }
    }
  }

  async #syncDeploymentStatus(s: Sync, allRSs: (KubeObject | undefined)[], newRS: KubeObject | undefined) {
    const status = calculateStatus(allRSs, newRS, s.d, this.#ctx.now());
    if (!semanticEqual(s.d.status, status)) {
      s.d = await writeStatus(this.#ctx.client, R.deployments, s.d, status);
    }
  }

  async #syncRolloutStatus(s: Sync, allRSs: (KubeObject | undefined)[], newRS: KubeObject | undefined) {
    const { status, requeueAfterMs } = rolloutStatus(allRSs, newRS, s.d, this.#ctx.now());
    if (!semanticEqual(s.d.status, status)) {
      s.d = await writeStatus(this.#ctx.client, R.deployments, s.d, status);
      return undefined;
    }
    return requeueAfterMs;
  }
}

/** The Deployment controller as a {@link Controller}. */
export function deploymentController(ctx: ControllerContext): Controller {
  const c = new DeploymentController(ctx);
  return queueController(
    "deployment-controller",
    c.queue,
    (key) => c.reconcile(key),
    ctx.options.workers ?? 5,
  );
}
