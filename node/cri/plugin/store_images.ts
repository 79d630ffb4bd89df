/**
 * The node's image store as a CRI ImageService (container images only): what a runtime
 * Plugin's image verbs are served by (the plugin itself does not pull).
 * @module
 */
import type { ImageStore } from "../../images/image_store.ts";
import type { RegistryClient } from "../../registry/mod.ts";
import type { Image, ImageService, ImageSpec } from "../api.ts";

function view(i: { id: string; repoTags: string[]; repoDigests: string[]; size: number }): Image {
  return { id: i.id, repoTags: i.repoTags, repoDigests: i.repoDigests, size: i.size };
}

/** An ImageService over `store`, pulling with `registry`. */
export function storeImages(store: ImageStore, registry: RegistryClient): ImageService {
  return {
    async pullImage(spec: ImageSpec) {
      return (await store.pull(spec.image, await registry.fetchManifest(spec.image))).ref;
    },
    imageStatus(spec) {
      const i = store.lookup(spec.image);
      return Promise.resolve(i ? view(i) : null);
    },
    listImages: () => Promise.resolve(store.list().map(view)),
    removeImage: (spec) => store.remove(spec.image),
  };
}
