/**
 * The kubelet's ImageService for container images on a node whose containers a runtime Plugin
 * drives: CRI's image verbs through the plugin's `image-service` (node/cri/plugin/runtime_host.ts,
 * which falls back to the node's image store when the plugin answers `unimplemented`). As
 * upstream's kubelet (`kuberuntime_image.go` `PullImage`), the pod's imagePullSecrets become the
 * call's `auth-config` (the entry for the image's registry and repository; none: an anonymous
 * pull), and the runtime's message is the `ErrImagePull` message.
 *
 * `imageStatus` of an image in the node's store is answered from the store, without a plugin
 * call: the kubelet asks it for every container it starts (the start path), and the store is
 * where every runtime plugin's images live (`node-images`). An image the store does not hold is
 * asked of the plugin.
 * @module
 */
import { type FetchedManifest, findCredentials, parseReference } from "../../registry/mod.ts";
import type { ImageStore, StoredImage } from "../../images/image_store.ts";
import { type Image, ImagePullError, type ImageService, type ImageSpec } from "../api.ts";
import type { WitAuthConfig, WitImageInfo } from "./node_image_service.ts";
import type { RuntimeHost } from "./runtime_host.ts";
import { errorVariant } from "../../../plugins/host/plugin_error.ts";

/** The pull options of the node's ImageService, with the manifest it fetched already. */
export interface PluginPullOptions {
  pullSecrets?: unknown[];
  signal?: AbortSignal;
  fetched?: FetchedManifest;
}

/** The `auth-config` of a pull of `image` with `pullSecrets` (pure); null: anonymous. */
export function authConfig(image: string, pullSecrets: readonly unknown[] = []): WitAuthConfig | null {
  if (!pullSecrets.length) return null;
  const ref = parseReference(image);
  const creds = findCredentials(pullSecrets, ref.registry, ref.repository);
  if (!creds) return null;
  return {
    username: creds.username ?? "",
    password: creds.password ?? "",
    auth: "",
    identityToken: creds.identityToken ?? "",
    registryToken: "",
  };
}

/** The message of a runtime's error: the plugin's (or node's) text without the variant's tag. */
export function runtimeMessage(e: unknown): string {
  return errorVariant(e)?.message ?? (e instanceof Error ? e.message : String(e));
}

function image(i: WitImageInfo | StoredImage): Image {
  return { id: i.id, repoTags: i.repoTags, repoDigests: i.repoDigests, size: Number(i.size) };
}

/** CRI ImageService over a runtime plugin's `image-service`. */
export class PluginImages implements ImageService {
  readonly host: RuntimeHost;
  readonly store: ImageStore;

  constructor(host: RuntimeHost, store: ImageStore) {
    this.host = host;
    this.store = store;
  }

  /** Pulls; answers the image's reference (`name@sha256:…`) as the node's store records it. */
  async pullImage(spec: ImageSpec, opts: PluginPullOptions = {}): Promise<string> {
    let id: string;
    try {
      const auth = authConfig(spec.image, opts.pullSecrets);
      id = await this.host.pullImage({ image: spec.image, annotations: [] }, auth, opts);
    } catch (e) {
      throw new ImagePullError(runtimeMessage(e));
    }
    return this.store.lookup(id)?.ref ?? id;
  }

  async imageStatus(spec: ImageSpec): Promise<Image | null> {
    const stored = this.store.lookup(spec.image);
    if (stored) return image(stored);
    try {
      const found = await this.host.getImageStatus({ image: spec.image }) as WitImageInfo | null;
      return found ? image(found) : null;
    } catch (e) {
      // No image has a malformed name (the pull that follows says why).
      if (errorVariant(e)?.tag === "invalid-argument") return null;
      throw e;
    }
  }

  async listImages(): Promise<Image[]> {
    return (await this.host.listImages() as WitImageInfo[]).map(image);
  }

  async removeImage(spec: ImageSpec): Promise<void> {
    await this.host.removeImage({ image: spec.image });
  }
}
