/**
 * The sandbox IPC: newline-delimited JSON, host → sandbox on the sandbox's stdin and sandbox →
 * host on its stdout. The sandbox's watchdog worker reports an unresponsive guest on stderr, as
 * one line starting with {@linkcode WATCHDOG_PREFIX} (stderr, because the main thread — the one
 * writing stdout — is the one that is stuck). Pure.
 * @module
 */
import type { ContainerExit, ContainerSpec } from "../host/spec.ts";

/** Host → sandbox. */
export type Command =
  | { op: "start"; spec: ContainerSpec }
  | { op: "stop"; id: string; graceMs: number }
  | { op: "shutdown" };

/** Sandbox → host. */
export type Event =
  | { ev: "ready"; pid: number }
  | { ev: "heartbeat"; heapUsed: number; wasmBytes: number; compiledModules: number }
  | { ev: "started"; id: string }
  | { ev: "start-failed"; id: string; message: string }
  | { ev: "output"; id: string; stream: "stdout" | "stderr"; data: string }
  | { ev: "exit"; id: string; exit: ContainerExit };

/** The watchdog's report: the container whose guest has not yielded for `stalledMs`. */
export interface WatchdogReport {
  /** The blamed container, when the watchdog knows which guest was running. */
  container?: string;
  stalledMs: number;
}

/** Shared memory between the sandbox's main thread and its watchdog: a heartbeat counter. */
export const HEARTBEAT = 0;
/** The slot of the container whose guest code is running now (0: none). */
export const CURRENT = 1;
/** The slot of the container whose guest code ran last. */
export const LAST = 2;
/** 1 while the main thread runs a full garbage collection of reclaimed instances (not a stall). */
export const COLLECTING = 3;

/** Marks watchdog lines on the sandbox's stderr. */
export const WATCHDOG_PREFIX = "\u0000skiff-watchdog ";

/** One message as a line. */
export function encodeLine(message: Command | Event): string {
  return `${JSON.stringify(message)}\n`;
}

/**
 * Splits a byte stream into lines and parses each as JSON; yields every complete line and keeps
 * the partial tail for the next chunk.
 */
export class LineDecoder {
  #decoder = new TextDecoder();
  #tail = "";

  /** The complete lines in `chunk` (plus what was pending). */
  push(chunk: Uint8Array): string[] {
    const text = this.#tail + this.#decoder.decode(chunk, { stream: true });
    const lines = text.split("\n");
    this.#tail = lines.pop() ?? "";
    return lines.filter((l) => l.length > 0);
  }
}

/** Parses one line of the protocol; `undefined` for a line that is not a message. */
export function parseMessage<T>(line: string): T | undefined {
  try {
    const m = JSON.parse(line);
    return m && typeof m === "object" ? (m as T) : undefined;
  } catch {
    return undefined;
  }
}

/** Base64 of bytes (for `output` events). */
export function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** Bytes of base64. */
export function fromBase64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

/** Parses a watchdog line (without its prefix check); `undefined` when it is not one. */
export function parseWatchdogLine(line: string): WatchdogReport | undefined {
  if (!line.startsWith(WATCHDOG_PREFIX)) return undefined;
  return parseMessage(line.slice(WATCHDOG_PREFIX.length)) as WatchdogReport | undefined;
}
