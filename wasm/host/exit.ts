/**
 * Turning the way a guest call ended into a container exit: `exit` codes, `run` errors, traps,
 * memory exhaustion (a trap with a memory at its limit) and stops. Pure.
 * @module
 */
import { GuestExit } from "../wasi/cli.ts";
import type { ContainerExit } from "./spec.ts";

/** Thrown into a guest (through its pending waits) when its container is stopped. */
export class StopRequested extends Error {
  constructor() {
    super("The container was stopped");
    this.name = "StopRequested";
  }
}

/** Whether any memory is within 1/8 of the limit (a trap there is memory exhaustion). */
export function nearMemoryLimit(
  memories: readonly { buffer: ArrayBufferLike }[],
  limitBytes?: number,
): boolean {
  if (!limitBytes) return false;
  return memories.some((m) => m.buffer.byteLength + limitBytes / 8 >= limitBytes);
}

/** The total of the instances' memories. */
export function memoryBytes(memories: readonly { buffer: ArrayBufferLike }[]): number {
  return memories.reduce((n, m) => n + m.buffer.byteLength, 0);
}

/**
 * Classifies how a guest call ended: `undefined` means normal completion (exit code 0).
 * `memoryNearLimit` tells a trap caused by memory exhaustion from others.
 */
export function classifyEnd(error: unknown, memoryNearLimit: boolean): ContainerExit {
  if (error === undefined) return { exitCode: 0, reason: "Completed" };
  if (error instanceof GuestExit) {
    return { exitCode: error.code, reason: error.code === 0 ? "Completed" : "Error" };
  }
  if (error instanceof StopRequested) {
    return { exitCode: 137, reason: "Error", message: "Killed after the grace period" };
  }
  const e = error as Error;
  if (e?.name === "ComponentError" || (e && typeof e === "object" && "payload" in e)) {
    return { exitCode: 1, reason: "Error", message: "The guest returned an error from wasi:cli/run" };
  }
  if (error instanceof WebAssembly.RuntimeError || e?.name === "RuntimeError") {
    if (memoryNearLimit) {
      return { exitCode: 137, reason: "OOMKilled", message: `The guest ran out of memory: ${e.message}` };
    }
    return { exitCode: 134, reason: "Error", message: `The guest trapped: ${e.message}` };
  }
  if (error instanceof RangeError && /memory/i.test(e.message)) {
    return { exitCode: 137, reason: "OOMKilled", message: e.message };
  }
  return { exitCode: 1, reason: "Error", message: `The guest failed: ${e?.message ?? String(error)}` };
}
