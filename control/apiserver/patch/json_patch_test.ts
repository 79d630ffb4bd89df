import assert from "node:assert/strict";
import { ApiError } from "../../api/status.ts";
import { applyJsonPatch, MAX_JSON_PATCH_OPERATIONS } from "./json_patch.ts";

const doc = () => ({
  metadata: { name: "web", labels: { app: "web" } },
  spec: { replicas: 1, list: ["a", "b", "c"] },
});

/** The 422 cause message of a JSON patch that does not apply. */
function rejection(patch: unknown): string {
  try {
    applyJsonPatch(doc(), patch);
  } catch (e) {
    assert.ok(e instanceof ApiError);
    assert.equal(e.code, 422);
    assert.equal(e.reason, "Invalid");
    assert.equal(e.status.message, "the server rejected our request due to an error in our request");
    assert.equal(e.status.details?.causes?.[0].reason, "UnexpectedServerResponse");
    return e.status.details!.causes![0].message!;
  }
  assert.fail("patch applied");
}

Deno.test("applyJsonPatch() applies add, remove, replace, move, copy and test in order", () => {
  const out = applyJsonPatch(doc(), [
    { op: "test", path: "/spec/replicas", value: 1 },
    { op: "replace", path: "/spec/replicas", value: 3 },
    { op: "add", path: "/metadata/labels/tier", value: "front" },
    { op: "add", path: "/spec/list/1", value: "x" },
    { op: "add", path: "/spec/list/-", value: "z" },
    { op: "remove", path: "/spec/list/0" },
    { op: "copy", from: "/metadata/labels", path: "/spec/selector" },
    { op: "move", from: "/metadata/labels/app", path: "/metadata/labels/name" },
    { op: "add", path: "/metadata/annotations", value: { "a~b/c": "1" } },
    { op: "remove", path: "/metadata/annotations/a~0b~1c" },
  ]);
  assert.deepEqual(out, {
    metadata: { name: "web", labels: { tier: "front", name: "web" }, annotations: {} },
    spec: { replicas: 3, list: ["x", "b", "c", "z"], selector: { app: "web", tier: "front" } },
  });
});

Deno.test("applyJsonPatch() leaves its input alone", () => {
  const input = doc();
  applyJsonPatch(input, [{ op: "remove", path: "/spec" }]);
  assert.deepEqual(input, doc());
});

Deno.test("applyJsonPatch() follows evanphx/json-patch v4: replace adds a missing key, negative indexes count from the end", () => {
  const out = applyJsonPatch(doc(), [
    { op: "replace", path: "/metadata/labels/new", value: "v" },
    { op: "replace", path: "/spec/list/-1", value: "last" },
    { op: "add", path: "/spec/list/-4", value: "first" },
    { op: "add", path: "/spec/nothing" },
    { op: "test", path: "/spec/missing", value: null },
  ]) as ReturnType<typeof doc> & { spec: { nothing: unknown } };
  assert.equal(out.metadata.labels["new" as "app"], "v");
  assert.deepEqual(out.spec.list, ["first", "a", "b", "last"]);
  assert.equal(out.spec.nothing, null);
});

Deno.test("applyJsonPatch() fails a test operation with upstream's 422", () => {
  assert.equal(
    rejection([{ op: "test", path: "/spec/replicas", value: 5 }, {
      op: "replace",
      path: "/spec/replicas",
      value: 6,
    }]),
    "testing value /spec/replicas failed: test failed",
  );
  assert.equal(
    rejection([{ op: "test", path: "/spec/missing", value: 1 }]),
    "testing value /spec/missing failed: test failed",
  );
});

Deno.test("applyJsonPatch() reports missing paths with the library's messages", () => {
  assert.equal(
    rejection([{ op: "remove", path: "/spec/nope/x" }]),
    'remove operation does not apply: doc is missing path: "/spec/nope/x": missing value',
  );
  assert.equal(
    rejection([{ op: "remove", path: "/spec/nope" }]),
    "error in remove for path: '/spec/nope': Unable to remove nonexistent key: nope: missing value",
  );
  assert.equal(
    rejection([{ op: "add", path: "/status/x", value: 1 }]),
    'add operation does not apply: doc is missing path: "/status/x": missing value',
  );
  assert.equal(
    rejection([{ op: "replace", path: "/spec/list/7", value: 1 }]),
    "replace operation does not apply: doc is missing key: /spec/list/7: missing value",
  );
  assert.equal(
    rejection([{ op: "add", path: "/spec/list/9", value: 1 }]),
    "error in add for path: '/spec/list/9': Unable to access invalid index: 9: invalid index referenced",
  );
  assert.equal(
    rejection([{ op: "add", path: "/spec/list/x", value: 1 }]),
    "error in add for path: '/spec/list/x': value was not a proper array index: 'x': " +
      'strconv.Atoi: parsing "x": invalid syntax',
  );
  assert.equal(
    rejection([{ op: "move", from: "/spec/nope", path: "/spec/x" }]),
    "error in move for path: 'nope': Unable to remove nonexistent key: nope: missing value",
  );
  assert.equal(
    rejection([{ op: "test", path: "/a/b", value: 1 }]),
    "test operation does not apply: is missing path: /a/b: missing value",
  );
});

Deno.test("applyJsonPatch() rejects unknown operations and missing paths in operations", () => {
  assert.equal(rejection([{ op: "frobnicate", path: "/spec" }]), "Unexpected kind: frobnicate");
  assert.equal(rejection([{ path: "/spec" }]), "Unexpected kind: unknown");
  assert.equal(rejection([null]), "Unexpected kind: unknown");
  assert.equal(rejection([{ op: "add", value: 1 }]), "add operation failed to decode path: missing value");
  assert.equal(
    rejection([{ op: "replace", path: 3, value: 1 }]),
    "replace operation failed to decode path: json: cannot unmarshal number into Go value of type string",
  );
  assert.equal(
    rejection([{ op: "move", path: "/x" }]),
    "move operation failed to decode from: operation, missing from field: missing value",
  );
});

Deno.test("applyJsonPatch() replaces the whole document only with an object or a list", () => {
  assert.deepEqual(applyJsonPatch(doc(), [{ op: "replace", path: "", value: { a: 1 } }]), { a: 1 });
  assert.equal(
    rejection([{ op: "replace", path: "", value: 1 }]),
    "replace operation value must be object or array: %!w(<nil>)",
  );
});

Deno.test("applyJsonPatch() rejects a document that is not a list of operations with a 400", () => {
  const message = (patch: unknown) => {
    try {
      applyJsonPatch(doc(), patch);
    } catch (e) {
      assert.ok(e instanceof ApiError);
      assert.equal(e.code, 400);
      return e.status.message;
    }
    assert.fail("patch applied");
  };
  assert.equal(message({ op: "add" }), "json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  assert.equal(message(["add"]), "json: cannot unmarshal string into Go value of type jsonpatch.Operation");
  assert.deepEqual(applyJsonPatch(doc(), null), doc());
});

Deno.test("applyJsonPatch() refuses more than 10000 operations with a 413", () => {
  const ops = Array.from(
    { length: MAX_JSON_PATCH_OPERATIONS + 1 },
    () => ({ op: "test", path: "/spec/replicas", value: 1 }),
  );
  assert.throws(() => applyJsonPatch(doc(), ops), (e: unknown) =>
    e instanceof ApiError && e.code === 413 &&
    e.status.message === "The allowed maximum operations in a JSON patch is 10000, got 10001");
});
