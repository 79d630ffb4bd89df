/**
 * The node's ImageService when it runs both runtimes: one pull fetches the manifest, tells a
 * WebAssembly artifact from a container image by its media types (wasm/artifact.ts), and hands the
 * pull to the Wasm image service or to the container image store.
 * @module
 */
import { classifyArtifact } from "../../../wasm/artifact.ts";
import { ImagePullFailure, type ImageStore, type StoredImage } from "../../images/image_store.ts";
import { ImageConfigError } from "../../../plugins/runtime/oci/image_config.ts";
import { parseReference, type RegistryClient } from "../../registry/mod.ts";
import { type Image, ImagePullError, type ImageService, type ImageSpec } from "../api.ts";
import type { WasmImageService } from "../wasm/image_service.ts";

export type ImageKind = "wasm" | "container";

function imageOf(img: StoredImage): Image {
  return { id: img.id, repoTags: img.repoTags, repoDigests: img.repoDigests, size: img.size };
}

export class DispatchImageService implements ImageService {
  readonly store: ImageStore;
  readonly wasm: WasmImageService;
  readonly registry: RegistryClient;
  /** Called after every container image pull (image garbage collection). */
  onPulled?: () => void;

  constructor(store: ImageStore, wasm: WasmImageService, registry: RegistryClient) {
    this.store = store;
    this.wasm = wasm;
    this.registry = registry;
  }

  /** What kind of image `image` (a name or a reference) is, when it is present. */
  kind(image: string): ImageKind | undefined {
    if (this.store.lookup(image)) return "container";
    if (this.wasm.lookup(image)) return "wasm";
    return undefined;
  }

  async pullImage(spec: ImageSpec, opts: { pullSecrets?: unknown[]; signal?: AbortSignal } = {}): Promise<string> {
    let ref;
    try {
      ref = parseReference(spec.image);
    } catch (e) {
      throw new ImagePullError(`invalid image reference "${spec.image}": ${(e as Error).message}`);
    }
    try {
      const fetched = await this.registry.fetchManifest(ref, opts);
      if (classifyArtifact(fetched.manifest).kind !== "container") return await this.wasm.pullImage(spec, opts);
      const img = await this.store.pull(spec.image, fetched, opts);
      this.onPulled?.();
      return img.ref;
    } catch (e) {
      if (e instanceof ImagePullError) throw e;
      if (e instanceof ImagePullFailure || e instanceof ImageConfigError) throw new ImagePullError(e.message);
      throw new ImagePullError((e as Error).message ?? String(e));
    }
  }

  async imageStatus(spec: ImageSpec): Promise<Image | null> {
    const img = this.store.lookup(spec.image);
    if (img) return imageOf(img);
    return await this.wasm.imageStatus(spec);
  }

  async listImages(): Promise<Image[]> {
    return [...this.store.list().map(imageOf), ...await this.wasm.listImages()];
  }

  async removeImage(spec: ImageSpec): Promise<void> {
    await this.store.remove(spec.image);
    await this.wasm.removeImage(spec);
  }
}
