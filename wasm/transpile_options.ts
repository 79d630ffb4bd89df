/**
 * How components are transpiled for this host (shared by the cache and the transpile worker):
 * async instantiation with JSPI — every blocking WASI call may suspend the guest, and the `run`
 * and `handle` exports return Promises — and the glue patched not to read
 * `process.env.JCO_DEBUG` on every call (the sandbox has no env permission, and the lookup cost
 * ~6 % of a request). Pure.
 * @module
 */

/** The WASI imports that may block, so they suspend the guest (JSPI) instead of the sandbox. */
export const ASYNC_IMPORTS: readonly string[] = [
  "wasi:io/poll#poll",
  "wasi:io/poll#[method]pollable.block",
  "wasi:io/streams#[method]input-stream.blocking-read",
  "wasi:io/streams#[method]input-stream.blocking-skip",
  "wasi:io/streams#[method]output-stream.blocking-flush",
  "wasi:io/streams#[method]output-stream.blocking-write-and-flush",
  "wasi:io/streams#[method]output-stream.blocking-write-zeroes-and-flush",
  "wasi:io/streams#[method]output-stream.blocking-splice",
];

/** The exports the host calls, as Promises. */
export const ASYNC_EXPORTS: readonly string[] = ["wasi:cli/run#run", "wasi:http/incoming-handler#handle"];

/** Changes whenever the transpile options or the glue patch change (it names cache entries). */
export const TRANSPILE_FORMAT = "jco-transpile-0.15.0.jspi.1";

/** The generated glue's file name. */
export const GLUE_FILE = "component.js";

/** What a transpile produced. */
export interface Transpiled {
  files: Record<string, Uint8Array>;
  imports: string[];
  exports: [string, "function" | "instance"][];
}

const DEBUG_CHECK = "if (!globalThis?.process?.env?.JCO_DEBUG) { return; }";

/** Makes the glue's debug logging a no-op. */
export function patchGlue(js: string): string {
  return js.split(DEBUG_CHECK).join("return;");
}
