import assert from "node:assert/strict";
import {
  DOCKER_MANIFEST_LIST,
  type ImageIndex,
  ManifestError,
  OCI_INDEX,
  OCI_MANIFEST,
  parseManifest,
  selectManifest,
} from "./manifest.ts";

const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
const d = (n: string, extra = {}) => ({
  mediaType: "application/x",
  digest: `sha256:${n.repeat(64)}`,
  size: 1,
  ...extra,
});

Deno.test("parseManifest() tells an image manifest from an index, by mediaType or Content-Type", () => {
  const m = parseManifest(
    enc({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: d("a"), layers: [d("b")] }),
  );
  assert.equal(m.kind, "image");
  const i = parseManifest(
    enc({ schemaVersion: 2, manifests: [d("c")] }),
    `${DOCKER_MANIFEST_LIST}; charset=utf-8`,
  );
  assert.equal(i.kind, "index");
  if (i.kind === "index") assert.equal(i.index.mediaType, DOCKER_MANIFEST_LIST);
});

Deno.test("parseManifest() refuses schema 1, unknown types and broken descriptors", () => {
  assert.throws(() => parseManifest(enc({ schemaVersion: 1, fsLayers: [] })), ManifestError);
  assert.throws(() => parseManifest(enc({ schemaVersion: 2, mediaType: "text/plain" })), /not supported/);
  assert.throws(
    () =>
      parseManifest(enc({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { digest: "x" }, layers: [] })),
    /config/,
  );
  assert.throws(() => parseManifest(new TextEncoder().encode("nope")), /not JSON/);
});

Deno.test("selectManifest() takes the first wanted platform present, then a platform-less entry", () => {
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      d("1", { platform: { os: "linux", architecture: "arm64" } }),
      d("2", { platform: { os: "wasip2", architecture: "wasm" } }),
      d("3", { platform: { os: "linux", architecture: "amd64" } }),
    ],
  };
  assert.equal(selectManifest(index)?.digest, d("3").digest);
  assert.equal(selectManifest(index, [{ os: "wasip2", architecture: "wasm" }])?.digest, d("2").digest);
  assert.equal(selectManifest(index, [{ os: "windows", architecture: "amd64" }]), undefined);
  assert.equal(
    selectManifest({ ...index, manifests: [d("4")] }, [{ os: "x", architecture: "y" }])?.digest,
    d("4").digest,
  );
});
