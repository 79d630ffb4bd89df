import assert from "node:assert/strict";
import {
  classifyArtifact,
  isWasmArtifact,
  WASM_COMPONENT_LAYER_V0,
  WASM_CONFIG_V0,
  WASM_CONFIG_V1,
  WASM_CONTENT_LAYER_V1,
  WASM_LAYER,
} from "./artifact.ts";

const d = (mediaType: string, n = "a") => ({ mediaType, digest: `sha256:${n.repeat(64)}`, size: 1 });

Deno.test("classifyArtifact() finds the component layer of the CNCF Wasm artifact", () => {
  const m = { config: d(WASM_CONFIG_V0, "c"), layers: [d(WASM_LAYER, "l")] };
  assert.deepEqual(classifyArtifact(m), { kind: "wasm", layer: d(WASM_LAYER, "l") });
});

Deno.test("classifyArtifact() accepts the wasm-to-oci, oras and Bytecode Alliance layouts", () => {
  assert.equal(
    classifyArtifact({ config: d(WASM_CONFIG_V1), layers: [d(WASM_CONTENT_LAYER_V1)] }).kind,
    "wasm",
  );
  assert.equal(
    classifyArtifact({ config: d("application/vnd.oci.empty.v1+json"), layers: [d(WASM_COMPONENT_LAYER_V0)] })
      .kind,
    "wasm",
  );
  assert.equal(
    classifyArtifact({
      artifactType: WASM_CONFIG_V0,
      config: d("application/vnd.oci.empty.v1+json"),
      layers: [d(WASM_LAYER)],
    }).kind,
    "wasm",
  );
});

Deno.test("classifyArtifact() tells container images apart and refuses broken Wasm artifacts", () => {
  const image = {
    config: d("application/vnd.oci.image.config.v1+json"),
    layers: [d("application/vnd.oci.image.layer.v1.tar+gzip")],
  };
  assert.deepEqual(classifyArtifact(image), { kind: "container" });
  assert.equal(isWasmArtifact(image), false);
  const none = classifyArtifact({ config: d(WASM_CONFIG_V0), layers: [d("text/plain")] });
  assert.equal(none.kind, "wasm-invalid");
  assert.match((none as { reason: string }).reason, /no Wasm layer \(layers: text\/plain\)/);
  const two = classifyArtifact({
    config: d(WASM_CONFIG_V0),
    layers: [d(WASM_LAYER, "1"), d(WASM_LAYER, "2")],
  });
  assert.match((two as { reason: string }).reason, /2 Wasm layers/);
  assert.equal(isWasmArtifact({ config: d(WASM_CONFIG_V0), layers: [] }), true);
});
