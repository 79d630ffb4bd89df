import assert from "node:assert/strict";
import { HostCallError } from "../../../plugins/host/runner_client.ts";
import { WASM_CONFIG_V0, WASM_LAYER } from "../../../wasm/artifact.ts";
import { testWith } from "../../../tests/harness.ts";
import { DOCKER_REGISTRY, startRegistry } from "../../../tests/registry.ts";
import { ImageStore } from "../../images/image_store.ts";
import { InvalidReferenceError, pushArtifact, RegistryClient, RegistryError } from "../../registry/mod.ts";
import { authCredentials, NodeImageService, pullError } from "./node_image_service.ts";

const tagOf = (e: unknown) => (e as HostCallError).variant?.tag;
const NO_AUTH = { username: "", password: "", auth: "", identityToken: "", registryToken: "" };

Deno.test("pullError() maps registry failures to the runtime's error variants, keeping the message", () => {
  const cases: [unknown, string][] = [
    [new RegistryError("r:1: manifest unknown", 404, "MANIFEST_UNKNOWN"), "not-found"],
    [new RegistryError("name unknown", 404, "NAME_UNKNOWN"), "not-found"],
    [new RegistryError("authentication required", 401, "UNAUTHORIZED"), "denied"],
    [new RegistryError("requested access to the resource is denied", 403, "DENIED"), "denied"],
    [new RegistryError("connection refused", 0), "internal"],
    [new InvalidReferenceError("A B", "bad"), "invalid-argument"],
    [new Error("layer escapes the root"), "internal"],
  ];
  for (const [e, tag] of cases) {
    const mapped = pullError(e);
    assert.equal(mapped.variant?.tag, tag, String(e));
    assert.equal(mapped.variant?.val, (e as Error).message);
  }
});

Deno.test("authCredentials() reads user and password, `auth`, identity tokens; refuses registry tokens", () => {
  assert.equal(authCredentials(null), undefined);
  assert.equal(authCredentials(NO_AUTH), undefined);
  assert.deepEqual(authCredentials({ ...NO_AUTH, username: "a", password: "b" }), {
    username: "a",
    password: "b",
  });
  assert.deepEqual(authCredentials({ ...NO_AUTH, auth: btoa("a:b:c") }), { username: "a", password: "b:c" });
  assert.deepEqual(authCredentials({ ...NO_AUTH, identityToken: "t" }), { identityToken: "t" });
  assert.throws(() => authCredentials({ ...NO_AUTH, auth: "%%%" }), (e) => tagOf(e) === "invalid-argument");
  assert.throws(
    () => authCredentials({ ...NO_AUTH, auth: btoa("nocolon") }),
    (e) => tagOf(e) === "invalid-argument",
  );
  assert.throws(
    () => authCredentials({ ...NO_AUTH, registryToken: "x" }),
    (e) => tagOf(e) === "unimplemented",
  );
});

testWith(
  [DOCKER_REGISTRY],
  "node-images pull-image refuses malformed references and Wasm components; status and remove of absent images",
  async () => {
    await using registry = await startRegistry();
    const dir = await Deno.makeTempDir({ prefix: "skiff-node-image-service-" });
    try {
      const client = new RegistryClient({ blobDir: `${dir}/blobs` });
      const images = new NodeImageService(await ImageStore.open({ dir: `${dir}/images`, registry: client }));
      const fns = images.hostFunctions();
      for (const bad of ["", "Not A Reference", "x@sha256:short", 7]) {
        await assert.rejects(
          Promise.resolve().then(() => fns["pull-image"]([bad, null], undefined)),
          (e) => tagOf(e) === "invalid-argument",
        );
        await assert.rejects(
          Promise.resolve().then(() => fns["image-status"]([bad], undefined)),
          (e) => tagOf(e) === "invalid-argument",
        );
      }
      const wasm = `${registry.host}/wasm/app:1`;
      await pushArtifact(client, wasm, {
        config: { mediaType: WASM_CONFIG_V0, bytes: new TextEncoder().encode("{}") },
        layers: [{ mediaType: WASM_LAYER, bytes: new Uint8Array([0, 97, 115, 109, 13, 0, 1, 0]) }],
      });
      await assert.rejects(images.pullImage(wasm, null), (e) => {
        assert.equal(tagOf(e), "invalid-argument");
        assert.match(
          String((e as HostCallError).variant?.val),
          /is a WebAssembly component, not a container image/,
        );
        return true;
      });
      assert.equal(await fns["image-status"]([wasm], undefined), null);
      assert.equal(await fns["image-status"]([`sha256:${"0".repeat(64)}`], undefined), null);
      await fns["remove-image"]([wasm], undefined);
      assert.deepEqual(await fns["list-images"]([], undefined), []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
