/**
 * The node's ImageService when it runs both runtimes: one pull fetches the manifest, tells a
 * WebAssembly artifact from a container image by its media types (wasm/artifact.ts), and hands the
 * pull to the Wasm image service or to the container images' service: the runtime Plugin's
 * `image-service` (node/cri/plugin/plugin_images.ts) when one drives the containers, the
 * container image store otherwise.
 * @module
 */
import { classifyArtifact } from "../../../wasm/artifact.ts";
import { ImagePullFailure, type ImageStore, type StoredImage } from "../../images/image_store.ts";
import { ImageConfigError } from "../../../plugins/runtime/oci/image_config.ts";
import { type FetchedManifest, parseReference, type RegistryClient } from "../../registry/mod.ts";
import { type Image, ImagePullError, type ImageService, type ImageSpec } from "../api.ts";
import type { WasmImageService } from "../wasm/image_service.ts";

export type ImageKind = "wasm" | "container";

function imageOf(img: StoredImage): Image {
  return { id: img.id, repoTags: img.repoTags, repoDigests: img.repoDigests, size: img.size };
}

/** The container images' ImageService when a runtime Plugin serves them; takes the fetched manifest. */
export interface ContainerImages extends ImageService {
  pullImage(
    spec: ImageSpec,
    opts?: { pullSecrets?: unknown[]; signal?: AbortSignal; fetched?: FetchedManifest },
  ): Promise<string>;
}

export class DispatchImageService implements ImageService {
  readonly store: ImageStore;
  readonly wasm: WasmImageService;
  readonly registry: RegistryClient;
  /** The runtime Plugin's image verbs for container images (none: the store's). */
  readonly containers?: ContainerImages;
  /** Called after every container image pull (image garbage collection). */
  onPulled?: () => void;

  constructor(store: ImageStore, wasm: WasmImageService, registry: RegistryClient, containers?: ContainerImages) {
    this.store = store;
    this.wasm = wasm;
    this.registry = registry;
    this.containers = containers;
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
      const pulled = this.containers
        ? await this.containers.pullImage(spec, { ...opts, fetched })
        : (await this.store.pull(spec.image, fetched, opts)).ref;
      this.onPulled?.();
      return pulled;
    } catch (e) {
      if (e instanceof ImagePullError) throw e;
      if (e instanceof ImagePullFailure || e instanceof ImageConfigError) throw new ImagePullError(e.message);
      throw new ImagePullError((e as Error).message ?? String(e));
    }
  }

  async imageStatus(spec: ImageSpec): Promise<Image | null> {
    const img = this.store.lookup(spec.image);
    if (img) return imageOf(img);
    return await this.wasm.imageStatus(spec) ?? await this.containers?.imageStatus(spec) ?? null;
  }

  async listImages(): Promise<Image[]> {
    const containers = this.containers ? await this.containers.listImages() : this.store.list().map(imageOf);
    return [...containers, ...await this.wasm.listImages()];
  }

  async removeImage(spec: ImageSpec): Promise<void> {
    if (this.containers) await this.containers.removeImage(spec);
    else await this.store.remove(spec.image);
    await this.wasm.removeImage(spec);
  }
}
