import assert from "node:assert/strict";
import { validateSchema } from "./schema_validate.ts";
import type { JSONSchemaProps } from "./types.ts";

const schema: JSONSchemaProps = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      required: ["image"],
      properties: {
        replicas: { type: "integer", format: "int32", minimum: 0, maximum: 10 },
        image: { type: "string", minLength: 3, maxLength: 20, pattern: "^[a-z]+(:[a-z0-9.]+)?$" },
        mode: { type: "string", enum: ["Fast", "Slow"] },
        port: { "x-kubernetes-int-or-string": true },
        ratio: { type: "number", exclusiveMaximum: true, maximum: 1 },
        tags: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 2 },
        when: { type: "string", format: "date-time" },
        data: { type: "string", format: "byte" },
        labels: { type: "object", additionalProperties: { type: "string" } },
        note: { type: "string", nullable: true },
        enabled: { type: "boolean" },
      },
    },
  },
};

function messages(obj: unknown, s = schema): string[] {
  return validateSchema(obj, s).map((c) => `${c.field}: ${c.message}`);
}

Deno.test("validateSchema() accepts a valid object", () => {
  const obj = {
    spec: {
      image: "nginx:1.27",
      replicas: 3,
      mode: "Fast",
      port: "http",
      ratio: 0.5,
      tags: ["a"],
      when: "2024-05-01T10:00:00Z",
      data: "aGVsbG8=",
      labels: { a: "b" },
      note: null,
      enabled: true,
    },
  };
  assert.deepEqual(validateSchema(obj, schema), []);
});

Deno.test("validateSchema() reports a wrong type as upstream does, with reason FieldValueTypeInvalid", () => {
  const causes = validateSchema({ spec: { image: "nginx", replicas: "2" } }, schema);
  assert.deepEqual(causes, [{
    reason: "FieldValueTypeInvalid",
    field: "spec.replicas",
    message: 'Invalid value: "string": spec.replicas in body must be of type integer: "string"',
  }]);
});

Deno.test("validateSchema() reports a missing required field under its parent path", () => {
  assert.deepEqual(validateSchema({ spec: {} }, schema), [{
    reason: "FieldValueRequired",
    field: "spec.image",
    message: "Required value",
  }]);
});

Deno.test("validateSchema() reports a missing required field at the root as the field itself", () => {
  const s: JSONSchemaProps = { type: "object", required: ["spec"], properties: { spec: { type: "object" } } };
  assert.deepEqual(messages({}, s), ["spec: Required value"]);
});

Deno.test("validateSchema() reports enum, bounds and string constraints with upstream's messages", () => {
  assert.deepEqual(messages({ spec: { image: "nginx", mode: "Medium" } }), [
    'spec.mode: Unsupported value: "Medium": supported values: "Fast", "Slow"',
  ]);
  assert.deepEqual(messages({ spec: { image: "nginx", replicas: 11 } }), [
    "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10",
  ]);
  assert.deepEqual(messages({ spec: { image: "nginx", replicas: -1 } }), [
    "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0",
  ]);
  assert.deepEqual(messages({ spec: { image: "nginx", ratio: 1 } }), [
    "spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1",
  ]);
  assert.deepEqual(messages({ spec: { image: "ng" } }), [
    'spec.image: Invalid value: "ng": spec.image in body should be at least 3 chars long',
  ]);
  assert.deepEqual(messages({ spec: { image: "a".repeat(21) } }), [
    "spec.image: Too long: may not be more than 20 bytes",
  ]);
  assert.deepEqual(messages({ spec: { image: "Nginx" } }), [
    `spec.image: Invalid value: "Nginx": spec.image in body should match '^[a-z]+(:[a-z0-9.]+)?$'`,
  ]);
});

Deno.test("validateSchema() checks array sizes and validates each item under its index", () => {
  assert.deepEqual(messages({ spec: { image: "nginx", tags: [] } }), [
    "spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items",
  ]);
  assert.deepEqual(messages({ spec: { image: "nginx", tags: ["a", "b", "c"] } }), [
    "spec.tags: Too many: 3: must have at most 2 items",
  ]);
  assert.deepEqual(messages({ spec: { image: "nginx", tags: [1] } }), [
    'spec.tags[0]: Invalid value: "integer": spec.tags[0] in body must be of type string: "integer"',
  ]);
});

Deno.test("validateSchema() accepts integers and strings for x-kubernetes-int-or-string, nothing else", () => {
  assert.deepEqual(messages({ spec: { image: "nginx", port: 8080 } }), []);
  assert.deepEqual(messages({ spec: { image: "nginx", port: true } }), [
    'spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
  ]);
});

Deno.test("validateSchema() checks date-time and byte formats", () => {
  assert.deepEqual(messages({ spec: { image: "nginx", when: "yesterday" } }), [
    'spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"',
  ]);
  assert.deepEqual(messages({ spec: { image: "nginx", data: "not base64!" } }), [
    'spec.data: Invalid value: "not base64!": spec.data in body must be of type byte: "not base64!"',
  ]);
});

Deno.test("validateSchema() reports int32 overflow as upstream's path-less error", () => {
  assert.deepEqual(
    messages({ spec: { image: "nginx", replicas: 2 ** 31 } }, {
      type: "object",
      properties: {
        spec: { type: "object", properties: { replicas: { type: "integer", format: "int32" } } },
      },
    }),
    ['<nil>: Invalid value: "": Checked value must be of type integer with format int32 in spec.replicas'],
  );
});

Deno.test("validateSchema() rejects null unless the field is nullable", () => {
  assert.deepEqual(messages({ spec: { image: "nginx", note: null, enabled: null } }), [
    'spec.enabled: Invalid value: "null": spec.enabled in body must be of type boolean: "null"',
  ]);
});

Deno.test("validateSchema() validates additionalProperties values under their key", () => {
  assert.deepEqual(messages({ spec: { image: "nginx", labels: { app: 1 } } }), [
    'spec.labels.app: Invalid value: "integer": spec.labels.app in body must be of type string: "integer"',
  ]);
  const closed: JSONSchemaProps = {
    type: "object",
    properties: { spec: { type: "object", additionalProperties: false } },
  };
  assert.deepEqual(messages({ spec: { extra: 1 } }, closed), [
    'spec: Invalid value: "extra": spec.extra in body is a forbidden property',
  ]);
});

Deno.test("validateSchema() treats whole numbers as integers and fractions as numbers", () => {
  const s: JSONSchemaProps = {
    type: "object",
    properties: { n: { type: "integer" }, f: { type: "number" } },
  };
  assert.deepEqual(messages({ n: 2.0, f: 3 }, s), []);
  assert.deepEqual(messages({ n: 2.5 }, s), [
    'n: Invalid value: "number": n in body must be of type integer: "number"',
    '<nil>: Invalid value: "": Checked value must be of type integer (default format) in n',
  ]);
});

Deno.test("validateSchema() reports anyOf, oneOf, allOf and not failures like kube-openapi", () => {
  const s: JSONSchemaProps = {
    type: "object",
    properties: {
      a: { type: "string", anyOf: [{ pattern: "^x" }, { pattern: "^y" }] },
      o: { type: "integer", oneOf: [{ minimum: 0 }, { maximum: 10 }] },
      l: { type: "integer", allOf: [{ minimum: 5 }] },
      n: { type: "string", not: { enum: ["no"] } },
    },
  };
  assert.deepEqual(messages({ a: "xa", o: 20, l: 6, n: "ok" }, s), []);
  assert.deepEqual(messages({ a: "z" }, s), [
    '<nil>: Invalid value: "": "a" must validate at least one schema (anyOf)',
    `a: Invalid value: "z": a in body should match '^x'`,
  ]);
  assert.deepEqual(messages({ o: 5 }, s), [
    '<nil>: Invalid value: "": "o" must validate one and only one schema (oneOf). Found 2 valid alternatives',
  ]);
  assert.deepEqual(messages({ l: 1 }, s), [
    "l: Invalid value: 1: l in body should be greater than or equal to 5",
    '<nil>: Invalid value: "": "l" must validate all the schemas (allOf). None validated',
  ]);
  assert.deepEqual(messages({ n: "no" }, s), [
    '<nil>: Invalid value: "": "n" must not validate the schema (not)',
  ]);
});

Deno.test("validateSchema() prefixes fields with the given path when validating a status alone", () => {
  const s: JSONSchemaProps = { type: "object", properties: { replicas: { type: "integer" } } };
  assert.deepEqual(validateSchema({ replicas: "x" }, s, "status"), [{
    reason: "FieldValueTypeInvalid",
    field: "status.replicas",
    message: 'Invalid value: "string": replicas in body must be of type integer: "string"',
  }]);
});

Deno.test("validateSchema() renders non-string enum values as JSON, all quoted", () => {
  const s: JSONSchemaProps = { type: "object", properties: { n: { type: "integer", enum: [1, 2] } } };
  assert.deepEqual(messages({ n: 3 }, s), ['n: Unsupported value: 3: supported values: "1", "2"']);
});
