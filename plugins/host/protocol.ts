/**
 * The plugin host ↔ runner protocol: one JSON object per line, over the runner's stdin (calls)
 * and stdout (answers, logs). Pure.
 * @module
 */
import type { FailureReason, Grant, PluginKind } from "../../control/api/plugins.ts";
import type { PluginComponent } from "./prepare.ts";

/** How a runner starts (its single argument, as JSON). */
export interface RunnerConfig {
  plugin: string;
  kind: PluginKind;
  component: PluginComponent;
  /** spec.config as JSON (`{}` when absent). */
  settings: string;
  grants: Grant[];
  /** Cap of each linear memory, bytes. */
  memoryBytes: number;
  /** Where the `state` capability persists (only with the grant). */
  stateFile?: string;
}

/** A call: `op` is a guest operation of the kind's binding (`validate`, `cycle`, ...). */
export interface RunnerCall {
  id: number;
  op: string;
  args: unknown[];
}

export interface CallFailure {
  reason: FailureReason;
  message: string;
}

/** What the runner writes. `id` 0 is not an answer (readiness, a log line); -1 is a start failure. */
export type RunnerMessage =
  | { id: number; ok: unknown; recycled?: boolean }
  | { id: number; fail: CallFailure; recycled?: boolean }
  | { id: 0; ready: true; loadMs: number }
  | { id: 0; log: { level: string; message: string } }
  /** The runner could not start (load, instantiate or configure failed); it exits. */
  | { id: -1; fail: CallFailure };

/** Thrown in the runner by guest bindings when a plugin's answer is malformed. */
export class MalformedResult extends Error {
  override name = "MalformedResult";
}

/** Thrown by a host import the plugin is not granted: it unwinds the guest (the call fails). */
export class CapabilityDenied extends Error {
  override name = "CapabilityDenied";
}

/** A kind's guest-side operations (run in the runner on the plugin's exported interface). */
export type GuestOps = Record<string, (exports: Record<string, unknown>, ...args: any[]) => unknown>;
