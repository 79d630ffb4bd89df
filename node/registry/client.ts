/**
 * The OCI distribution client: resolves references to manifest digests, pulls manifests (with
 * an explicit Accept list, choosing a platform out of an index) and blobs into a verified,
 * content-addressed {@linkcode BlobStore}, and de-duplicates concurrent pulls of the same image
 * (and of the same blob). Pushing is in `push.ts`.
 *
 * @example
 * ```ts ignore
 * import { RegistryClient } from "./client.ts";
 *
 * const client = new RegistryClient({ blobDir: "/var/lib/skiff/blobs" });
 * const image = await client.pull("127.0.0.1:5000/hello:1");
 * image.layers[0].path; // "/var/lib/skiff/blobs/sha256/…"
 * ```
 * @module
 */
import { type Credentials, findCredentials } from "./auth.ts";
import { BlobStore, DigestMismatchError, verifyBytes } from "./blob_store.ts";
import {
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  MANIFEST_ACCEPT,
  parseManifest,
  type Platform,
  platformString,
  selectManifest,
} from "./manifest.ts";
import { type ImageReference, parseReference, referenceString } from "./reference.ts";
import { RegistryError, RegistryTransport, type TransportOptions } from "./transport.ts";

/** Options of a {@linkcode RegistryClient}. */
export interface RegistryClientOptions extends TransportOptions {
  /** The blob cache directory (`<dataDir>/blobs`), or a store. */
  blobDir: string | BlobStore;
  /** Platforms to choose from an index, most preferred first (default: linux/amd64, then wasm). */
  platforms?: readonly Platform[];
}

/** Options of one pull. */
export interface PullOptions {
  /** Decoded `.dockerconfigjson` (or `.dockercfg`) of each imagePullSecret, in order. */
  pullSecrets?: readonly unknown[];
  /** Explicit credentials; they win over `pullSecrets`. */
  credentials?: Credentials;
  platforms?: readonly Platform[];
  signal?: AbortSignal;
}

/** A manifest fetched and verified. */
export interface FetchedManifest {
  reference: ImageReference;
  /** Digest of the chosen image manifest. */
  digest: string;
  manifest: ImageManifest;
  /** Digest of the index the manifest was chosen from, when the reference named an index. */
  indexDigest?: string;
  index?: ImageIndex;
}

/** A blob on disk. */
export interface StoredBlob {
  descriptor: Descriptor;
  path: string;
}

/** A pulled image: its manifest and every blob it references, on disk and verified. */
export interface PulledImage extends FetchedManifest {
  config: StoredBlob;
  layers: StoredBlob[];
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Pulls images and artifacts from OCI registries. */
export class RegistryClient {
  /** Authenticated HTTP to registries (shared with `push.ts`). */
  readonly transport: RegistryTransport;
  /** The verified blob cache. */
  readonly blobs: BlobStore;
  readonly #platforms?: readonly Platform[];
  readonly #pulls = new Map<string, Promise<PulledImage>>();
  readonly #blobFetches = new Map<string, Promise<string>>();

  constructor(opts: RegistryClientOptions) {
    this.transport = new RegistryTransport(opts);
    this.blobs = typeof opts.blobDir === "string" ? new BlobStore(opts.blobDir) : opts.blobDir;
    this.#platforms = opts.platforms;
  }

  /** The credentials a pull of `ref` would use. */
  credentialsFor(ref: ImageReference, opts: PullOptions = {}): Credentials | undefined {
    return opts.credentials ?? findCredentials(opts.pullSecrets ?? [], ref.registry, ref.repository);
  }

  /**
   * Resolves a reference to the digest of its manifest (for a tag: the registry's current
   * answer; for a digest-pinned reference: the digest itself, after checking it exists).
   */
  async resolve(reference: string | ImageReference, opts: PullOptions = {}): Promise<string> {
    const ref = typeof reference === "string" ? parseReference(reference) : reference;
    const res = await this.transport.request({
      registry: ref.registry,
      repository: ref.repository,
      path: `manifests/${ref.digest ?? ref.tag}`,
      method: "HEAD",
      headers: { Accept: MANIFEST_ACCEPT.join(", ") },
      credentials: this.credentialsFor(ref, opts),
      signal: opts.signal,
      accept: (s) => s === 200 || s === 404 || s === 405,
    });
    await res.body?.cancel();
    const header = res.headers.get("docker-content-digest");
    if (res.status === 404) {
      throw new RegistryError(`${referenceString(ref)}: manifest unknown`, 404, "MANIFEST_UNKNOWN");
    }
    if (ref.digest) return ref.digest;
    if (res.status === 200 && header) return header;
    return (await this.#manifestBytes(ref, ref.tag!, opts)).digest;
  }

  /** Fetches and verifies the image manifest of a reference, choosing a platform from an index. */
  async fetchManifest(reference: string | ImageReference, opts: PullOptions = {}): Promise<FetchedManifest> {
    const ref = typeof reference === "string" ? parseReference(reference) : reference;
    const first = await this.#manifestBytes(ref, ref.digest ?? ref.tag!, opts);
    const parsed = parseManifest(first.bytes, first.contentType);
    if (parsed.kind === "image") return { reference: ref, digest: first.digest, manifest: parsed.manifest };
    const platforms = opts.platforms ?? this.#platforms;
    const chosen = selectManifest(parsed.index, platforms);
    if (!chosen) {
      const have = parsed.index.manifests.map((m) => (m.platform ? platformString(m.platform) : m.mediaType))
        .join(", ");
      throw new RegistryError(
        `${referenceString(ref)}: no manifest in the index matches this node's platforms (index has: ${
          have || "nothing"
        })`,
        404,
        "MANIFEST_UNKNOWN",
      );
    }
    const second = await this.#manifestBytes(ref, chosen.digest, opts);
    const inner = parseManifest(second.bytes, second.contentType);
    if (inner.kind !== "image") {
      throw new RegistryError(`${referenceString(ref)}: nested indexes are not supported`, 415);
    }
    return {
      reference: ref,
      digest: second.digest,
      manifest: inner.manifest,
      indexDigest: first.digest,
      index: parsed.index,
    };
  }

  /**
   * Pulls an image: its manifest, config and layers into the blob store. Concurrent pulls of the
   * same reference with the same credentials share one download.
   */
  pull(reference: string | ImageReference, opts: PullOptions = {}): Promise<PulledImage> {
    const ref = typeof reference === "string" ? parseReference(reference) : reference;
    const key = JSON.stringify([
      referenceString(ref),
      opts.platforms ?? null,
      this.credentialsFor(ref, opts) ?? null,
    ]);
    let pending = this.#pulls.get(key);
    if (!pending) {
      pending = this.#pull(ref, opts).finally(() => this.#pulls.delete(key));
      this.#pulls.set(key, pending);
    }
    return pending;
  }

  async #pull(ref: ImageReference, opts: PullOptions): Promise<PulledImage> {
    const fetched = await this.fetchManifest(ref, opts);
    const descriptors = [fetched.manifest.config, ...fetched.manifest.layers];
    // Every download settles before the pull answers, so a failed pull leaves nothing still
    // writing into the blob store behind the caller's back.
    const settled = await Promise.allSettled(descriptors.map((d) => this.fetchBlob(ref, d, opts)));
    const failed = settled.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    const [config, ...layers] = descriptors.map((descriptor, i) => ({
      descriptor,
      path: (settled[i] as PromiseFulfilledResult<string>).value,
    }));
    return { ...fetched, config, layers };
  }

  /**
   * Makes sure a blob is in the store (downloading and verifying it when it is not) and returns
   * its path. Concurrent fetches of one digest share one download.
   */
  fetchBlob(
    reference: string | ImageReference,
    descriptor: Descriptor,
    opts: PullOptions = {},
  ): Promise<string> {
    const ref = typeof reference === "string" ? parseReference(reference) : reference;
    let pending = this.#blobFetches.get(descriptor.digest);
    if (!pending) {
      pending = this.#fetchBlob(ref, descriptor, opts).finally(() =>
        this.#blobFetches.delete(descriptor.digest)
      );
      this.#blobFetches.set(descriptor.digest, pending);
    }
    return pending;
  }

  async #fetchBlob(ref: ImageReference, descriptor: Descriptor, opts: PullOptions): Promise<string> {
    if (await this.blobs.has(descriptor.digest)) return this.blobs.path(descriptor.digest);
    const res = await this.transport.request({
      registry: ref.registry,
      repository: ref.repository,
      path: `blobs/${descriptor.digest}`,
      credentials: this.credentialsFor(ref, opts),
      signal: opts.signal,
    });
    if (!res.body) {
      throw new RegistryError(`${referenceString(ref)}: blob ${descriptor.digest} has no body`, res.status);
    }
    try {
      return await this.blobs.write(descriptor.digest, res.body, descriptor.size);
    } catch (e) {
      if (e instanceof DigestMismatchError) {
        throw new RegistryError(
          `${referenceString(ref)}: blob ${descriptor.digest} failed verification: ${e.message}`,
          res.status,
          "DIGEST_INVALID",
        );
      }
      throw e;
    }
  }

  async #manifestBytes(ref: ImageReference, tagOrDigest: string, opts: PullOptions) {
    const res = await this.transport.request({
      registry: ref.registry,
      repository: ref.repository,
      path: `manifests/${tagOrDigest}`,
      headers: { Accept: MANIFEST_ACCEPT.join(", ") },
      credentials: this.credentialsFor(ref, opts),
      signal: opts.signal,
    });
    const declared = Number(res.headers.get("content-length") ?? "0");
    if (declared > MAX_MANIFEST_BYTES) {
      await res.body?.cancel();
      throw new RegistryError(`${referenceString(ref)}: the manifest is larger than 4 MiB`, res.status);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.byteLength > MAX_MANIFEST_BYTES) {
      throw new RegistryError(`${referenceString(ref)}: the manifest is larger than 4 MiB`, res.status);
    }
    const header = res.headers.get("docker-content-digest") ?? undefined;
    const expected = tagOrDigest.includes(":") ? tagOrDigest : header;
    let digest: string;
    try {
      if (expected) {
        verifyBytes(bytes, expected, "manifest");
        digest = expected;
      } else {
        digest = await this.blobs.putBytes(bytes);
      }
    } catch (e) {
      if (e instanceof DigestMismatchError) {
        throw new RegistryError(`${referenceString(ref)}: ${e.message}`, res.status, "DIGEST_INVALID");
      }
      throw e;
    }
    if (!(await this.blobs.has(digest))) await this.blobs.write(digest, bytes, bytes.byteLength);
    return { bytes, digest, contentType: res.headers.get("content-type") ?? undefined };
  }
}
