import assert from "node:assert/strict";
import { structuralInitError, validateDefaults, validateStructural } from "./structural.ts";
import type { JSONSchemaProps } from "./types.ts";

function messages(s: JSONSchemaProps): string[] {
  return validateStructural(s, "s").map((c) => `${c.field}: ${c.message}`);
}

Deno.test("validateStructural() accepts the int-or-string anyOf pattern and preserve-unknown-fields without type", () => {
  assert.deepEqual(
    messages({
      type: "object",
      properties: {
        port: { "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" }, { type: "string" }] },
        free: { "x-kubernetes-preserve-unknown-fields": true },
      },
    }),
    [],
  );
});

Deno.test("validateStructural() requires types, items and an object root, sorted by message", () => {
  assert.deepEqual(messages({ type: "array" }), [
    "s.items: Required value: must be specified",
    's.type: Invalid value: "array": must be object at the root',
  ]);
  assert.deepEqual(messages({ type: "object", properties: { l: { type: "array", items: {} } } }), [
    "s.properties[l].items.type: Required value: must not be empty for specified array items",
  ]);
});

Deno.test("validateStructural() requires value validations to name only specified fields", () => {
  assert.deepEqual(
    messages({
      type: "object",
      properties: { a: { type: "string" } },
      anyOf: [{ required: ["a"] }, { properties: { b: { minLength: 1 } } }],
    }),
    ["s.properties[b]: Required value: because it is defined in s.anyOf[1].properties[b]"],
  );
});

Deno.test("validateStructural() checks embedded resources", () => {
  assert.deepEqual(
    messages({
      type: "object",
      properties: {
        t: {
          type: "object",
          "x-kubernetes-embedded-resource": true,
          properties: { kind: { type: "integer" } },
        },
      },
    }),
    ['s.properties[t].properties[kind].type: Invalid value: "integer": must be string'],
  );
});

Deno.test("structuralInitError() names the first unsupported keyword", () => {
  assert.equal(
    structuralInitError({ type: "object", properties: { a: { $ref: "#/x" } } }),
    "OpenAPIV3Schema '$ref' is not supported",
  );
  assert.equal(structuralInitError({ type: "object" }), undefined);
});

Deno.test("validateDefaults() validates defaults inside embedded metadata only against their schema", () => {
  const s: JSONSchemaProps = {
    type: "object",
    properties: {
      t: {
        type: "object",
        "x-kubernetes-embedded-resource": true,
        properties: { metadata: { type: "object", default: { name: "x", extra: 1 } } },
      },
      n: { type: "integer", default: 5, maximum: 3 },
    },
  };
  assert.deepEqual(validateDefaults(s, "s").map((c) => `${c.field}: ${c.message}`), [
    "s.properties[n].default: Invalid value: 5:  in body should be less than or equal to 3",
  ]);
});
