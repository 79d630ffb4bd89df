import assert from "node:assert/strict";
import { testWith } from "../../tests/harness.ts";
import { DOCKER_REGISTRY, OPENSSL, startRegistry } from "../../tests/registry.ts";
import { sha256Digest } from "./blob_store.ts";
import { RegistryClient } from "./client.ts";
import { DOCKER_MANIFEST, OCI_INDEX } from "./manifest.ts";
import { pushArtifact, pushBlob, pushManifest } from "./push.ts";
import { RegistryError } from "./transport.ts";

const enc = new TextEncoder();
const WASM_CONFIG = "application/vnd.wasm.config.v0+json";

function artifact(text: string) {
  return {
    config: {
      mediaType: WASM_CONFIG,
      bytes: enc.encode(JSON.stringify({ created: "2026-01-01T00:00:00Z" })),
    },
    layers: [{ mediaType: "application/wasm", bytes: enc.encode(text) }],
    artifactType: "application/vnd.wasm.config.v0+json",
  };
}

async function tempClient(opts: Partial<ConstructorParameters<typeof RegistryClient>[0]> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "skiff-blobs-" });
  return {
    client: new RegistryClient({ blobDir: dir, ...opts }),
    dir,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

testWith(
  [DOCKER_REGISTRY],
  "RegistryClient pushes an artifact, resolves its tag, and pulls it by tag and by digest",
  async () => {
    await using registry = await startRegistry();
    await using c = await tempClient();
    const ref = `${registry.host}/fixtures/hello:1`;
    const digest = await pushArtifact(c.client, ref, artifact("\0asm fake"));
    assert.equal(await c.client.resolve(ref), digest);

    const byTag = await c.client.pull(ref);
    assert.equal(byTag.digest, digest);
    assert.equal(byTag.layers.length, 1);
    assert.equal(await Deno.readTextFile(byTag.layers[0].path), "\0asm fake");
    assert.equal(byTag.layers[0].path, `${c.dir}/sha256/${sha256Digest(enc.encode("\0asm fake")).slice(7)}`);

    const pinned = await c.client.pull(`${registry.host}/fixtures/hello@${digest}`);
    assert.equal(pinned.digest, digest);
    assert.equal(pinned.reference.tag, undefined);
    assert.deepEqual(pinned.manifest, byTag.manifest);
  },
);

testWith(
  [DOCKER_REGISTRY],
  "RegistryClient shares one download between concurrent pulls of the same image",
  async () => {
    await using registry = await startRegistry();
    await using c = await tempClient();
    const ref = `${registry.host}/fixtures/shared:1`;
    await pushArtifact(c.client, ref, artifact("shared"));
    let requests = 0;
    await using c2 = await tempClient({
      fetch: (input, init) => {
        requests++;
        return fetch(input, init);
      },
    });
    const [a, b] = await Promise.all([c2.client.pull(ref), c2.client.pull(ref)]);
    assert.equal(a, b);
    assert.equal(requests, 3, "one manifest, one config and one layer request");
    await c2.client.pull(ref);
    assert.equal(requests, 4, "a later pull asks for the manifest again but finds the blobs on disk");
  },
);

testWith(
  [DOCKER_REGISTRY],
  "RegistryClient reports a missing tag with the registry's own error code",
  async () => {
    await using registry = await startRegistry();
    await using c = await tempClient();
    await pushArtifact(c.client, `${registry.host}/fixtures/there:1`, artifact("x"));
    const err = await c.client.pull(`${registry.host}/fixtures/there:nope`).catch((e) => e);
    assert.ok(err instanceof RegistryError);
    assert.equal(err.status, 404);
    assert.equal(err.code, "MANIFEST_UNKNOWN");
    assert.match(err.message, /manifest unknown/);
  },
);

testWith(
  [DOCKER_REGISTRY],
  "RegistryClient refuses a blob whose content no longer matches its digest",
  async () => {
    await using registry = await startRegistry();
    await using c = await tempClient();
    const ref = `${registry.host}/fixtures/corrupt:1`;
    await pushArtifact(c.client, ref, artifact("the real content"));
    const layerDigest = sha256Digest(enc.encode("the real content"));
    await Deno.writeTextFile(registry.blobDataPath(layerDigest), "the fake content");
    await using fresh = await tempClient();
    const err = await fresh.client.pull(ref).catch((e) => e);
    assert.ok(err instanceof RegistryError, String(err));
    assert.equal(err.code, "DIGEST_INVALID");
    assert.match(err.message, /failed verification/);
    assert.equal(await fresh.client.blobs.has(layerDigest), false);
    // The pull answers only after its other downloads settled: the config is complete on disk,
    // and nothing is still writing into the store (the temp dir's removal must not race it).
    const configDigest = sha256Digest(artifact("the real content").config.bytes);
    assert.equal(await fresh.client.blobs.has(configDigest), true);
  },
);

testWith(
  [DOCKER_REGISTRY],
  "RegistryClient chooses the wanted platform out of an index and accepts Docker schema 2",
  async () => {
    await using registry = await startRegistry();
    await using c = await tempClient();
    const repo = `${registry.host}/fixtures/multi`;
    const wasmDigest = await pushArtifact(c.client, `${repo}:wasm`, artifact("wasm variant"));
    const dockerDigest = await pushArtifact(c.client, `${repo}:docker`, {
      ...artifact("docker variant"),
      artifactType: undefined,
      mediaType: DOCKER_MANIFEST,
    });
    const index = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: DOCKER_MANIFEST,
          digest: dockerDigest,
          size: 1,
          platform: { os: "linux", architecture: "amd64" },
        },
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: wasmDigest,
          size: 1,
          platform: { os: "wasip2", architecture: "wasm" },
        },
      ],
    };
    for (const [i, tag] of ["docker", "wasm"].entries()) {
      await c.client.fetchManifest(`${repo}:${tag}`); // keeps the manifest bytes in the blob store
      index.manifests[i].size = (await c.client.blobs.read(index.manifests[i].digest)).byteLength;
    }
    const indexDigest = await pushManifest(
      c.client,
      `${repo}:multi`,
      enc.encode(JSON.stringify(index)),
      OCI_INDEX,
    );
    const wasm = await c.client.pull(`${repo}:multi`, {
      platforms: [{ os: "wasip2", architecture: "wasm" }],
    });
    assert.equal(wasm.digest, wasmDigest);
    assert.equal(wasm.indexDigest, indexDigest);
    const linux = await c.client.pull(`${repo}:multi`);
    assert.equal(linux.digest, dockerDigest);
    assert.equal(linux.manifest.mediaType, DOCKER_MANIFEST);
    const none = await c.client.pull(`${repo}:multi`, {
      platforms: [{ os: "windows", architecture: "amd64" }],
    }).catch((e) => e);
    assert.match(String(none), /no manifest in the index matches.*linux\/amd64, wasip2\/wasm/);
  },
);

testWith(
  [DOCKER_REGISTRY, OPENSSL],
  "RegistryClient gets a bearer token with the pull secret's credentials",
  async () => {
    await using registry = await startRegistry({ auth: "token" });
    await using c = await tempClient();
    const ref = `${registry.host}/private/app:1`;
    const credentials = { username: registry.username, password: registry.password };
    const digest = await pushArtifact(c.client, ref, artifact("secret"), { credentials });
    // docker-registry names a challenge's actions in map order: `pull,push` or `push,pull`.
    assert.ok(
      registry.tokenRequests.some((r) =>
        r.authenticated && r.scope.some((s) => {
          const [type, name, actions] = s.split(":");
          return type === "repository" && name === "private/app" &&
            actions.split(",").sort().join(",") === "pull,push";
        })
      ),
      JSON.stringify(registry.tokenRequests),
    );

    await using anonymous = await tempClient();
    const denied = await anonymous.client.pull(ref).catch((e) => e);
    assert.ok(denied instanceof RegistryError);
    assert.equal(denied.status, 401);
    assert.match(denied.message, /UNAUTHORIZED/);

    const wrong = await anonymous.client.pull(ref, { credentials: { username: "skiff", password: "wrong" } })
      .catch((e) => e);
    assert.match(String(wrong), /token request .* 401 UNAUTHORIZED: bad user name or password/);

    await using withSecret = await tempClient();
    const pulled = await withSecret.client.pull(ref, { pullSecrets: [registry.dockerConfig] });
    assert.equal(pulled.digest, digest);
    assert.equal(await Deno.readTextFile(pulled.layers[0].path), "secret");
  },
);

testWith([DOCKER_REGISTRY], "RegistryClient answers a Basic challenge from the pull secret", async () => {
  await using registry = await startRegistry({ auth: "htpasswd" });
  await using c = await tempClient();
  const ref = `${registry.host}/basic/app:1`;
  await pushArtifact(c.client, ref, artifact("basic"), {
    credentials: { username: registry.username, password: registry.password },
  });
  await using anonymous = await tempClient();
  const denied = await anonymous.client.pull(ref).catch((e) => e);
  assert.match(String(denied), /authentication required .* no imagePullSecret matches/);
  const pulled = await anonymous.client.pull(ref, { pullSecrets: [registry.dockerConfig] });
  assert.equal(await Deno.readTextFile(pulled.layers[0].path), "basic");
});

testWith([DOCKER_REGISTRY], "pushBlob() skips blobs the repository already has", async () => {
  await using registry = await startRegistry();
  let posts = 0;
  await using c = await tempClient({
    fetch: (input, init) => {
      if (init?.method === "POST") posts++;
      return fetch(input, init);
    },
  });
  const ref = `${registry.host}/fixtures/blobs`;
  const blob = { mediaType: "application/octet-stream", bytes: enc.encode("once") };
  const first = await pushBlob(c.client, ref, blob);
  const second = await pushBlob(c.client, ref, blob);
  assert.deepEqual(first, second);
  assert.equal(posts, 1);
});
