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
import { InformerFactory } from "../api/informer.ts";
import { Scheduler, type SchedulerOptions } from "./scheduler.ts";
import { WasmPlugins, type WasmPluginsOptions } from "./plugins/wasm_plugins.ts";

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

/** How the scheduler reaches the plugin host for the Wasm scheduler Plugins (`informers` aside). */
export type WasmSchedulerPlugins = Omit<WasmPluginsOptions, "informers">;

/**
 * Starts a scheduler that runs until `signal` aborts. With `wasmPlugins`, the default profile
 * also gets the `WasmPlugins` plugin (weight 1), reading Plugins from an informer factory shared
 * with the scheduler; the factory is stopped when the scheduler stopped.
 */
export function startScheduler(
  opts: SchedulerOptions & { signal: AbortSignal; wasmPlugins?: WasmSchedulerPlugins },
): RunningScheduler {
  if (!opts.wasmPlugins || opts.plugins) {
    const scheduler = new Scheduler(opts);
    return { scheduler, done: scheduler.run(opts.signal) };
  }
  const informers = opts.informers ?? new InformerFactory(opts.client);
  const wasm = new WasmPlugins({ ...opts.wasmPlugins, informers });
  const scheduler = new Scheduler({
    ...opts,
    informers,
    extraPlugins: [...(opts.extraPlugins ?? []), { plugin: wasm, weight: 1 }],
  });
  const done = scheduler.run(opts.signal).finally(async () => {
    // A factory given by the caller is the caller's to stop.
    if (!opts.informers) await informers.stop();
    wasm.close();
  });
  return { scheduler, done };
}
