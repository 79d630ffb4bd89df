/**
 * The WebAssembly runtime of the node agent: CRI RuntimeService and ImageService over `wasm/`
 * (component cache, sandbox processes) and the node's registry client, with sandbox shims for
 * restart safety. `wasmRuntime()` makes the factory the agent calls once the network exists.
 *
 * State under the data dir: `runtime/` (records, shims), `wasm/` (transpiled components),
 * `images/` (image table and verified blobs).
 *
 * @example
 * ```ts
 * const agent = await startNodeAgent({ server, dataDir, runtime: wasmRuntime() });
 * ```
 * @module
 */
import { ComponentCache } from "../../../wasm/component_cache.ts";
import type { NodeRuntime, RuntimeContext } from "../../agent.ts";
import { WasmImageService } from "./image_service.ts";
import { RUNTIME_NAME, RUNTIME_VERSION, WasmRuntime } from "./wasm_runtime.ts";

export interface WasmRuntimeSettings {
  /** Unresponsive-guest deadline (default 5000 ms). */
  deadlineMs?: number;
  /** V8 heap limit per sandbox process (default 2048 MiB). */
  heapLimitMiB?: number;
  /** Memory cap of containers without `limits.memory` (default 256 MiB). */
  defaultMemoryLimitBytes?: number;
  /** Containers per sandbox process (default 200). */
  maxContainersPerSandbox?: number;
  /** A proxy instance idle this long is dropped, its memory returned (default 30,000 ms; 0: never). */
  idleInstanceMs?: number;
}

/** The prefix of the network namespaces of the node whose data dir is `dataDir` (unique per node on a machine). */
export function netnsPrefixFor(dataDir: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < dataDir.length; i++) h = Math.imul(h ^ dataDir.charCodeAt(i), 0x01000193);
  return `sk${(h >>> 0).toString(36)}-`;
}

/** The factory of the Wasm runtime, for `NodeAgentOptions.runtime`. */
export function wasmRuntime(
  settings: WasmRuntimeSettings = {},
): (ctx: RuntimeContext) => Promise<NodeRuntime> {
  return async (ctx) => {
    const components = new ComponentCache({ dir: `${ctx.dataDir}/wasm` });
    const images = await WasmImageService.open(`${ctx.dataDir}/images`);
    const network = ctx.network as RuntimeContext["network"] & {
      detachNamespace(netns: string): Promise<void>;
    };
    const runtime = await WasmRuntime.open({
      dir: `${ctx.dataDir}/runtime`,
      volumeRoot: `${ctx.dataDir}/kubelet/pods`,
      network,
      images,
      components,
      netnsPrefix: netnsPrefixFor(ctx.dataDir),
      ...settings,
    });
    return {
      runtime,
      images,
      handlers: [RUNTIME_NAME],
      version: `${RUNTIME_NAME}://${RUNTIME_VERSION}`,
      sharedNetns: (namespace) => `${netnsPrefixFor(ctx.dataDir)}${namespace}`,
      async close(opts) {
        await runtime.close(opts);
        components.close();
      },
    };
  };
}

export { WasmImageService, WasmRuntime };
