/**
 * The OCI distribution client of the node agent, shared by the Wasm and container runtimes.
 *
 * - {@linkcode parseReference}: image references normalized as Docker does.
 * - {@linkcode RegistryClient}: resolve tags to digests, pull manifests (explicit Accept list,
 *   platform choice out of an index) and blobs into a verified content-addressed cache
 *   (`<dataDir>/blobs/sha256/…`), Bearer-token and Basic authentication from imagePullSecrets,
 *   de-duplicated concurrent pulls.
 * - {@linkcode pushArtifact}, {@linkcode pushBlob}, {@linkcode pushManifest}: pushing.
 * - {@linkcode RegistryError}: every failure, with the registry's own message; the node agent
 *   maps it to `ErrImagePull`.
 *
 * @example
 * ```ts ignore
 * import { RegistryClient } from "./mod.ts";
 *
 * const client = new RegistryClient({ blobDir: `${dataDir}/blobs` });
 * const image = await client.pull("127.0.0.1:5000/app:1", { pullSecrets: [dockerConfigJson] });
 * ```
 * @module
 */
export { type Challenge, type Credentials, decodeAuth, findCredentials, parseChallenges } from "./auth.ts";
export { BlobStore, DigestMismatchError, sha256Digest, verifyBytes } from "./blob_store.ts";
export {
  type FetchedManifest,
  type PulledImage,
  type PullOptions,
  RegistryClient,
  type RegistryClientOptions,
  type StoredBlob,
} from "./client.ts";
export {
  DEFAULT_PLATFORMS,
  type Descriptor,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  type ImageIndex,
  type ImageManifest,
  type Manifest,
  MANIFEST_ACCEPT,
  ManifestError,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_MANIFEST,
  parseManifest,
  type Platform,
  selectManifest,
} from "./manifest.ts";
export {
  type ArtifactContent,
  type BlobContent,
  pushArtifact,
  pushBlob,
  pushManifest,
  type PushOptions,
} from "./push.ts";
export {
  type ImageReference,
  InvalidReferenceError,
  isDigest,
  parseReference,
  referenceName,
  referenceString,
  withDigest,
} from "./reference.ts";
export { RegistryError, RegistryTransport } from "./transport.ts";
