/**
 * CRI ImageService for Wasm components: pulls OCI artifacts with the node's registry client
 * (verified, content-addressed blobs) and accepts only Wasm artifacts (one component layer);
 * a container image is refused with a clear message. Images are remembered in
 * `<dir>/images.json` by name and by reference, so a restarted agent finds them present.
 * @module
 */
import { classifyArtifact } from "../../../wasm/artifact.ts";
import { type Image, ImagePullError, type ImageService, type ImageSpec } from "../api.ts";
import { parseReference, referenceName, RegistryClient } from "../../registry/mod.ts";

/** One pulled Wasm image. */
export interface WasmImage extends Image {
  /** `name@sha256:<manifest digest>`. */
  ref: string;
  /** The component layer on disk (verified). */
  componentPath: string;
  componentDigest: string;
}

export class WasmImageService implements ImageService {
  readonly registry: RegistryClient;
  readonly #file: string;
  #images = new Map<string, WasmImage>();

  private constructor(registry: RegistryClient, file: string) {
    this.registry = registry;
    this.#file = file;
  }

  /** Opens the image table in `dir` (blobs in `<dir>/blobs`). */
  static async open(dir: string, opts: { registry?: RegistryClient } = {}): Promise<WasmImageService> {
    await Deno.mkdir(dir, { recursive: true });
    const svc = new WasmImageService(
      opts.registry ?? new RegistryClient({ blobDir: `${dir}/blobs` }),
      `${dir}/images.json`,
    );
    try {
      const list = JSON.parse(await Deno.readTextFile(svc.#file)) as WasmImage[];
      for (const img of list) {
        try {
          await Deno.stat(img.componentPath);
          svc.#remember(img);
        } catch { /* the blob is gone: pull again */ }
      }
    } catch { /* none yet */ }
    return svc;
  }

  #remember(img: WasmImage) {
    for (const key of [img.id, img.ref, ...img.repoTags, ...img.repoDigests]) this.#images.set(key, img);
  }

  async #save() {
    const unique = [...new Set(this.#images.values())];
    await Deno.writeTextFile(`${this.#file}.tmp`, JSON.stringify(unique));
    await Deno.rename(`${this.#file}.tmp`, this.#file);
  }

  /** The image a name or reference stands for, if pulled. */
  lookup(image: string): WasmImage | undefined {
    const found = this.#images.get(image);
    if (found) return found;
    try {
      const ref = parseReference(image);
      return this.#images.get(normalize(image)) ??
        (ref.digest ? this.#images.get(`${referenceName(ref)}@${ref.digest}`) : undefined);
    } catch {
      return undefined;
    }
  }

  async pullImage(
    spec: ImageSpec,
    opts: { pullSecrets?: unknown[]; signal?: AbortSignal } = {},
  ): Promise<string> {
    let ref;
    try {
      ref = parseReference(spec.image);
    } catch (e) {
      throw new ImagePullError(`invalid image reference "${spec.image}": ${(e as Error).message}`);
    }
    try {
      const fetched = await this.registry.fetchManifest(ref, {
        pullSecrets: opts.pullSecrets,
        signal: opts.signal,
      });
      const kind = classifyArtifact(fetched.manifest);
      if (kind.kind === "container") {
        throw new ImagePullError(
          `${spec.image} is an OCI container image, not a WebAssembly component; this node runs only Wasm (RuntimeClass "wasm")`,
        );
      }
      if (kind.kind === "wasm-invalid") throw new ImagePullError(kind.reason);
      const pulled = await this.registry.pull(
        `${referenceName(ref)}@${fetched.indexDigest ?? fetched.digest}`,
        {
          pullSecrets: opts.pullSecrets,
          signal: opts.signal,
        },
      );
      const layer = pulled.layers.find((l) => l.descriptor.digest === kind.layer.digest);
      if (!layer) throw new ImagePullError(`${spec.image}: the component layer was not pulled`);
      const digestRef = `${referenceName(ref)}@${pulled.digest}`;
      const img: WasmImage = {
        id: pulled.digest,
        ref: digestRef,
        repoTags: ref.tag ? [normalize(spec.image)] : [],
        repoDigests: [digestRef],
        size: layer.descriptor.size,
        componentPath: layer.path,
        componentDigest: layer.descriptor.digest,
      };
      this.#remember(img);
      this.#images.set(spec.image, img);
      await this.#save();
      return digestRef;
    } catch (e) {
      if (e instanceof ImagePullError) throw e;
      throw new ImagePullError((e as Error).message ?? String(e));
    }
  }

  imageStatus(spec: ImageSpec): Promise<Image | null> {
    return Promise.resolve(this.lookup(spec.image) ?? null);
  }

  listImages(): Promise<Image[]> {
    return Promise.resolve([...new Set(this.#images.values())]);
  }

  async removeImage(spec: ImageSpec): Promise<void> {
    const img = this.lookup(spec.image);
    if (!img) return;
    for (const [k, v] of this.#images) if (v === img) this.#images.delete(k);
    await this.#save();
  }
}

function normalize(image: string): string {
  try {
    const ref = parseReference(image);
    return ref.digest
      ? `${referenceName(ref)}@${ref.digest}`
      : `${referenceName(ref)}:${ref.tag ?? "latest"}`;
  } catch {
    return image;
  }
}
