/**
 * The DaemonSet controller (upstream `pkg/controller/daemon`): one pod per eligible node, pinned
 * to it by node affinity so the scheduler binds it there (upstream's approach since 1.12), rolled
 * with maxUnavailable/maxSurge by `controller-revision-hash`, with ControllerRevision history.
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
import { Backoff } from "../workload/backoff.ts";
import { semanticEqual } from "../workload/equality.ts";
import { Expectations } from "../workload/expectations.ts";
import { computeHash } from "../workload/hash.ts";
import {
  CONTROLLER_REVISION_HASH,
  newControllerRevision,
  revisionMatches,
  sortRevisions,
} from "../workload/history.ts";
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
import { isPodReady } from "../workload/pod_util.ts";
import { SLOW_START_INITIAL_BATCH_SIZE, slowStartBatch } from "../workload/slow_start.ts";
import { writeStatus } from "../workload/status_update.ts";
import { daemonPodTolerations, pinToNode } from "./eligibility.ts";
import { daemonSetStatus, DS_BURST_REPLICAS, planManage, planRollingUpdate, podsByNode } from "./plan.ts";

const KIND = "DaemonSet";
const API_VERSION = "apps/v1";

/** The DaemonSet controller's state. `reconcile(key)` is one sync. */
export class DaemonSetController {
  readonly queue = new WorkQueue<string>();
  readonly expectations: Expectations;
  readonly #ctx: ControllerContext;
  readonly #ds: Informer;
  readonly #pods: Informer;
  readonly #nodes: Informer;
  readonly #revisions: Informer;
  readonly #recorder: EventRecorder;
  /** Upstream `failedPodsBackoff`: 1 s doubling to 15 min per DaemonSet and node. */
  readonly #failedBackoff = new Backoff(1000, 15 * 60_000);

  constructor(ctx: ControllerContext) {
    this.#ctx = ctx;
    this.expectations = new Expectations({ now: ctx.now });
    this.#recorder = ctx.recorder("daemonset-controller");
    this.#ds = ctx.informers.get(R.daemonsets);
    this.#pods = ctx.informers.get(R.pods);
    this.#nodes = ctx.informers.get(R.nodes);
    this.#revisions = ctx.informers.get(R.controllerrevisions);
    const enqueue = (ds: KubeObject) => this.queue.add(objectKey(ds));
    this.#ds.addHandler({
      onAdd: enqueue,
      onUpdate: (_, ds) => enqueue(ds),
      onDelete: (ds) => {
        this.expectations.delete(objectKey(ds));
        enqueue(ds);
      },
    });
    const allDaemonSets = () => this.#ds.list().forEach(enqueue);
    this.#nodes.addHandler({
      onAdd: allDaemonSets,
      onUpdate: (old, node) => {
        if (
          !labelsEqual(old.metadata.labels, node.metadata.labels) ||
          !semanticEqual(old.spec?.taints, node.spec?.taints) ||
          old.spec?.unschedulable !== node.spec?.unschedulable
        ) allDaemonSets();
      },
      onDelete: allDaemonSets,
    });
    this.#pods.addHandler({
      onAdd: (pod) => {
        if (pod.metadata.deletionTimestamp) return this.#podGone(pod);
        const ds = resolveControllerRef(pod, KIND, this.#ds);
        if (ds) {
          this.expectations.creationObserved(objectKey(ds));
          return enqueue(ds);
        }
        if (!getControllerOf(pod)) ownersSelecting(pod, this.#ds).forEach(enqueue);
      },
      onUpdate: (old, pod) => {
        if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
        if (pod.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) return this.#podGone(pod);
        const refChanged = !sameRef(getControllerOf(old), getControllerOf(pod));
        if (refChanged) {
          const oldDs = resolveControllerRef(old, KIND, this.#ds);
          if (oldDs) enqueue(oldDs);
        }
        const ds = resolveControllerRef(pod, KIND, this.#ds);
        if (ds) {
          enqueue(ds);
          const minReady = ds.spec?.minReadySeconds ?? 0;
          if (!isPodReady(old) && isPodReady(pod) && minReady > 0) {
            this.queue.addAfter(objectKey(ds), minReady * 1000 + 1000);
          }
          return;
        }
        if (!getControllerOf(pod) && (refChanged || !labelsEqual(old.metadata.labels, pod.metadata.labels))) {
          ownersSelecting(pod, this.#ds).forEach(enqueue);
        }
      },
      onDelete: (pod) => this.#podGone(pod),
    });
    this.#revisions.addHandler({
      onAdd: (rev) => {
        const ds = resolveControllerRef(rev, KIND, this.#ds);
        if (ds) enqueue(ds);
      },
      onDelete: (rev) => {
        const ds = resolveControllerRef(rev, KIND, this.#ds);
        if (ds) enqueue(ds);
      },
    });
  }

  #podGone(pod: KubeObject) {
    const ds = resolveControllerRef(pod, KIND, this.#ds);
    if (!ds) return;
    this.expectations.deletionObserved(objectKey(ds), objectKey(pod));
    this.queue.add(objectKey(ds));
  }

  /** One level-based sync of the DaemonSet `namespace/name`. */
  async reconcile(key: string): Promise<ReconcileResult | void> {
    const cached = this.#ds.getByKey(key);
    if (!cached) {
      this.expectations.delete(key);
      return;
    }
    const ds = withKind(cached, API_VERSION, KIND);
    const sel = ds.spec?.selector ?? {};
    if (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length) {
      this.#recorder.event(
        ds,
        "Warning",
        "SelectingAll",
        "This daemon set is selecting all pods. A non-empty selector is required.",
      );
      return;
    }
    if (ds.metadata.deletionTimestamp) return;
    const client = this.#ctx.client;
    const selector = fromLabelSelectorObject(sel);
    const { cur, old } = await this.#history(ds, selector);
    const hash = cur.metadata.labels?.[CONTROLLER_REVISION_HASH] ?? "";
    const pods = await applyClaims(
      client,
      R.pods,
      planClaims(ds, selector, this.#pods.list(ds.metadata.namespace)),
      {
        ref: controllerRef(ds, API_VERSION, KIND),
        canAdopt: recheckOwner(client, R.daemonsets, ds),
      },
    );
    const nodes = this.#nodes.list();
    const now = this.#ctx.now();
    let retryAfterMs: number | undefined;
    let thrown: unknown;
    const satisfied = this.expectations.satisfied(key);
    if (satisfied) {
      try {
        const plan = planManage(
          ds,
          nodes,
          podsByNode(pods),
          hash,
          now,
          (node) => this.#failedBackoff.remaining(`${key}/${node}`, now),
        );
        retryAfterMs = plan.retryAfterMs;
        for (const { pod, node } of plan.failed) {
          this.#failedBackoff.next(`${key}/${node}`, now);
          this.#recorder.event(
            ds,
            "Warning",
            "FailedDaemonPod",
            `Found failed daemon pod ${pod.metadata.namespace}/${pod.metadata.name} on node ${node}, will try to kill it`,
          );
        }
        await this.#syncNodes(key, ds, pods, plan.deletePods, plan.createOn, hash);
        if (
          this.expectations.satisfied(key) &&
          (ds.spec?.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate"
        ) {
          const rolling = planRollingUpdate(ds, nodes, podsByNode(pods), hash, now);
          await this.#syncNodes(key, ds, pods, rolling.deletePods, rolling.createOn, hash);
        }
        await this.#cleanupHistory(ds, pods, old);
      } catch (e) {
        thrown = e;
      }
    }
    const status = daemonSetStatus(ds, nodes, podsByNode(pods, true), hash, now, satisfied);
    if (!semanticEqual({ ...ds.status, conditions: undefined }, status)) {
      await writeStatus(client, R.daemonsets, ds, {
        ...status,
        ...(ds.status?.conditions ? { conditions: ds.status.conditions } : {}),
      });
    }
    if (thrown) throw thrown;
    const minReady = ds.spec?.minReadySeconds ?? 0;
    if (minReady > 0 && status.numberReady !== status.numberAvailable) {
      retryAfterMs = Math.min(retryAfterMs ?? Infinity, minReady * 1000);
    }
    return retryAfterMs !== undefined ? { requeueAfterMs: retryAfterMs } : undefined;
  }

  /** Upstream `syncNodes`: deletes and creates (pinned to nodes) within the burst limit. */
  async #syncNodes(
    key: string,
    ds: KubeObject,
    pods: KubeObject[],
    deleteNames: string[],
    createOn: string[],
    hash: string,
  ) {
    const creates = createOn.slice(0, DS_BURST_REPLICAS);
    const deletes = deleteNames.slice(0, DS_BURST_REPLICAS);
    if (!creates.length && !deletes.length) return;
    const byName = new Map(pods.map((p) => [p.metadata.name!, p]));
    const deletePodKeys = deletes.map((n) => `${ds.metadata.namespace}/${n}`);
    this.expectations.set(key, creates.length, deletePodKeys);
    const client = this.#ctx.client;
    const errors: unknown[] = [];
    const template = structuredClone(ds.spec.template);
    template.metadata = { ...(template.metadata ?? {}) };
    template.metadata.labels = { ...(template.metadata.labels ?? {}), [CONTROLLER_REVISION_HASH]: hash };
    template.spec = { ...template.spec, tolerations: daemonPodTolerations(template.spec) };
    const ref = controllerRef(ds, API_VERSION, KIND);
    const result = await slowStartBatch(creates.length, SLOW_START_INITIAL_BATCH_SIZE, async (i) => {
      const t = {
        ...template,
        spec: { ...template.spec, affinity: pinToNode(template.spec.affinity, creates[i]) },
      };
      try {
        await createPod(client, this.#recorder, ds, podFromTemplate(t, ds, ref));
      } catch (e) {
        if (!isNamespaceTerminating(e)) throw e;
      }
    });
    for (let i = result.successes; i < creates.length; i++) this.expectations.creationObserved(key);
    if (result.error) errors.push(result.error);
    await Promise.all(deletes.map(async (name, i) => {
      const pod = byName.get(name) ?? { metadata: { name, namespace: ds.metadata.namespace } };
      try {
        await deletePod(client, this.#recorder, ds, pod);
      } catch (e) {
        this.expectations.deletionObserved(key, deletePodKeys[i]);
        if (!isApiError(e, 404)) errors.push(e);
      }
    }));
    if (errors.length) throw errors[0];
  }

  /** Upstream `constructHistory`: the current revision (created or renumbered) and the old ones. */
  async #history(
    ds: KubeObject,
    selector: ReturnType<typeof fromLabelSelectorObject>,
  ): Promise<{ cur: KubeObject; old: KubeObject[] }> {
    const client = this.#ctx.client;
    const revisions = await applyClaims(
      client,
      R.controllerrevisions,
      planClaims(ds, selector, this.#revisions.list(ds.metadata.namespace)),
      { ref: controllerRef(ds, API_VERSION, KIND), canAdopt: recheckOwner(client, R.daemonsets, ds) },
    );
    const current: KubeObject[] = [], old: KubeObject[] = [];
    for (let rev of revisions) {
      if (!rev.metadata.labels?.[CONTROLLER_REVISION_HASH]) {
        rev = await client.patch(R.controllerrevisions, rev.metadata.namespace!, rev.metadata.name!, {
          metadata: { labels: { [CONTROLLER_REVISION_HASH]: rev.metadata.name } },
        });
      }
      (revisionMatches(ds, rev) ? current : old).push(rev);
    }
    const nextNumber = old.reduce((m, r) => Math.max(m, r.revision ?? 0), 0) + 1;
    let cur: KubeObject;
    if (current.length === 0) cur = await this.#snapshot(ds, nextNumber);
    else {
      const sorted = sortRevisions(current);
      cur = sorted.at(-1)!;
      for (const dup of sorted.slice(0, -1)) {
        await client.delete(R.controllerrevisions, dup.metadata.namespace!, dup.metadata.name!).catch((e) => {
          if (!isApiError(e, 404)) throw e;
        });
      }
    }
    if ((cur.revision ?? 0) < nextNumber) {
      cur = await client.update(R.controllerrevisions, { ...cur, revision: nextNumber });
    }
    return { cur, old };
  }

  /** Upstream `snapshot`: a ControllerRevision named `<ds>-<hash>` for the current template. */
  async #snapshot(ds: KubeObject, revision: number): Promise<KubeObject> {
    const client = this.#ctx.client;
    const hash = computeHash(ds.spec?.template ?? {}, ds.status?.collisionCount);
    const labels = { ...(ds.spec?.template?.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH]: hash };
    const rev = newControllerRevision(
      ds,
      KIND,
      `${ds.metadata.name}-${hash}`,
      labels,
      revision,
      ds.metadata.annotations,
    );
    try {
      return await client.create(R.controllerrevisions, rev);
    } catch (e) {
      if (!(isApiError(e, 409) && e.reason === "AlreadyExists")) throw e;
      const existing = await client.get(R.controllerrevisions, rev.metadata.namespace!, rev.metadata.name!);
      if (revisionMatches(ds, existing)) return existing;
      const collisionCount = (ds.status?.collisionCount ?? 0) + 1;
      await writeStatus(client, R.daemonsets, ds, { ...ds.status, collisionCount });
      throw new Error(
        `found a stale ControllerRevision ${rev.metadata.name} for DaemonSet ${ds.metadata.name}; bumped collisionCount`,
      );
    }
  }

  /** Upstream `cleanupHistory`: old revisions beyond `revisionHistoryLimit` that no pod uses. */
  async #cleanupHistory(ds: KubeObject, pods: KubeObject[], old: KubeObject[]) {
    const limit = ds.spec?.revisionHistoryLimit ?? 10;
    let toKill = old.length - limit;
    if (toKill <= 0) return;
    const live = new Set(pods.map((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH]).filter(Boolean));
    for (const rev of sortRevisions(old)) {
      if (toKill <= 0) break;
      if (live.has(rev.metadata.labels?.[CONTROLLER_REVISION_HASH])) continue;
      await this.#ctx.client.delete(R.controllerrevisions, rev.metadata.namespace!, rev.metadata.name!).catch(
        (e) => {
          if (!isApiError(e, 404)) throw e;
        },
      );
      toKill--;
    }
  }
}

/** The DaemonSet controller as a {@link Controller}. */
export function daemonSetController(ctx: ControllerContext): Controller {
  const c = new DaemonSetController(ctx);
  return queueController(
    "daemonset-controller",
    c.queue,
    (key) => c.reconcile(key),
    ctx.options.workers ?? 2,
  );
}
