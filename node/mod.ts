/**
 * The node agent: registration and heartbeats, pod workers over a CRI-shaped runtime, a
 * CNI-shaped bridge network, volumes, probes and container logs. `./skiff node` runs it;
 * `./skiff up` embeds one.
 *
 * @example
 * ```ts
 * import { startNodeAgent, wasmRuntime } from "./node/mod.ts";
 *
 * await using agent = await startNodeAgent({
 *   server: "http://127.0.0.1:6443",
 *   dataDir: "/var/lib/skiff-node",
 *   runtime: wasmRuntime(),
 * });
 * ```
 * @module
 */
export {
  NodeAgent,
  type NodeAgentOptions,
  type NodeRuntime,
  type RuntimeContext,
  startNodeAgent,
} from "./agent.ts";
export { ensureRuntimeClass, missingRuntimeClasses, runtimeClassObject } from "./runtime_class.ts";
export { type IssuedCredential, NodeCredential } from "./registration/credential.ts";
export { netnsPrefixFor, wasmRuntime, type WasmRuntimeSettings } from "./cri/wasm/mod.ts";
export { nodeRuntime, type NodeRuntimeSettings, OCI_CONDITION } from "./cri/oci/mod.ts";
export type * from "./cri/api.ts";
export type { NetworkPlugin } from "./cni/api.ts";
