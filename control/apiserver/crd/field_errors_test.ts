import assert from "node:assert/strict";
import { goJson, goValue, notSupported, required, tooLong, tooMany, typeInvalid } from "./field_errors.ts";

Deno.test("goValue() renders values as apimachinery's field errors do", () => {
  assert.equal(goValue("a"), '"a"');
  assert.equal(goValue(3), "3");
  assert.equal(goValue(true), "true");
  assert.equal(goValue(null), "null");
  assert.equal(goValue({ b: 1, a: "<x>" }), '{"a":"\\u003cx\\u003e","b":1}');
});

Deno.test("field error constructors build upstream's reasons and message bodies", () => {
  assert.deepEqual(required("spec.a"), {
    reason: "FieldValueRequired",
    field: "spec.a",
    message: "Required value",
  });
  assert.deepEqual(typeInvalid("x", "string", "why"), {
    reason: "FieldValueTypeInvalid",
    field: "x",
    message: 'Invalid value: "string": why',
  });
  assert.equal(
    notSupported("x", "c", ["a", "b"]).message,
    'Unsupported value: "c": supported values: "a", "b"',
  );
  assert.equal(tooLong("x", 1).message, "Too long: may not be more than 1 byte");
  assert.equal(tooMany("x", 3, 2).message, "Too many: 3: must have at most 2 items");
  assert.equal(goJson([{ z: 1, a: 2 }]), '[{"a":2,"z":1}]');
});
