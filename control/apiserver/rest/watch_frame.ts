/**
 * The bytes of a JSON watch event (`{"type":"ADDED","object":{...}}` and a newline), encoded once
 * per stored version and event type and shared by every watcher that sends it.
 *
 * Stored versions are immutable and shared (the watch hub hands the same decoded object to every
 * subscriber), so a frame cached on the object is valid for as long as the object lives. The
 * frame is a Uint8Array, whose bytes live outside the JS heap: keeping it costs the garbage
 * collector far less than keeping the JSON text.
 *
 * @example
 * ```ts
 * controller.enqueue(jsonEventFrame("ADDED", obj)); // the same bytes for every watcher of obj
 * ```
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { cachedJsonOf } from "./response.ts";

export type ObjectEventType = "ADDED" | "MODIFIED" | "DELETED";

const TYPES: ObjectEventType[] = ["ADDED", "MODIFIED", "DELETED"];
const utf8 = new TextEncoder();
const frames = new WeakMap<object, Array<Uint8Array | undefined>>();

/** The encoded frame of one event; `obj` must be a stored (immutable, shared) version. */
export function jsonEventFrame(type: ObjectEventType, obj: KubeObject): Uint8Array {
  const i = TYPES.indexOf(type);
  let perType = frames.get(obj);
  const hit = perType?.[i];
  if (hit) return hit;
  // The JSON text is not kept unless a list already cached it: the frame holds the same bytes.
  const json = cachedJsonOf(obj) ?? JSON.stringify(obj);
  const frame = utf8.encode(`{"type":"${type}","object":${json}}\n`);
  if (!perType) frames.set(obj, perType = []);
  perType[i] = frame;
  return frame;
}

/** One chunk holding several frames in order (a single frame is returned as it is). */
export function concatFrames(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
