/**
 * Pushing to an OCI registry: blobs (a HEAD to skip what is there, then the two-step upload,
 * POST then PUT), manifests, and whole artifacts built from bytes (what the tests and
 * `skiff plugin push` need).
 *
 * @example
 * ```ts ignore
 * import { RegistryClient } from "./client.ts";
 * import { pushArtifact } from "./push.ts";
 *
 * const client = new RegistryClient({ blobDir: "/tmp/blobs" });
 * await pushArtifact(client, "127.0.0.1:5000/hello:1", {
 *   config: { mediaType: "application/vnd.wasm.config.v0+json", bytes: new TextEncoder().encode("{}") },
 *   layers: [{ mediaType: "application/wasm", bytes: wasmBytes }],
 * });
 * ```
 * @module
 */
import type { Credentials } from "./auth.ts";
import { sha256Digest } from "./blob_store.ts";
import type { RegistryClient } from "./client.ts";
import { type Descriptor, type ImageManifest, OCI_MANIFEST } from "./manifest.ts";
import { type ImageReference, parseReference } from "./reference.ts";
import { RegistryError } from "./transport.ts";

/** Options of a push. */
export interface PushOptions {
  credentials?: Credentials;
  signal?: AbortSignal;
}

/** Content to push as one blob. */
export interface BlobContent {
  mediaType: string;
  bytes: Uint8Array;
  annotations?: Record<string, string>;
}

/** An artifact (or image) built from bytes. */
export interface ArtifactContent {
  config: BlobContent;
  layers: BlobContent[];
  artifactType?: string;
  annotations?: Record<string, string>;
  /** Manifest media type (default: OCI image manifest). */
  mediaType?: string;
}

const PUSH = ["pull", "push"] as const;

function refOf(reference: string | ImageReference): ImageReference {
  return typeof reference === "string" ? parseReference(reference) : reference;
}

/** Uploads a blob unless the repository has it; returns its descriptor. */
export async function pushBlob(
  client: RegistryClient,
  reference: string | ImageReference,
  content: BlobContent,
  opts: PushOptions = {},
): Promise<Descriptor> {
  const ref = refOf(reference);
  const digest = sha256Digest(content.bytes);
  const descriptor: Descriptor = {
    mediaType: content.mediaType,
    digest,
    size: content.bytes.byteLength,
    ...(content.annotations ? { annotations: content.annotations } : {}),
  };
  const common = {
    registry: ref.registry,
    repository: ref.repository,
    actions: PUSH,
    credentials: opts.credentials,
    signal: opts.signal,
  };
  const head = await client.transport.request({
    ...common,
    path: `blobs/${digest}`,
    method: "HEAD",
    accept: (s) => s === 200 || s === 404,
  });
  await head.body?.cancel();
  if (head.status === 200) return descriptor;
  const start = await client.transport.request({
    ...common,
    path: "blobs/uploads/",
    method: "POST",
    accept: (s) => s === 202,
  });
  await start.body?.cancel();
  const location = start.headers.get("location");
  if (!location) throw new RegistryError(`${ref.registry}: the upload answer has no Location`, start.status);
  const url = new URL(location, client.transport.baseUrl(ref.registry));
  url.searchParams.set("digest", digest);
  const put = await client.transport.request({
    ...common,
    path: url.href,
    method: "PUT",
    headers: {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(content.bytes.byteLength),
    },
    body: content.bytes as Uint8Array<ArrayBuffer>,
    accept: (s) => s === 201 || s === 204,
  });
  await put.body?.cancel();
  return descriptor;
}

/** Puts a manifest under the reference's tag (or digest); returns the manifest's digest. */
export async function pushManifest(
  client: RegistryClient,
  reference: string | ImageReference,
  bytes: Uint8Array,
  mediaType: string,
  opts: PushOptions = {},
): Promise<string> {
  const ref = refOf(reference);
  const digest = sha256Digest(bytes);
  const res = await client.transport.request({
    registry: ref.registry,
    repository: ref.repository,
    path: `manifests/${ref.tag ?? ref.digest ?? digest}`,
    method: "PUT",
    headers: { "Content-Type": mediaType },
    body: bytes as Uint8Array<ArrayBuffer>,
    actions: PUSH,
    credentials: opts.credentials,
    signal: opts.signal,
    accept: (s) => s === 201 || s === 200,
  });
  await res.body?.cancel();
  const answered = res.headers.get("docker-content-digest");
  if (answered && answered !== digest) {
    throw new RegistryError(
      `${ref.registry}: the registry stored the manifest as ${answered}, expected ${digest}`,
      res.status,
    );
  }
  return digest;
}

/** Pushes the config and layers, then the manifest; returns the manifest's digest. */
export async function pushArtifact(
  client: RegistryClient,
  reference: string | ImageReference,
  content: ArtifactContent,
  opts: PushOptions = {},
): Promise<string> {
  const ref = refOf(reference);
  const [config, ...layers] = await Promise.all(
    [content.config, ...content.layers].map((b) => pushBlob(client, ref, b, opts)),
  );
  const mediaType = content.mediaType ?? OCI_MANIFEST;
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType,
    ...(content.artifactType ? { artifactType: content.artifactType } : {}),
    config,
    layers,
    ...(content.annotations ? { annotations: content.annotations } : {}),
  };
  return await pushManifest(client, ref, new TextEncoder().encode(JSON.stringify(manifest)), mediaType, opts);
}
