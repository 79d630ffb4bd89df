/**
 * The scheduling queue (upstream `internal/queue.PriorityQueue`, before queueing hints):
 *
 * - **activeQ**: pods to try now, highest priority first, then the earliest queued.
 * - **backoffQ**: pods that failed and wait out their back-off (1 s doubling to 10 s per attempt).
 * - **unschedulable**: pods no node fits; a cluster event that one of the plugins that rejected
 *   the pod cares about (a node added, a pod deleted, ...) moves them back to activeQ (or to
 *   backoffQ while backing off). Pods left there for 5 minutes are retried anyway.
 *
 * A pod whose attempt failed while a move request came in (an event during its cycle) goes to
 * backoffQ instead of unschedulable, so the event is not lost. Time is injected for tests.
 * @module
 */
import type { KubeObject } from "../api/types.ts";
import { KeyedHeap } from "./heap.ts";
import type { ClusterEvent, PodView } from "./types.ts";

/** A pod in the queue, with its scheduling history (upstream `QueuedPodInfo`). */
export interface QueuedPod {
  key: string;
  pod: KubeObject;
  view: PodView;
  /** When it was last added or re-added (ms). */
  timestamp: number;
  /** When it was first tried, if it was. */
  initialAttempt: number | null;
  attempts: number;
  /** Plugins that rejected it in its last attempt; empty after an error. */
  unschedulablePlugins: Set<string>;
}

export interface QueueOptions {
  /** Whether an event may help a pod the given plugins rejected (the framework decides). */
  eventMatters(event: ClusterEvent, rejectedBy: ReadonlySet<string>): boolean;
  now?: () => number;
  /** Upstream `podInitialBackoffDuration` (1 s). */
  initialBackoffMs?: number;
  /** Upstream `podMaxBackoffDuration` (10 s). */
  maxBackoffMs?: number;
  /** Upstream `podMaxInUnschedulablePodsDuration` (5 min). */
  maxUnschedulableMs?: number;
}

export class SchedulingQueue {
  readonly #active = new KeyedHeap<QueuedPod>(
    (q) => q.key,
    (a, b) =>
      a.view.priority > b.view.priority || (a.view.priority === b.view.priority && a.timestamp < b.timestamp),
  );
  readonly #backoff: KeyedHeap<QueuedPod>;
  readonly #unschedulable = new Map<string, QueuedPod>();
  readonly #opts: QueueOptions;
  readonly #now: () => number;
  readonly #initial: number;
  readonly #max: number;
  readonly #maxUnschedulable: number;
  #waiters: ((q: QueuedPod | undefined) => void)[] = [];
  #closed = false;
  /** Incremented by every pop (upstream `schedulingCycle`). */
  #cycle = 0;
  /** The cycle of the latest move request (upstream `moveRequestCycle`). */
  #moveRequestCycle = -1;

  constructor(opts: QueueOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#initial = opts.initialBackoffMs ?? 1000;
    this.#max = opts.maxBackoffMs ?? 10_000;
    this.#maxUnschedulable = opts.maxUnschedulableMs ?? 5 * 60_000;
    this.#backoff = new KeyedHeap((q) => q.key, (a, b) => this.backoffExpiry(a) < this.backoffExpiry(b));
  }

  get schedulingCycle(): number {
    return this.#cycle;
  }

  /** Queue sizes, for tests and metrics. */
  get lengths(): { active: number; backoff: number; unschedulable: number } {
    return {
      active: this.#active.size,
      backoff: this.#backoff.size,
      unschedulable: this.#unschedulable.size,
    };
  }

  /** Where a pod is: "active", "backoff", "unschedulable", or undefined. */
  where(key: string): "active" | "backoff" | "unschedulable" | undefined {
    if (this.#active.has(key)) return "active";
    if (this.#backoff.has(key)) return "backoff";
    if (this.#unschedulable.has(key)) return "unschedulable";
    return undefined;
  }

  get(key: string): QueuedPod | undefined {
    return this.#active.get(key) ?? this.#backoff.get(key) ?? this.#unschedulable.get(key);
  }

  /** Upstream `calculateBackoffDuration`: 0 before any attempt, then 1 s, 2 s, 4 s ... capped. */
  backoffDuration(q: QueuedPod): number {
    if (q.attempts === 0) return 0;
    let d = this.#initial;
    for (let i = 1; i < q.attempts; i++) {
      if (d > this.#max - d) return this.#max;
      d += d;
    }
    return d;
  }

  backoffExpiry(q: QueuedPod): number {
    return q.timestamp + this.backoffDuration(q);
  }

  #backingOff(q: QueuedPod): boolean {
    return this.backoffExpiry(q) > this.#now();
  }

  #toActive(q: QueuedPod): void {
    const w = this.#waiters.shift();
    if (w) w(q);
    else this.#active.push(q);
  }

  /** A new pending pod (an update if it is already queued). */
  add(key: string, pod: KubeObject, view: PodView): void {
    if (this.#closed) return;
    if (this.get(key)) return this.update(key, pod, view, true);
    this.#toActive({
      key,
      pod,
      view,
      timestamp: this.#now(),
      initialAttempt: null,
      attempts: 0,
      unschedulablePlugins: new Set(),
    });
  }

  /**
   * The pod changed. `specChanged` says whether anything but its status changed (upstream
   * `isPodUpdated`); only then does an unschedulable pod get another try.
   */
  update(key: string, pod: KubeObject, view: PodView, specChanged: boolean): void {
    if (this.#closed) return;
    const a = this.#active.get(key) ?? this.#backoff.get(key);
    if (a) {
      a.pod = pod;
      a.view = view;
      (this.#active.has(key) ? this.#active : this.#backoff).push(a);
      return;
    }
    const u = this.#unschedulable.get(key);
    if (u) {
      u.pod = pod;
      u.view = view;
      if (specChanged) {
        this.#unschedulable.delete(key);
        if (this.#backingOff(u)) this.#backoff.push(u);
        else this.#toActive(u);
      }
      return;
    }
    this.#toActive({
      key,
      pod,
      view,
      timestamp: this.#now(),
      initialAttempt: null,
      attempts: 0,
      unschedulablePlugins: new Set(),
    });
  }

  /** The pod is gone, or no longer pending. */
  delete(key: string): void {
    this.#active.delete(key);
    this.#backoff.delete(key);
    this.#unschedulable.delete(key);
  }

  /** The next pod to schedule, if one is ready now (counts a scheduling cycle). */
  tryPop(): QueuedPod | undefined {
    const q = this.#active.pop();
    if (q) this.#started(q);
    return q;
  }

  /** Waits for the next pod; resolves undefined once closed or when `signal` aborts. */
  pop(signal?: AbortSignal): Promise<QueuedPod | undefined> {
    const q = this.tryPop();
    if (q || this.#closed || signal?.aborted) return Promise.resolve(q);
    return new Promise((resolve) => {
      const waiter = (p: QueuedPod | undefined) => {
        signal?.removeEventListener("abort", onAbort);
        if (p) this.#started(p);
        resolve(p);
      };
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(undefined);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  #started(q: QueuedPod): void {
    q.attempts++;
    q.initialAttempt ??= this.#now();
    this.#cycle++;
  }

  /**
   * Puts back a pod whose attempt failed in scheduling cycle `cycle` (upstream
   * `AddUnschedulableIfNotPresent`). No-op if the pod was re-added meanwhile.
   */
  addUnschedulable(q: QueuedPod, cycle: number): void {
    if (this.#closed || this.get(q.key)) return;
    q.timestamp = this.#now();
    if (this.#moveRequestCycle >= cycle || q.unschedulablePlugins.size === 0) this.#backoff.push(q);
    else this.#unschedulable.set(q.key, q);
  }

  /** A cluster event happened: retry the unschedulable pods it may help (upstream `MoveAllToActiveOrBackoffQueue`). */
  moveAllToActiveOrBackoff(event: ClusterEvent, only?: (q: QueuedPod) => boolean): number {
    let moved = 0;
    for (const [key, q] of this.#unschedulable) {
      if (only && !only(q)) continue;
      if (!this.#opts.eventMatters(event, q.unschedulablePlugins)) continue;
      this.#unschedulable.delete(key);
      if (this.#backingOff(q)) this.#backoff.push(q);
      else this.#toActive(q);
      moved++;
    }
    this.#moveRequestCycle = this.#cycle;
    return moved;
  }

  /** Moves pods whose back-off has expired to activeQ (upstream runs it every second). */
  flushBackoffCompleted(): number {
    let n = 0;
    const now = this.#now();
    for (let q = this.#backoff.peek(); q && this.backoffExpiry(q) <= now; q = this.#backoff.peek()) {
      this.#backoff.pop();
      this.#toActive(q);
      n++;
    }
    return n;
  }

  /** Retries pods unschedulable for longer than the limit (upstream runs it every 30 s). */
  flushUnschedulableLeftover(): number {
    const now = this.#now();
    return this.moveAllToActiveOrBackoff(
      "UnschedulableTimeout",
      (q) => now - q.timestamp > this.#maxUnschedulable,
    );
  }

  /** Wakes every waiting `pop` with undefined; the queue accepts nothing more. */
  close(): void {
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w(undefined);
  }
}
