/**
 * A `wasi:cli/command` container: one instance, `run` called once; its exit code is the
 * container's. Stopping waits for the grace period, then aborts the guest's pending waits (a
 * guest that never waits is the watchdog's business).
 * @module
 */
import { classifyEnd, memoryBytes, nearMemoryLimit, StopRequested } from "./exit.ts";
import { type ContainerHooks, findExport, type InstanceFactory, type RunningContainer } from "./container.ts";
import type { ContainerExit, ContainerSpec } from "./spec.ts";

/** Starts a command: instantiates it and calls `run`. */
export async function runCommand(
  factory: InstanceFactory,
  spec: ContainerSpec,
  hooks: ContainerHooks,
): Promise<RunningContainer> {
  const { instance, wasi } = await factory();
  const run = findExport(instance.exports, "wasi:cli/run")?.run as (() => Promise<void>) | undefined;
  if (!run) {
    wasi.close();
    throw new Error("The component has no wasi:cli/run export");
  }
  let resolveExit!: (e: ContainerExit) => void;
  const exited = new Promise<ContainerExit>((r) => (resolveExit = r));
  let done = false;
  const finish = (error: unknown) => {
    if (done) return;
    done = true;
    const exit = classifyEnd(error, nearMemoryLimit(instance.memories, spec.memoryLimitBytes));
    wasi.close();
    resolveExit(exit);
  };
  hooks.enter();
  let call: Promise<void>;
  try {
    call = run();
  } catch (e) {
    call = Promise.reject(e);
  } finally {
    hooks.leave();
  }
  call.then(() => finish(undefined), finish);
  return {
    exited,
    async stop(graceMs) {
      if (done) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const graceOver = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), graceMs)));
      const outcome = await Promise.race([exited, graceOver]);
      clearTimeout(timer);
      if (outcome === "timeout") {
        wasi.abort(new StopRequested());
        const settled = await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 1000)))]);
        clearTimeout(timer);
        if (!settled) finish(new StopRequested()); // the guest did not unwind: drop it
      }
    },
    memoryBytes: () => memoryBytes(instance.memories),
  };
}
