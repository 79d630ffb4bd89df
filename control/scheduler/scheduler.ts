/**
 * The scheduler process: informers feed the cache and the queue; while this replica leads (a
 * Lease, `kube-system/kube-scheduler`), one loop pops the next pod, runs the synchronous
 * scheduling cycle (schedule_pod.ts), assumes the pod on the chosen node and binds it in the
 * background (in bursts while more pods wait: binding_burst.ts) through
 * `POST pods/{name}/binding` with the pod's uid and resourceVersion as preconditions, so two
 * replicas can never both bind a pod. A pod no node fits runs preemption, gets
 * `PodScheduled=False` (`Unschedulable`) and a `FailedScheduling` event, and waits in the queue
 * for a cluster event that may help it.
 * @module
 */
import { type Client, R } from "../api/client.ts";
import { type EventRecorder, eventRecorder } from "../api/events.ts";
import { Informer, InformerFactory } from "../api/informer.ts";
import { defaultIdentity, type LeaderElectionOptions, LeaderElector } from "../api/leader.ts";
import { ApiError } from "../api/status.ts";
import type { KubeObject } from "../api/types.ts";
import { SchedulerCache } from "./cache.ts";
import { BindingBurst } from "./binding_burst.ts";
import { changeHandler, nodeHandler, podHandler } from "./event_handlers.ts";
import { fitErrorMessage, type NodeToStatus, truncateMessage } from "./fit_error.ts";
import { Framework } from "./framework.ts";
import { Nominator } from "./nominator.ts";
import { defaultPlugins, type ProfilePlugin } from "./plugins/default_plugins.ts";
import { selectedNodePatches, volumeBinding, type VolumeLister } from "./plugins/volume_binding.ts";
import { SR } from "../api/storage.ts";
import {
  clearNominationPatch,
  type Nominating,
  preemptionVictimPatch,
  schedulingFailurePatch,
} from "./pod_status.ts";
import { preempt } from "./preemption.ts";
import { type PriorityClassInfo, priorityClassInfo, priorityClassLookup } from "./priority.ts";
import { type QueuedPod, SchedulingQueue } from "./queue.ts";
import { PodScheduler } from "./schedule_pod.ts";
import { CycleState, isRejected, type PodView } from "./types.ts";
import { podView, type RuntimeClassInfo, runtimeClassInfo, type ViewContext } from "./views.ts";

export interface SchedulerOptions {
  client: Client;
  /** This replica's identity in the Lease (default `hostname_uuid`). */
  identity?: string;
  /** Lease-based leader election (default on); `false` schedules without electing. */
  leaderElection?: boolean | Partial<Omit<LeaderElectionOptions, "identity">>;
  /** Share informers with other components of the same process (`./skiff up`). */
  informers?: InformerFactory;
  /** Upstream `percentageOfNodesToScore`; 0 (default) is the adaptive rule. */
  percentageOfNodesToScore?: number;
  /** Bindings in flight at once (default 32); held bindings count too. */
  parallelBindings?: number;
  /**
   * Bindings started while more pods wait in the active queue are held and started together, at
   * most this many (default 16; 1 starts each at once), and for at most `bindingBurstMs` (default
   * 8): see binding_burst.ts.
   */
  bindingBurst?: number;
  bindingBurstMs?: number;
  plugins?: ProfilePlugin[];
  /** Plugins appended to the default profile (when `plugins` is not given), e.g. `WasmPlugins`. */
  extraPlugins?: ProfilePlugin[];
  /** The scheduler name served (default `default-scheduler`). */
  schedulerName?: string;
  /** Back-off bounds (defaults 1 s and 10 s, as upstream). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  now?: () => number;
  random?: () => number;
  /** An event recorder (default: one writing Events as the scheduler name). */
  recorder?: EventRecorder;
}

/** Counters, for tests, logs and benchmarks. */
export interface SchedulerStats {
  attempts: number;
  bound: number;
  bindConflicts: number;
  unschedulable: number;
  errors: number;
  preemptions: number;
  /** Groups of bindings started together (binding_burst.ts); `bound / bindingBursts` per group. */
  bindingBursts: number;
}

const SLICE_MS = 10;

export class Scheduler {
  readonly cache = new SchedulerCache();
  readonly queue: SchedulingQueue;
  readonly nominator = new Nominator();
  readonly framework: Framework;
  readonly identity: string;
  readonly stats: SchedulerStats = {
    attempts: 0,
    bound: 0,
    bindConflicts: 0,
    unschedulable: 0,
    errors: 0,
    preemptions: 0,
    bindingBursts: 0,
  };
  readonly #client: Client;
  readonly #opts: SchedulerOptions;
  readonly #algo: PodScheduler;
  readonly #recorder: EventRecorder;
  readonly #factory: InformerFactory;
  readonly #ownFactory: boolean;
  readonly #pods: Informer;
  readonly #now: () => number;
  readonly #name: string;
  #priorityClasses = new Map<string, PriorityClassInfo>();
  #lookup = priorityClassLookup([]);
  readonly #runtimeClasses = new Map<string, RuntimeClassInfo>();
  readonly #inflight = new Set<Promise<void>>();
  #slotFree: (() => void) | null = null;
  readonly #burst: BindingBurst;
  #leading = false;
  /** Bumped when PriorityClasses or RuntimeClasses change: views built before are stale. */
  #classGeneration = 0;
  readonly #viewGeneration = new WeakMap<PodView, number>();

  constructor(opts: SchedulerOptions) {
    this.#opts = opts;
    this.#client = opts.client;
    this.#now = opts.now ?? Date.now;
    this.#name = opts.schedulerName ?? "default-scheduler";
    this.identity = opts.identity ?? defaultIdentity();
    this.framework = new Framework(
      opts.plugins ??
        [
          ...defaultPlugins(),
          { plugin: volumeBinding(this.#volumeLister()), weight: 0 },
          ...(opts.extraPlugins ?? []),
        ],
    );
    this.#algo = new PodScheduler(this.framework);
    this.#burst = new BindingBurst({
      maxHeld: opts.bindingBurst,
      maxWaitMs: opts.bindingBurstMs,
      onRelease: () => this.stats.bindingBursts++,
    });
    this.queue = new SchedulingQueue({
      eventMatters: (e, rejectedBy) => this.framework.eventMatters(e, rejectedBy),
      now: this.#now,
      initialBackoffMs: opts.initialBackoffMs,
      maxBackoffMs: opts.maxBackoffMs,
    });
    this.#recorder = opts.recorder ?? eventRecorder(this.#client, this.#name, { now: this.#now });
    this.#ownFactory = !opts.informers;
    this.#factory = opts.informers ?? new InformerFactory(this.#client);
    this.#pods = this.#factory.get(R.pods);
    const target = {
      cache: this.cache,
      queue: this.queue,
      nominator: this.nominator,
      view: (p: KubeObject) => this.view(p),
      schedulerNames: new Set([this.#name]),
    };
    this.#pods.addHandler(podHandler(target));
    this.#factory.get(R.nodes).addHandler(nodeHandler(target));
    this.#factory.get(R.priorityclasses).addHandler(
      changeHandler(target, "PriorityClassChange", (o, deleted) => {
        if (deleted) this.#priorityClasses.delete(o.metadata.name!);
        else this.#priorityClasses.set(o.metadata.name!, priorityClassInfo(o));
        this.#lookup = priorityClassLookup(this.#priorityClasses.values());
        this.#classGeneration++;
      }),
    );
    this.#factory.get(R.runtimeclasses).addHandler(
      changeHandler(target, "RuntimeClassChange", (o, deleted) => {
        if (deleted) this.#runtimeClasses.delete(o.metadata.name!);
        else this.#runtimeClasses.set(o.metadata.name!, runtimeClassInfo(o));
        this.#classGeneration++;
      }),
    );
    // VolumeBinding: claims, volumes and classes that change may make a pod schedulable.
    for (const r of [R.persistentvolumeclaims, R.persistentvolumes, SR.storageclasses]) {
      this.#factory.get(r).addHandler(changeHandler(target, "PersistentVolumeChange", () => {}));
    }
    this.#factory.get(R.namespaces).addHandler(changeHandler(target, "NamespaceChange", (o, deleted) => {
      if (deleted) this.cache.removeNamespace(o.metadata.name!);
      else this.cache.setNamespace(o.metadata.name!, o.metadata.labels ?? {});
    }));
  }

  /** The VolumeBinding plugin's view of the informers (read at call time). */
  #volumeLister(): VolumeLister {
    const f = () => this.#factory;
    return {
      pod: (ns, name) => f().get(R.pods).get(ns, name),
      claim: (ns, name) => f().get(R.persistentvolumeclaims).get(ns, name),
      volume: (name) => f().get(R.persistentvolumes).get(undefined, name),
      volumes: () => f().get(R.persistentvolumes).list(),
      storageClass: (name) => f().get(SR.storageclasses).get(undefined, name),
      pods: (ns) => f().get(R.pods).list(ns),
    };
  }

  /** Whether this replica currently holds the lease (always true without leader election). */
  get leading(): boolean {
    return this.#leading;
  }

  /** Projects a pod with the current PriorityClasses and RuntimeClasses. */
  view(pod: KubeObject): PodView {
    const ctx: ViewContext = {
      priorityClasses: this.#lookup,
      runtimeClass: (n) => this.#runtimeClasses.get(n),
    };
    const v = podView(pod, ctx);
    this.#viewGeneration.set(v, this.#classGeneration);
    return v;
  }

  /** The queued view when it was built from this very object and the classes did not change since. */
  #currentView(q: QueuedPod, pod: KubeObject): PodView {
    if (q.pod === pod && this.#viewGeneration.get(q.view) === this.#classGeneration) return q.view;
    return this.view(pod);
  }

  /** Runs until `signal` aborts: syncs the informers, then schedules while leading. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#ownFactory) {
      const started = this.#factory.start();
      await Promise.race([
        started,
        new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true })),
      ]);
    } else {
      await this.#factory.start();
    }
    const backoff = setInterval(() => this.queue.flushBackoffCompleted(), 1000);
    const leftover = setInterval(() => this.queue.flushUnschedulableLeftover(), 30_000);
    try {
      if (signal.aborted) return;
      const le = this.#opts.leaderElection ?? true;
      if (le === false) await this.#lead(signal);
      else {
        const given = Object.fromEntries(
          Object.entries(typeof le === "object" ? le : {}).filter(([, v]) => v !== undefined),
        );
        const elector = new LeaderElector(this.#client, {
          namespace: "kube-system",
          name: "kube-scheduler",
          ...given,
          identity: this.identity,
        });
        while (!signal.aborted) await elector.run(signal, (leading) => this.#lead(leading));
      }
    } finally {
      clearInterval(backoff);
      clearInterval(leftover);
      this.queue.close();
      await Promise.allSettled([...this.#inflight]);
      await this.#recorder.flush();
      if (this.#ownFactory) await this.#factory.stop();
    }
  }

  /** The scheduling loop, while `signal` (leadership) holds. */
  async #lead(signal: AbortSignal): Promise<void> {
    this.#leading = true;
    const max = this.#opts.parallelBindings ?? 32;
    let slice = performance.now();
    // A macrotask hop that lets I/O in without setTimeout's ~2 ms delay.
    const channel = new MessageChannel();
    let resume: (() => void) | null = null;
    channel.port1.onmessage = () => resume?.();
    const yieldToIo = () => new Promise<void>((r) => (resume = r, channel.port2.postMessage(0)));
    try {
      while (!signal.aborted) {
        const q = await this.queue.pop(signal);
        if (!q) break;
        await this.#scheduleOne(q);
        // Held bindings start together once the queue runs dry, the burst is full or old enough.
        if (this.#burst.size + this.#inflight.size >= max) this.#burst.release();
        else this.#burst.settle({ busy: this.queue.lengths.active > 0 });
        while (this.#inflight.size >= max) await new Promise<void>((r) => (this.#slotFree = r));
        if (performance.now() - slice > SLICE_MS) {
          // Let informer events and binding responses in between cycles.
          this.#burst.release();
          await yieldToIo();
          slice = performance.now();
        }
      }
    } finally {
      this.#burst.release();
      this.#leading = false;
      channel.port1.close();
      channel.port2.close();
    }
  }

  /** One scheduling cycle (upstream `ScheduleOne`). */
  async #scheduleOne(q: QueuedPod): Promise<void> {
    const latest = this.#pods.getByKey(q.key);
    if (!latest || latest.spec?.nodeName || this.cache.isAssumed(q.key)) return;
    if (latest.metadata.deletionTimestamp) {
      this.#recorder.event(latest, "Warning", "FailedScheduling", `skip schedule deleting pod: ${q.key}`);
      return;
    }
    this.stats.attempts++;
    const view = this.#currentView(q, latest);
    q.pod = latest;
    q.view = view;
    const cycle = this.queue.schedulingCycle;
    if (this.framework.prepares.length) await this.framework.runPrepareCycle(view, this.cache);
    const opts = {
      percentageOfNodesToScore: this.#opts.percentageOfNodesToScore,
      nominated: this.nominator,
      nominatedNode: this.nominator.nodeFor(q.key) || view.nominatedNodeName,
      random: this.#opts.random,
    };
    // Batch (Wasm) plugins: one plugin host call for Filter (on the nodes the built-ins kept) and
    // one for Score (on the feasible nodes); without them the cycle stays synchronous.
    const out = this.framework.batches.length
      ? await this.#algo.scheduleWithBatches(view, this.cache, opts)
      : this.#algo.schedule(view, this.cache, opts);
    if (out.kind === "scheduled") {
      this.cache.assumePod({ ...view, nodeName: out.node });
      this.nominator.delete(q.key);
      const node = out.node;
      this.#burst.hold(() => this.#startBinding(q, view, node));
      return;
    }
    if (out.kind === "error") {
      this.stats.errors++;
      const reason = isRejected(out.status) ? "Unschedulable" : "SchedulerError";
      q.unschedulablePlugins = new Set();
      this.#failure(q, reason, out.status.reasons.join(", "), { mode: "override", node: "" }, cycle);
      return;
    }
    this.stats.unschedulable++;
    const d = out.diagnosis;
    q.unschedulablePlugins = d.unschedulablePlugins;
    if (this.framework.batches.length) await this.#batchFilterPreemptionCandidates(view, d.nodeToStatus);
    const plan = preempt({
      framework: this.framework,
      state: out.state,
      pod: view,
      statuses: d.nodeToStatus,
      snapshot: this.cache,
      nominated: this.nominator,
      nominatedNode: this.nominator.nodeFor(q.key) || view.nominatedNodeName,
      random: this.#opts.random,
    });
    let nominating: Nominating = { mode: "noop" };
    if (plan.kind === "none") {
      d.postFilterMsg = plan.message;
      if (plan.clearNomination) nominating = { mode: "override", node: "" };
    } else {
      this.stats.preemptions++;
      nominating = { mode: "override", node: plan.node };
      await this.#preempt(view, plan.node, plan.victims, plan.clearNominated);
    }
    this.#failure(q, "Unschedulable", fitErrorMessage(out.numAllNodes, d), nominating, cycle);
  }

  /**
   * Before preemption's dry runs (which are synchronous): the batch plugins' Filter over the
   * nodes an in-process filter rejected as resolvable and that hold lower-priority pods, in one
   * call, so the dry runs see the batch plugins' answers there too (on the node as it is).
   */
  async #batchFilterPreemptionCandidates(pod: PodView, statuses: NodeToStatus): Promise<void> {
    const batch = new Set(this.framework.batches.map((b) => b.plugin.name));
    const ask = [];
    for (const [name, s] of statuses.entries()) {
      if (s.code !== "Unschedulable" || (s.plugin && batch.has(s.plugin))) continue;
      if (this.framework.batchFiltered(pod, name)) continue;
      const info = this.cache.get(name);
      if (info?.pods.some((p) => p.priority < pod.priority)) ask.push(info);
    }
    if (ask.length) await this.framework.runBatchFilter(new CycleState(), pod, ask);
  }

  /** Evicts the victims (upstream `prepareCandidate`). */
  async #preempt(pod: PodView, node: string, victims: PodView[], clear: PodView[]): Promise<void> {
    await Promise.all(victims.map(async (v) => {
      const obj = this.#pods.getByKey(v.key);
      if (!obj) return;
      try {
        const patch = preemptionVictimPatch(obj, pod.schedulerName, this.#now());
        if (patch) await this.#client.patch(R.pods, v.namespace, v.name, patch, "strategic", "status");
        await this.#client.delete(R.pods, v.namespace, v.name);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) {
          console.error(`scheduler: could not preempt pod ${v.key}: ${(e as Error).message}`);
          return;
        }
      }
      this.#recorder.event(obj, "Normal", "Preempted", `Preempted by pod ${pod.uid} on node ${node}`);
    }));
    for (const p of clear) {
      this.nominator.delete(p.key);
      this.#client.patch(R.pods, p.namespace, p.name, clearNominationPatch(), "strategic", "status").catch(
        () => {},
      );
    }
  }

  /** Upstream `handleSchedulingFailure`. */
  #failure(q: QueuedPod, reason: string, message: string, nominating: Nominating, cycle: number): void {
    const latest = this.#pods.getByKey(q.key);
    if (latest && !latest.spec?.nodeName) {
      if (latest !== q.pod) {
        q.view = this.view(latest);
        q.pod = latest;
      }
      this.queue.addUnschedulable(q, cycle);
    }
    if (nominating.mode === "override") this.nominator.set(q.view, nominating.node);
    const pod = latest ?? q.pod;
    this.#recorder.event(pod, "Warning", "FailedScheduling", truncateMessage(message));
    const patch = schedulingFailurePatch(pod, reason, message, nominating, this.#now());
    if (patch) {
      this.#client.patch(R.pods, q.view.namespace, q.view.name, patch, "strategic", "status").catch((e) => {
        if (!(e instanceof ApiError && e.code === 404)) {
          console.error(`scheduler: could not update pod ${q.key}: ${e.message}`);
        }
      });
    }
  }

  #startBinding(q: QueuedPod, view: PodView, node: string): void {
    const p = this.#bind(q, view, node).finally(() => {
      this.#inflight.delete(p);
      const r = this.#slotFree;
      this.#slotFree = null;
      r?.();
    });
    this.#inflight.add(p);
  }

  /** The binding cycle (upstream `bindingCycle` with the DefaultBinder). */
  async #bind(q: QueuedPod, view: PodView, node: string): Promise<void> {
    const pre = { uid: view.uid, resourceVersion: q.pod.metadata.resourceVersion };
    try {
      // VolumeBinding's PreBind: WaitForFirstConsumer claims learn their node.
      for (const [claim, patch] of selectedNodePatches(this.#volumeLister(), q.pod, node)) {
        await this.#client.patch(R.persistentvolumeclaims, view.namespace, claim, patch, "merge");
      }
      await this.#client.bind(view.namespace, view.name, node, pre);
      this.stats.bound++;
      this.#recorder.event(
        q.pod,
        "Normal",
        "Scheduled",
        `Successfully assigned ${view.namespace}/${view.name} to ${node}`,
      );
    } catch (e) {
      this.cache.forgetPod(q.key);
      // Forgetting an assumed pod frees its resources, as a pod deletion would.
      this.queue.moveAllToActiveOrBackoff("AssignedPodDelete", (o) => o.key !== q.key);
      const code = e instanceof ApiError ? e.code : 0;
      if (code === 404) return;
      q.unschedulablePlugins = new Set();
      if (code === 409) {
        // Bound by another replica, or changed since we read it: the informer will tell.
        this.stats.bindConflicts++;
        const latest = this.#pods.getByKey(q.key);
        if (latest && !latest.spec?.nodeName) this.queue.addUnschedulable(q, this.queue.schedulingCycle);
        return;
      }
      this.stats.errors++;
      this.#failure(q, "SchedulerError", `binding rejected: ${(e as Error).message}`, {
        mode: "override",
        node: "",
      }, this.queue.schedulingCycle);
    }
  }

  /** Resolves when every binding started so far (held ones started now) has finished. */
  async settled(): Promise<void> {
    this.#burst.release();
    while (this.#inflight.size) await Promise.allSettled([...this.#inflight]);
    await this.#recorder.flush();
  }
}
