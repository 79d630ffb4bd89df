/**
 * Pulling plugin images with the OCI client: the manifest digest and the
 * component layer's bytes. Used by `./skiff plugin-host` and by node agents (it lives here, not in
 * plugins/host/, because plugins/ never imports node/; the plugin host takes it as its `pull`).
 * @module
 */
import { classifyArtifact } from "../../wasm/artifact.ts";
import { RegistryClient } from "./mod.ts";
import type { PullFn } from "../../plugins/host/server.ts";

/** Pulls a plugin image: the manifest digest and the component layer's bytes. */
export function registryPull(blobDir: string): PullFn {
  const client = new RegistryClient({ blobDir });
  return async (image, signal) => {
    const pulled = await client.pull(image, { signal });
    const kind = classifyArtifact(pulled.manifest);
    if (kind.kind !== "wasm") {
      throw new Error(kind.kind === "container" ? `${image} is a container image, not a Wasm artifact` : kind.reason);
    }
    const layer = pulled.layers.find((l) => l.descriptor.digest === kind.layer.digest)!;
    return { digest: pulled.digest, bytes: await Deno.readFile(layer.path) };
  };
}
