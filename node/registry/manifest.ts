/**
 * OCI and Docker manifests: media types, parsing, and choosing one platform from an index. Pure.
 * @module
 */

/** OCI image manifest. */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** OCI image index. */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
/** Docker v2 schema 2 manifest. */
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** Docker v2 schema 2 manifest list. */
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
/** OCI image config. */
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
/** OCI empty descriptor (`{}`), the config of artifacts that have none. */
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";

/** The `Accept` list of every manifest request, preferred first. */
export const MANIFEST_ACCEPT: readonly string[] = [
  OCI_MANIFEST,
  OCI_INDEX,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
];

/** A content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: Platform;
  urls?: string[];
}

/** A platform of an index entry. */
export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  "os.version"?: string;
  "os.features"?: string[];
}

/** An image manifest (OCI or Docker schema 2), including OCI artifacts. */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An image index (OCI) or manifest list (Docker). */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** A parsed manifest, told apart by kind. */
export type Manifest = { kind: "image"; manifest: ImageManifest } | { kind: "index"; index: ImageIndex };

/** Thrown when a manifest is malformed or of a type this client does not pull. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ManifestError";
  }
}

/**
 * Parses manifest bytes. The media type comes from the document's `mediaType`, else from the
 * response's `Content-Type`; schema 1 and unknown types are refused.
 */
export function parseManifest(bytes: Uint8Array, contentType?: string): Manifest {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new ManifestError("The manifest is not JSON");
  }
  if (!doc || typeof doc !== "object") throw new ManifestError("The manifest is not a JSON object");
  const declared = typeof doc.mediaType === "string" ? doc.mediaType : contentType?.split(";")[0].trim();
  if (doc.schemaVersion !== 2) {
    throw new ManifestError(`Manifest schemaVersion ${String(doc.schemaVersion)} is not supported (only 2)`);
  }
  const isIndex = declared === OCI_INDEX || declared === DOCKER_MANIFEST_LIST ||
    (!declared && Array.isArray(doc.manifests));
  if (isIndex) {
    if (!Array.isArray(doc.manifests)) throw new ManifestError("The index has no manifests list");
    doc.manifests.forEach((d, i) => checkDescriptor(d, `manifests[${i}]`));
    return { kind: "index", index: { ...doc, mediaType: declared ?? OCI_INDEX } as unknown as ImageIndex };
  }
  const isImage = declared === OCI_MANIFEST || declared === DOCKER_MANIFEST || (!declared && "config" in doc);
  if (!isImage) throw new ManifestError(`Manifest media type "${declared}" is not supported`);
  checkDescriptor(doc.config, "config");
  if (!Array.isArray(doc.layers)) throw new ManifestError("The manifest has no layers list");
  doc.layers.forEach((d, i) => checkDescriptor(d, `layers[${i}]`));
  return {
    kind: "image",
    manifest: { ...doc, mediaType: declared ?? OCI_MANIFEST } as unknown as ImageManifest,
  };
}

function checkDescriptor(d: unknown, where: string): void {
  const x = d as Partial<Descriptor> | null;
  if (
    !x || typeof x !== "object" || typeof x.mediaType !== "string" || typeof x.digest !== "string" ||
    typeof x.size !== "number" || !Number.isSafeInteger(x.size) || x.size < 0
  ) {
    throw new ManifestError(`The manifest's ${where} is not a valid descriptor`);
  }
}

/** Platforms an index entry may match, most preferred first. */
export const DEFAULT_PLATFORMS: readonly Platform[] = [
  { os: "linux", architecture: "amd64" },
  { os: "wasip2", architecture: "wasm" },
  { os: "wasip1", architecture: "wasm" },
  { os: "wasi", architecture: "wasm" },
];

/**
 * Chooses the entry of an index for the first platform of `wanted` that it has (a variant is
 * compared only when the wanted platform names one). Entries without a platform (artifacts) match
 * when nothing else does. Returns undefined when none fits.
 */
export function selectManifest(
  index: ImageIndex,
  wanted: readonly Platform[] = DEFAULT_PLATFORMS,
): Descriptor | undefined {
  const images = index.manifests;
  for (const want of wanted) {
    const hit = images.find((m) =>
      m.platform && m.platform.os === want.os && m.platform.architecture === want.architecture &&
      (!want.variant || m.platform.variant === want.variant)
    );
    if (hit) return hit;
  }
  return images.find((m) => !m.platform);
}

/** Renders a platform as `os/arch[/variant]`. */
export function platformString(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}
