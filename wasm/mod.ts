/**
 * The WebAssembly component host: what the node agent's Wasm runtime calls. It imports nothing
 * else of Skiff.
 *
 * ## What the node uses
 *
 * 1. **Is this image Wasm?** {@linkcode classifyArtifact} / {@linkcode isWasmArtifact} on the
 *    pulled manifest (`node/registry`): the CNCF Wasm artifact, wasm-to-oci/oras and Bytecode
 *    Alliance layouts; `wasm-invalid` carries a reason (→ `ErrImagePull`-style failure).
 * 2. **Prepare it.** {@linkcode ComponentCache}`.prepare({ path, digest })` on the component
 *    layer's blob: checks the binary, transpiles it with jco (in a worker, JSPI), checks its world
 *    and keeps the result under `<dataDir>/wasm` by digest (surviving restarts). Throws
 *    {@linkcode ComponentRefusedError} with a sentence (→ `CreateContainerError`). The result,
 *    a {@linkcode PreparedComponent}, is plain data: `kind` is `command` or `proxy`.
 * 3. **Run it in a sandbox.** {@linkcode Sandbox}`.start(opts)` starts a sandbox process (group
 *    pods into sandboxes as you like, e.g. one per namespace; run it in the pod network namespace
 *    with `wrap`; give it read on `cache.dir` and the pods' volume roots, write on writable
 *    volume roots, net on the pod IPs or `all` inside a netns). Then
 *    `sandbox.startContainer(spec)` ({@linkcode ContainerSpec}: env, args, cwd, mounts with
 *    `readOnly`, `listen` = pod IP × containerPorts, `memoryLimitBytes` =
 *    `resources.limits.memory`, `idleInstanceMs`: a proxy instance idle that long is dropped and
 *    its memory returned, default 30 s); it rejects with a message when the container cannot start
 *    (→ `CreateContainerError`/`StartError`).
 * 4. **Watch it.** `onOutput(id, stream, bytes)` carries stdout/stderr (write the CRI log file);
 *    `onExit(id, exit)` gives a {@linkcode ContainerExit}: `exitCode` and a kubelet `reason`
 *    (`Completed`, `Error`, `OOMKilled`, `Unresponsive`, `SandboxLost`). `collateral: true` means
 *    the container died with its sandbox through no fault of its own: re-create it in a new
 *    sandbox without counting a restart. Otherwise apply restartPolicy.
 * 5. **Stop it.** `sandbox.stopContainer(id, graceMs)`; `sandbox.kill()` kills the process.
 *
 * `resources.limits.cpu`: pass `cgroup: { cpuMillis }` to {@linkcode Sandbox.start} (cgroup v1
 * CFS quota on the whole sandbox, so give limited pods their own sandbox or sum the limits);
 * `sandbox.limits.enforced` says whether it took effect.
 *
 * ## Internals (not for the node)
 *
 * `host/` runs containers inside the sandbox; `wasi/` is the per-instance WASI 0.2 host;
 * `sandbox/main.ts` is the sandbox process, `sandbox/watchdog.ts` its watchdog worker.
 * {@linkcode loadComponent} and {@linkcode createWasi} instantiate a component in the calling
 * process without any isolation: for benchmarks (the raw instantiate baseline) and trusted code.
 *
 * @example
 * ```ts ignore
 * import { classifyArtifact, ComponentCache, Sandbox } from "../wasm/mod.ts";
 *
 * const kind = classifyArtifact(image.manifest);
 * if (kind.kind === "wasm") {
 *   const layer = image.layers.find((l) => l.descriptor.digest === kind.layer.digest)!;
 *   const component = await cache.prepare({ path: layer.path, digest: kind.layer.digest });
 *   const sandbox = await Sandbox.start({ permissions: { read: [cache.dir], net: [podIP] }, onExit, onOutput });
 *   await sandbox.startContainer({ id, component, env, listen: [{ ip: podIP, port: 8080 }] });
 * }
 * ```
 * @module
 */
export {
  type ArtifactKind,
  classifyArtifact,
  type DescriptorLike,
  isWasmArtifact,
  type ManifestLike,
  WASM_COMPONENT_LAYER_V0,
  WASM_CONFIG_V0,
  WASM_CONFIG_V1,
  WASM_CONTENT_LAYER_V1,
  WASM_LAYER,
} from "./artifact.ts";
export {
  ComponentCache,
  type ComponentCacheOptions,
  ComponentRefusedError,
  type PreparedComponent,
} from "./component_cache.ts";
export type { ContainerExit, ContainerSpec, ListenAddress, Mount } from "./host/spec.ts";
export { Sandbox, type SandboxExit, type SandboxOptions } from "./sandbox/client.ts";
export type { SandboxPermissions } from "./sandbox/flags.ts";
export type { WorldKind } from "./world.ts";
export { type Instance, loadComponent, type LoadedComponent } from "./host/loader.ts";
export { createWasi, type Wasi, type WasiConfig } from "./wasi/mod.ts";
export { capMemory, MemoryLimitError } from "./memory_cap.ts";
