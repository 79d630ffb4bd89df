/**
 * Telling a Wasm OCI artifact from a container image by its manifest, and finding its one
 * component layer. Accepted layouts:
 *
 * - CNCF Wasm OCI artifact: config `application/vnd.wasm.config.v0+json`, one layer
 *   `application/wasm` (also when only `artifactType` names the config type);
 * - wasm-to-oci and older oras pushes: config `application/vnd.wasm.config.v1+json`, layer
 *   `application/vnd.wasm.content.layer.v1+wasm`;
 * - `application/vnd.bytecodealliance.wasm.component.layer.v0+wasm` layers.
 *
 * Pure; the manifest type is structural so that `wasm/` imports nothing else of Skiff.
 *
 * @example
 * ```ts
 * import { classifyArtifact, isWasmArtifact } from "./artifact.ts";
 *
 * const manifest = {
 *   config: { mediaType: "application/vnd.wasm.config.v0+json", digest: "sha256:…", size: 2 },
 *   layers: [{ mediaType: "application/wasm", digest: "sha256:…", size: 9 }],
 * };
 * isWasmArtifact(manifest); // true
 * classifyArtifact(manifest).kind; // "wasm"
 * ```
 * @module
 */

/** CNCF Wasm artifact config. */
export const WASM_CONFIG_V0 = "application/vnd.wasm.config.v0+json";
/** wasm-to-oci config. */
export const WASM_CONFIG_V1 = "application/vnd.wasm.config.v1+json";
/** CNCF Wasm artifact layer. */
export const WASM_LAYER = "application/wasm";
/** wasm-to-oci / oras layer. */
export const WASM_CONTENT_LAYER_V1 = "application/vnd.wasm.content.layer.v1+wasm";
/** Bytecode Alliance component layer. */
export const WASM_COMPONENT_LAYER_V0 = "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm";

const WASM_CONFIGS = new Set([WASM_CONFIG_V0, WASM_CONFIG_V1]);
const WASM_LAYERS = new Set([WASM_LAYER, WASM_CONTENT_LAYER_V1, WASM_COMPONENT_LAYER_V0]);

/** The parts of a descriptor this module looks at. */
export interface DescriptorLike {
  mediaType: string;
  digest: string;
  size: number;
}

/** The parts of an image manifest this module looks at. */
export interface ManifestLike {
  artifactType?: string;
  config: DescriptorLike;
  layers: readonly DescriptorLike[];
}

/** What a manifest is, for the node's choice of runtime. */
export type ArtifactKind =
  | { kind: "wasm"; layer: DescriptorLike }
  | { kind: "wasm-invalid"; reason: string }
  | { kind: "container" };

/**
 * Classifies a manifest: a Wasm artifact with its component layer, a Wasm artifact this host
 * cannot run (several Wasm layers, or none), or anything else (an OCI/Docker container image).
 */
export function classifyArtifact(manifest: ManifestLike): ArtifactKind {
  const wasmLayers = manifest.layers.filter((l) => WASM_LAYERS.has(l.mediaType));
  const wasmConfig = WASM_CONFIGS.has(manifest.config.mediaType) ||
    (manifest.artifactType !== undefined && WASM_CONFIGS.has(manifest.artifactType));
  if (!wasmConfig && wasmLayers.length === 0) return { kind: "container" };
  if (wasmLayers.length === 1) return { kind: "wasm", layer: wasmLayers[0] };
  if (wasmLayers.length === 0) {
    return {
      kind: "wasm-invalid",
      reason: `The Wasm artifact has no Wasm layer (layers: ${describe(manifest.layers)})`,
    };
  }
  return {
    kind: "wasm-invalid",
    reason:
      `The Wasm artifact has ${wasmLayers.length} Wasm layers; only single-component artifacts are supported`,
  };
}

function describe(layers: readonly DescriptorLike[]): string {
  return layers.map((l) => l.mediaType).join(", ") || "none";
}

/** Whether a manifest is a Wasm artifact (runnable or not) rather than a container image. */
export function isWasmArtifact(manifest: ManifestLike): boolean {
  return classifyArtifact(manifest).kind !== "container";
}
