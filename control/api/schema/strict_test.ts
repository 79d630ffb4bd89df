import assert from "node:assert/strict";
import {
  isStrictDecodingError,
  strictDecodingError,
  strictDecodingMessage,
  strictPatchError,
  unknownFieldMessage,
  unknownFieldWarnings,
} from "./strict.ts";

Deno.test("strictDecodingError() is upstream's 400 for a create with unknown fields", () => {
  const e = strictDecodingError("Ingress", "v1", [
    "spec.rules[0].http.paths[0].backend.serviceName",
    ".spec.rules[0].http.paths[0].backend.servicePort",
  ]);
  assert.equal(e.code, 400);
  assert.equal(e.reason, "BadRequest");
  assert.equal(
    e.status.message,
    'Ingress in version "v1" cannot be handled as a Ingress: strict decoding error: ' +
      'unknown field "spec.rules[0].http.paths[0].backend.serviceName", ' +
      'unknown field "spec.rules[0].http.paths[0].backend.servicePort"',
  );
  assert.ok(isStrictDecodingError(e));
});

Deno.test("strictPatchError() is upstream's 422 for a patch that adds unknown fields", () => {
  const e = strictPatchError({ spec: { foo: 1 } }, ["spec.foo"]);
  assert.equal(e.code, 422);
  assert.equal(e.reason, "Invalid");
  assert.equal(
    e.status.message,
    ' "" is invalid: patch: Invalid value: "{\\"spec\\":{\\"foo\\":1}}": strict decoding error: unknown field "spec.foo"',
  );
  assert.equal(e.status.details?.causes?.[0].field, "patch");
  assert.ok(isStrictDecodingError(e));
});

Deno.test("unknownFieldMessage() and the Warn-mode warnings drop a leading dot", () => {
  assert.equal(unknownFieldMessage(".spec.foo"), 'unknown field "spec.foo"');
  assert.deepEqual(unknownFieldWarnings(["a", "b.c"]), ['unknown field "a"', 'unknown field "b.c"']);
  assert.equal(strictDecodingMessage(["x"]), 'strict decoding error: unknown field "x"');
});
