/**
 * The transpile worker: transpiling blocks for up to seconds, so the node agent does it here,
 * off its event loop. Messages: `{ id, bytes }` in, `{ id, result }` or `{ id, error }` out;
 * `{ id }` alone is a ping, answered `{ id, result: null }` once jco-transpile is loaded.
 * @module
 */
import { transpileComponent } from "./transpile.ts";

interface WorkerScope {
  onmessage: ((e: MessageEvent<{ id: number; bytes?: Uint8Array }>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as WorkerScope;

scope.onmessage = async (e) => {
  const { id, bytes } = e.data;
  if (!bytes) { // a ping: the module graph (jco-transpile) is loaded
    scope.postMessage({ id, result: null });
    return;
  }
  try {
    const result = await transpileComponent(bytes);
    scope.postMessage({ id, result }, Object.values(result.files).map((b) => b.buffer as ArrayBuffer));
  } catch (err) {
    scope.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
};
