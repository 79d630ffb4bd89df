/**
 * Transpiles plugin components off the plugin host's event loop (jco-transpile blocks for
 * 0.1–1.5 s). Plugins are called synchronously (no JSPI): a plugin must not block. Messages:
 * `{ id, bytes }` in, `{ id, files }` or `{ id, error }` out.
 * @module
 */
import { transpileBytes } from "@bytecodealliance/jco-transpile";
import { patchGlue } from "../../wasm/transpile_options.ts";

interface WorkerScope {
  onmessage: ((e: MessageEvent<{ id: number; bytes: Uint8Array }>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as WorkerScope;

scope.onmessage = async (e) => {
  const { id, bytes } = e.data;
  try {
    const out = await transpileBytes(bytes, { name: "plugin", instantiation: "async", emitTypescriptDeclarations: false });
    const files: Record<string, Uint8Array> = {};
    for (const [name, data] of Object.entries(out.files)) {
      if (name.endsWith(".d.ts")) continue;
      files[name] = name === "plugin.js" ? new TextEncoder().encode(patchGlue(new TextDecoder().decode(data))) : data;
    }
    scope.postMessage({ id, files }, Object.values(files).map((b) => b.buffer as ArrayBuffer));
  } catch (err) {
    scope.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
};
