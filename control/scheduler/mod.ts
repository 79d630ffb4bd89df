/**
 * The Skiff scheduler: upstream kube-scheduler's framework and default plugins over projected
 * pod and node views. `startScheduler` runs it in-process (`./skiff up`); `./skiff scheduler`
 * runs it as its own process (cli/scheduler.ts).
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * const { scheduler, done } = startScheduler({ client, signal: ac.signal, identity: "up-1" });
 * // ... later
 * ac.abort();
 * await done;
 * ```
 * @module
 */
import { Scheduler, type SchedulerOptions } from "./scheduler.ts";

export { Scheduler, type SchedulerOptions, type SchedulerStats } from "./scheduler.ts";
export { Framework } from "./framework.ts";
export { defaultPlugins, type ProfilePlugin } from "./plugins/default_plugins.ts";
export { fitErrorMessage } from "./fit_error.ts";
export { numFeasibleNodesToFind } from "./schedule_pod.ts";
export type * from "./types.ts";

/** A running scheduler. */
export interface RunningScheduler {
  scheduler: Scheduler;
  /** Settles once `signal` aborted and the scheduler stopped (informers, bindings, events). */
  done: Promise<void>;
}

/** Starts a scheduler that runs until `signal` aborts. */
export function startScheduler(opts: SchedulerOptions & { signal: AbortSignal }): RunningScheduler {
  const scheduler = new Scheduler(opts);
  const done = scheduler.run(opts.signal);
  return { scheduler, done };
}
