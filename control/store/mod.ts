/**
 * The Deno KV store: objects, change log, consistent lists, watches and compaction.
 * @module
 */
export * from "./store.ts";
export * from "./list.ts";
export * from "./watch_hub.ts";
export * from "./compact.ts";
export { MAX_OBJECT_BYTES } from "./codec.ts";
export type { GatherMode, GatherPolicy } from "./gather.ts";
export { toEventId, toResourceVersion } from "./keys.ts";
