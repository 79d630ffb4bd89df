import assert from "node:assert/strict";
import { findJsonPath, parseJsonPath } from "./jsonpath.ts";

const obj = {
  metadata: { name: "a", annotations: { "example.com/owner": "me" } },
  spec: { ports: [{ port: 80, name: "http" }, { port: 443 }], replicas: 0, nothing: null },
};

Deno.test("findJsonPath() follows fields, indices and wildcards", () => {
  assert.deepEqual(findJsonPath(obj, ".spec.replicas"), [0]);
  assert.deepEqual(findJsonPath(obj, ".spec.ports[1].port"), [443]);
  assert.deepEqual(findJsonPath(obj, ".spec.ports[-1].port"), [443]);
  assert.deepEqual(findJsonPath(obj, ".spec.ports[*].port"), [80, 443]);
  assert.deepEqual(findJsonPath(obj, ".spec.ports[*].name"), ["http"]);
  assert.deepEqual(findJsonPath(obj, "{.metadata.annotations['example.com/owner']}"), ["me"]);
  assert.deepEqual(findJsonPath(obj, ".spec.nothing"), [null]);
});

Deno.test("findJsonPath() selects nothing for missing keys and out-of-range indices", () => {
  assert.deepEqual(findJsonPath(obj, ".spec.missing.deeper"), []);
  assert.deepEqual(findJsonPath(obj, ".spec.ports[5]"), []);
  assert.deepEqual(findJsonPath(obj, ".spec.replicas.x"), []);
});

Deno.test("parseJsonPath() rejects what CRD columns do not support", () => {
  assert.equal(parseJsonPath("..name"), undefined);
  assert.equal(parseJsonPath(".spec.ports[?(@.port==80)]"), undefined);
  assert.equal(parseJsonPath("spec"), undefined);
  assert.deepEqual(parseJsonPath("."), []);
  assert.deepEqual(parseJsonPath(".a[0].b"), [{ field: "a" }, { index: 0 }, { field: "b" }]);
});
