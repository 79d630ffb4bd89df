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
  /**
   * The direct endpoint (plugins/host/direct.ts): the runner also serves its plugin's calls on
   * this unix socket, to callers presenting `token`, and reports each call's start and end on
   * stdout (`begin`, `end`) so the host can enforce its deadline.
   */
  direct?: { path: string; token: string };
  /**
   * Start-up tracing on (plugins/host/trace.ts): the runner prints its own trace lines (call
   * read, guest entered and returned, host calls as the guest sees them, state store operations
   * and saves, answer written) to stderr, which its host copies to its own.
   */
  trace?: boolean;
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

/**
 * A nested host call: a guest import the host (not the runner) performs, e.g. a node-side
 * capability (`host-net`, `host-mount`, `host-process`) or the network world's `ipam` delegate.
 * `fn` is the WIT function name (kebab-case); `call` is the id of the call being served (the
 * host knows that call's context, e.g. the sandbox being set up).
 */
export interface HostCall {
  hid: number;
  call: number;
  capability: string;
  fn: string;
  args: unknown[];
}

/**
 * The host's answer to a {@linkcode HostCall}, written to the runner's stdin: `ok` (the value),
 * `err` (the WIT error variant, `{tag, val}`: the guest sees `result::err`), `denied` (an
 * ungranted capability: the guest is unwound with CapabilityDenied) or `fail` (the host could
 * not answer: the guest traps).
 */
export type HostReply =
  | { hid: number; ok: unknown }
  | { hid: number; err: { tag: string; val: unknown } }
  | { hid: number; denied: string }
  | { hid: number; fail: string };

/** What the runner writes. `id` 0 is not an answer (readiness, a log line, a host call); -1 is a start failure. */
export type RunnerMessage =
  | { id: number; ok: unknown; recycled?: boolean }
  | { id: number; fail: CallFailure; recycled?: boolean }
  | { id: 0; ready: true; loadMs: number }
  | { id: 0; log: { level: string; message: string } }
  | { id: 0; host: HostCall }
  /**
   * A direct call is running: the host kills the runner if its `end` does not come within `ms`
   * (the time left of the call's `deadline`, ms, which failure messages name).
   */
  | { id: 0; begin: { key: string; ms: number; deadline?: number } }
  /** A direct call ended; `fail` when it failed (the host records the plugin's failures). */
  | { id: 0; end: { key: string; fail?: CallFailure; recycled?: boolean } }
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
// deno-lint-ignore no-explicit-any -- each operation types its own arguments
export type GuestOps = Record<string, (exports: Record<string, unknown>, ...args: any[]) => unknown>;

/**
 * JSON for host calls and replies, with byte lists (`list<u8>`: Uint8Array) kept as bytes
 * (`{"$b64": ...}` on the wire).
 */
export function encodeHostLine(v: unknown): string {
  return JSON.stringify(v, (_k, x) => x instanceof Uint8Array ? { $b64: toBase64(x) } : x);
}

/** Parses a line written by {@linkcode encodeHostLine}. */
export function decodeHostLine<T = unknown>(line: string): T {
  return JSON.parse(line, (_k, x) => x && typeof x === "object" && typeof x.$b64 === "string" ? fromBase64(x.$b64) : x) as T;
}

function toBase64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}
