/**
 * The shape every controller follows: informers feed a de-duplicating workqueue of keys, and
 * workers run a level-based, idempotent `reconcile(key)` that requeues with back-off on error.
 * @module
 */
import type { Client } from "../api/client.ts";
import type { EventRecorder } from "../api/events.ts";
import type { InformerFactory } from "../api/informer.ts";
import { type ReconcileResult, runWorkers, WorkQueue } from "../api/workqueue.ts";

/** Tunables shared by controllers (upstream's kube-controller-manager flags). */
export interface ControllerOptions {
  /** How long a node may miss heartbeats before it is NotReady/Unknown (node-monitor-grace-period), ms. */
  nodeMonitorGracePeriodMs?: number;
  /** Workers per controller. */
  workers?: number;
}

/** What a controller is given: an API client, shared informers, an event recorder, a clock. */
export interface ControllerContext {
  client: Client;
  informers: InformerFactory;
  /** Makes an event recorder for a component name (e.g. `deployment-controller`). */
  recorder(component: string): EventRecorder;
  now(): number;
  options: ControllerOptions;
}

export interface Controller {
  name: string;
  /**
   * Runs until `signal` aborts. Informer handlers are registered synchronously when the controller
   * is constructed, so the manager can start every informer once, then call `run`.
   */
  run(signal: AbortSignal): Promise<void>;
}

/**
 * A controller made of one queue and one reconcile function: the common case.
 * `reconcile` must be level-based: it reads the current state from informers, not from events.
 */
export function queueController(
  name: string,
  queue: WorkQueue<string>,
  reconcile: (key: string) => Promise<ReconcileResult | void>,
  workers = 2,
): Controller {
  return {
    name,
    async run(signal) {
      signal.addEventListener("abort", () => queue.shutdown(), { once: true });
      if (signal.aborted) queue.shutdown();
      await runWorkers(queue, workers, reconcile, (key, e) => {
        console.error(`${name}: reconcile ${key} failed: ${(e as Error)?.message ?? e}`);
      });
    },
  };
}

export { WorkQueue };
