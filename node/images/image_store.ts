/**
 * Container images on the node: pulled with the shared registry client (Docker v2 schema 2 and OCI
 * manifests, indexes resolved to this node's platform), their layers streamed from the registry
 * straight into content-addressed layer directories (`<dir>/layers/<diffID hex>`), verified
 * twice — the compressed bytes against the manifest's digest, the uncompressed ones against the
 * config's `rootfs.diff_ids` — and only then renamed into place. The compressed blobs are not
 * kept: a layer directory is the cache. Concurrent pulls of one layer share one download, and a
 * layer shared by several images is stored once.
 *
 * The image table (`<dir>/images.json`) maps names, tags and digests to images, each with its
 * config and layer list, and remembers when each was last used, for garbage collection at a disk
 * high-water mark ({@linkcode ImageStore.garbageCollect}).
 * @module
 */
import { createHash } from "node:crypto";
import {
  type Descriptor,
  type FetchedManifest,
  type ImageReference,
  parseReference,
  type PullOptions,
  referenceName,
  RegistryClient,
  RegistryError,
  referenceString,
} from "../registry/mod.ts";
import { diskInfo } from "../registration/machine.ts";
import { LAYER_MEDIA_TYPES } from "./decompress.ts";
import { type ImageConfig, parseImageConfig } from "../../plugins/runtime/oci/image_config.ts";
import { markTopDir } from "./top_dir.ts";
import { trace } from "../../plugins/host/trace.ts";
import { LayerError, unpackLayer } from "./unpack.ts";
import { holdUnpackWorker, unpackLayerInWorker, unpacksInWorker } from "./unpack_worker.ts";

/** One image on the node. */
export interface StoredImage {
  /** The config digest (the image ID, as upstream runtimes report it). */
  id: string;
  /** `name@sha256:<manifest or index digest>`: what containers record as their imageRef. */
  ref: string;
  repoTags: string[];
  repoDigests: string[];
  /** Uncompressed size of its layers, bytes. */
  size: number;
  config: ImageConfig;
  /** Layer digests (uncompressed), bottom first. */
  layers: string[];
  lastUsed: number;
}

/** A pull that failed for a reason worth showing (ErrImagePull). */
export class ImagePullFailure extends Error {
  override name = "ImagePullFailure";
}

export interface ImageStoreOptions {
  /** `<dir>/layers`, `<dir>/images.json`. */
  dir: string;
  registry: RegistryClient;
  /** Layers unpacked at once (default 3). */
  parallelLayers?: number;
  /**
   * A layer unpacked on the agent's thread (smaller than `WORKER_MIN_LAYER_BYTES`) gives the
   * event loop a turn after this many milliseconds of work (default 5; `Infinity`: never).
   */
  unpackSliceMs?: number;
}

function hexOf(digest: string): string {
  return digest.slice(digest.indexOf(":") + 1);
}

function normalize(image: string): string {
  try {
    const ref = parseReference(image);
    return ref.digest ? `${referenceName(ref)}@${ref.digest}` : `${referenceName(ref)}:${ref.tag ?? "latest"}`;
  } catch {
    return image;
  }
}

export class ImageStore {
  readonly dir: string;
  readonly layersDir: string;
  readonly registry: RegistryClient;
  readonly #file: string;
  readonly #images = new Map<string, StoredImage>();
  /** Layer diffID → in-flight unpack. */
  readonly #unpacking = new Map<string, Promise<void>>();
  readonly #pulls = new Map<string, Promise<StoredImage>>();
  readonly #parallel: number;
  readonly #sliceMs: number;
  #saving = Promise.resolve();

  private constructor(opts: ImageStoreOptions) {
    this.dir = opts.dir;
    this.layersDir = `${opts.dir}/layers`;
    this.registry = opts.registry;
    this.#file = `${opts.dir}/images.json`;
    this.#parallel = opts.parallelLayers ?? 3;
    this.#sliceMs = opts.unpackSliceMs ?? 5;
  }

  /** Opens the store (the table is read; images whose layers are gone are forgotten). */
  static async open(opts: ImageStoreOptions): Promise<ImageStore> {
    const s = new ImageStore(opts);
    await Deno.mkdir(`${s.layersDir}`, { recursive: true });
    // Each layer is its own directory hierarchy: let ext4 place each in a quiet block group.
    markTopDir(s.layersDir);
    try {
      const list = JSON.parse(await Deno.readTextFile(s.#file)) as StoredImage[];
      for (const img of list) {
        if (img.layers.every((l) => s.#hasLayerSync(l))) s.#remember(img);
      }
    } catch { /* none yet */ }
    // Leftovers of unpacks a crash interrupted.
    for (const e of Deno.readDirSync(s.layersDir)) {
      if (e.name.startsWith("tmp-")) await Deno.remove(`${s.layersDir}/${e.name}`, { recursive: true });
    }
    return s;
  }

  #hasLayerSync(diffId: string): boolean {
    try {
      return Deno.statSync(this.layerPath(diffId)).isDirectory;
    } catch {
      return false;
    }
  }

  /** The directory of an unpacked layer. */
  layerPath(diffId: string): string {
    return `${this.layersDir}/${hexOf(diffId)}`;
  }

  #remember(img: StoredImage) {
    for (const key of [img.id, img.ref, ...img.repoTags, ...img.repoDigests]) this.#images.set(key, img);
  }

  #save(): Promise<void> {
    this.#saving = this.#saving.then(async () => {
      const unique = [...new Set(this.#images.values())];
      await Deno.writeTextFile(`${this.#file}.tmp`, JSON.stringify(unique));
      await Deno.rename(`${this.#file}.tmp`, this.#file);
    }).catch((e) => console.error("images: saving the image table failed:", e));
    return this.#saving;
  }

  /** The image a name, tag, digest reference or ID stands for. */
  lookup(image: string): StoredImage | undefined {
    const found = this.#images.get(image) ?? this.#images.get(normalize(image));
    if (found) return found;
    try {
      const ref = parseReference(image);
      return ref.digest ? this.#images.get(`${referenceName(ref)}@${ref.digest}`) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Every image, once. */
  list(): StoredImage[] {
    return [...new Set(this.#images.values())];
  }

  /** Marks an image used now (for garbage collection's least-recently-used order). */
  touch(img: StoredImage): void {
    img.lastUsed = Date.now();
  }

  /**
   * Pulls `image` given its fetched manifest (see `RegistryClient.fetchManifest`), unpacking every
   * layer not already present. Concurrent pulls of one reference share one run.
   */
  pull(image: string, fetched: FetchedManifest, opts: PullOptions = {}): Promise<StoredImage> {
    const key = `${normalize(image)} ${fetched.digest}`;
    let p = this.#pulls.get(key);
    if (!p) {
      p = this.#pull(image, fetched, opts).finally(() => this.#pulls.delete(key));
      this.#pulls.set(key, p);
    }
    return p;
  }

  async #pull(image: string, fetched: FetchedManifest, opts: PullOptions): Promise<StoredImage> {
    const ref = fetched.reference;
    const m = fetched.manifest;
    for (const l of m.layers) {
      if (!LAYER_MEDIA_TYPES.has(l.mediaType)) {
        throw new ImagePullFailure(`${image}: layer ${l.digest} has the unsupported media type ${l.mediaType}`);
      }
    }
    const configPath = await this.registry.fetchBlob(ref, m.config, opts);
    const config = parseImageConfig(await Deno.readFile(configPath));
    if (config.os && config.os !== "linux") {
      throw new ImagePullFailure(`${image} is an image for ${config.os}, not linux`);
    }
    if (config.diffIds.length !== m.layers.length) {
      throw new ImagePullFailure(
        `${image}: the config lists ${config.diffIds.length} layers, the manifest ${m.layers.length}`,
      );
    }
    // Unpack the missing layers, a few at a time. After a failure no new layer is started, and
    // the pull ends only once the layers in flight have settled (and cleaned up after themselves).
    const queue = m.layers.map((d, i) => ({ d, diffId: config.diffIds[i] }));
    // The missing large layers share one unpack Worker, started now and stopped after the last.
    const inWorker = (l: { d: Descriptor; diffId: string }) => !this.#hasLayerSync(l.diffId) && unpacksInWorker(l.d.size);
    using _unpacker = queue.some(inWorker) ? holdUnpackWorker() : undefined;
    const sizes = new Map<string, number>();
    let failure: { error: unknown } | undefined;
    const worker = async () => {
      for (let next = queue.shift(); next && !failure; next = queue.shift()) {
        try {
          sizes.set(next.diffId, await this.#ensureLayer(ref, next.d, next.diffId, opts));
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#parallel, queue.length) }, worker));
    if (failure) throw failure.error;
    const name = referenceName(ref);
    const digestRef = `${name}@${fetched.indexDigest ?? fetched.digest}`;
    const prev = this.lookup(image);
    const img: StoredImage = {
      id: m.config.digest,
      ref: digestRef,
      repoTags: [...new Set([...(prev?.id === m.config.digest ? prev.repoTags : []), ...(ref.tag ? [normalize(image)] : [])])],
      repoDigests: [...new Set([digestRef, `${name}@${fetched.digest}`])],
      size: config.diffIds.reduce((n, d) => n + (sizes.get(d) ?? 0), 0),
      config,
      layers: config.diffIds,
      lastUsed: Date.now(),
    };
    // A tag that moved: the old image loses it.
    const others = this.list().filter((o) => o.id !== img.id);
    for (const old of others) old.repoTags = old.repoTags.filter((t) => !img.repoTags.includes(t));
    this.#images.clear();
    for (const old of others) this.#remember(old);
    this.#remember(img);
    if (image !== normalize(image)) this.#images.set(image, img);
    await this.#save();
    return img;
  }

  /** Makes sure the layer is unpacked; resolves to its uncompressed size. */
  async #ensureLayer(
    ref: ImageReference,
    d: Descriptor,
    diffId: string,
    opts: PullOptions,
  ): Promise<number> {
    if (this.#hasLayerSync(diffId)) return await this.#layerSize(diffId);
    let p = this.#unpacking.get(diffId);
    if (!p) {
      p = this.#download(ref, d, diffId, opts).finally(() => this.#unpacking.delete(diffId));
      this.#unpacking.set(diffId, p);
    }
    await p;
    return await this.#layerSize(diffId);
  }

  async #layerSize(diffId: string): Promise<number> {
    try {
      return Number(await Deno.readTextFile(`${this.layerPath(diffId)}.size`));
    } catch {
      return 0;
    }
  }

  async #download(ref: ImageReference, d: Descriptor, diffId: string, opts: PullOptions): Promise<void> {
    const res = await this.registry.transport.request({
      registry: ref.registry,
      repository: ref.repository,
      path: `blobs/${d.digest}`,
      credentials: this.registry.credentialsFor(ref, opts),
      signal: opts.signal,
    });
    if (!res.body) throw new RegistryError(`${referenceString(ref)}: blob ${d.digest} has no body`, res.status);
    const algorithm = d.digest.startsWith("sha512:") ? "sha512" : "sha256";
    const hash = createHash(algorithm);
    let received = 0;
    const verified = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, c) {
          hash.update(chunk);
          received += chunk.length;
          c.enqueue(chunk);
        },
        flush() {
          const actual = `${algorithm}:${hash.digest("hex")}`;
          if (actual !== d.digest || received !== d.size) {
            throw new RegistryError(
              `${referenceString(ref)}: blob ${d.digest} failed verification: got ${actual} (${received} bytes)`,
              res.status,
              "DIGEST_INVALID",
            );
          }
        },
      }),
    );
    const tmp = `${this.layersDir}/tmp-${crypto.randomUUID()}`;
    await Deno.mkdir(tmp, { mode: 0o755 });
    try {
      // Small layers here, in slices of this thread; large ones in the Worker.
      trace("image.unpack.start", d.digest);
      const result = unpacksInWorker(d.size)
        ? await unpackLayerInWorker(verified, tmp)
        : await unpackLayer(verified, tmp, { sliceMs: this.#sliceMs });
      trace("image.unpack.end", `${d.digest} ${result.entries} entries`);
      if (result.diffId !== diffId) {
        throw new ImagePullFailure(
          `${referenceString(ref)}: layer ${d.digest} unpacks to ${result.diffId}, but the config says ${diffId}`,
        );
      }
      await Deno.writeTextFile(`${this.layerPath(diffId)}.size`, String(result.size));
      await Deno.rename(tmp, this.layerPath(diffId));
    } catch (e) {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      if (e instanceof LayerError) throw new ImagePullFailure(`${referenceString(ref)}: layer ${d.digest}: ${e.message}`);
      throw e;
    }
  }

  /** Forgets an image and removes the layers no other image uses. */
  async remove(image: string): Promise<void> {
    const img = this.lookup(image);
    if (!img) return;
    for (const [k, v] of this.#images) if (v === img) this.#images.delete(k);
    await this.#save();
    const used = new Set(this.list().flatMap((i) => i.layers));
    for (const l of img.layers) {
      if (used.has(l) || this.#unpacking.has(l)) continue;
      await Deno.remove(this.layerPath(l), { recursive: true }).catch(() => {});
      await Deno.remove(`${this.layerPath(l)}.size`).catch(() => {});
    }
  }

  /**
   * Image garbage collection, as the kubelet's `ImageGCManager`: when the disk holding the store
   * is more than `highPercent` full, remove images not in `inUse` (image IDs), least recently
   * used first, until the usage would drop below `lowPercent`. Resolves to the removed IDs.
   */
  async garbageCollect(
    inUse: ReadonlySet<string>,
    opts: { highPercent?: number; lowPercent?: number; minAgeMs?: number; disk?: { size: number; free: number } } =
      {},
  ): Promise<string[]> {
    const high = opts.highPercent ?? 85;
    const low = opts.lowPercent ?? 80;
    const disk = opts.disk ?? await diskInfo(this.dir);
    if (!disk.size) return [];
    let used = disk.size - disk.free;
    if ((used / disk.size) * 100 <= high) return [];
    const target = (disk.size * low) / 100;
    const now = Date.now();
    const candidates = this.list()
      .filter((i) => !inUse.has(i.id) && now - i.lastUsed >= (opts.minAgeMs ?? 0))
      .sort((a, b) => a.lastUsed - b.lastUsed);
    const removed: string[] = [];
    for (const img of candidates) {
      if (used <= target) break;
      const others = new Set(this.list().filter((i) => i !== img).flatMap((i) => i.layers));
      const freed = img.layers.filter((l) => !others.has(l)).reduce((n, l) => n + this.#sizeSync(l), 0);
      await this.remove(img.id);
      used -= freed;
      removed.push(img.id);
    }
    return removed;
  }

  #sizeSync(diffId: string): number {
    try {
      return Number(Deno.readTextFileSync(`${this.layerPath(diffId)}.size`));
    } catch {
      return 0;
    }
  }
}
