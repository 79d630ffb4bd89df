import assert from "node:assert/strict";
import { pruneUnknown } from "./prune.ts";
import type { JSONSchemaProps } from "./types.ts";

const schema: JSONSchemaProps = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      properties: {
        size: { type: "integer" },
        items: { type: "array", items: { type: "object", properties: { name: { type: "string" } } } },
        labels: { type: "object", additionalProperties: { type: "string" } },
        free: {
          type: "object",
          "x-kubernetes-preserve-unknown-fields": true,
          properties: { known: { type: "object", properties: { a: { type: "string" } } } },
        },
        template: {
          type: "object",
          "x-kubernetes-embedded-resource": true,
          properties: { spec: { type: "object", properties: { x: { type: "string" } } } },
        },
        optional: { type: "string" },
        maybe: { type: "string", nullable: true },
      },
    },
  },
};

Deno.test("pruneUnknown() removes unknown fields in place and returns upstream's sorted paths", () => {
  const obj = {
    apiVersion: "example.com/v1",
    kind: "Widget",
    metadata: { name: "w", labels: { a: "b" } },
    spec: { size: 1, typo: true, items: [{ name: "a", extra: 1 }, { name: "b" }], labels: { any: "thing" } },
    status: { ready: true },
  };
  assert.deepEqual(pruneUnknown(obj, schema), ["spec.items[0].extra", "spec.typo", "status"]);
  assert.deepEqual(obj, {
    apiVersion: "example.com/v1",
    kind: "Widget",
    metadata: { name: "w", labels: { a: "b" } },
    spec: { size: 1, items: [{ name: "a" }, { name: "b" }], labels: { any: "thing" } },
  });
});

Deno.test("pruneUnknown() keeps unknown fields under x-kubernetes-preserve-unknown-fields but prunes known subtrees", () => {
  const obj = { spec: { free: { anything: { deep: 1 }, known: { a: "x", b: "y" } } } };
  assert.deepEqual(pruneUnknown(obj, schema), ["spec.free.known.b"]);
  assert.deepEqual(obj.spec.free, { anything: { deep: 1 }, known: { a: "x" } });
});

Deno.test("pruneUnknown() keeps apiVersion, kind and metadata of embedded resources", () => {
  const obj = {
    spec: {
      template: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p", whatever: 1 },
        spec: { x: "1", y: "2" },
        bogus: 1,
      },
    },
  };
  assert.deepEqual(pruneUnknown(obj, schema), ["spec.template.bogus", "spec.template.spec.y"]);
  assert.deepEqual(obj.spec.template, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", whatever: 1 },
    spec: { x: "1" },
  });
});

Deno.test("pruneUnknown() reports apiVersion, kind and metadata below the root as unknown", () => {
  const obj = { spec: { metadata: {}, kind: "X" } };
  assert.deepEqual(pruneUnknown(obj, schema), ["spec.kind", "spec.metadata"]);
});

Deno.test("pruneUnknown() drops nulls of non-nullable fields without defaults and keeps nullable ones", () => {
  const obj = { spec: { optional: null, maybe: null, size: 1 } };
  assert.deepEqual(pruneUnknown(obj, schema), []);
  assert.deepEqual(obj.spec, { maybe: null, size: 1 });
});

Deno.test("pruneUnknown() keeps everything under a root x-kubernetes-preserve-unknown-fields", () => {
  const obj = { spec: { a: 1 }, other: true };
  assert.deepEqual(pruneUnknown(obj, { type: "object", "x-kubernetes-preserve-unknown-fields": true }), []);
  assert.deepEqual(obj, { spec: { a: 1 }, other: true });
});

Deno.test("pruneUnknown() without resourceRoot drops top-level meta fields silently, as upstream", () => {
  const value = { kind: "x", a: 1 };
  assert.deepEqual(
    pruneUnknown(value, { type: "object", properties: { a: { type: "integer" } } }, { resourceRoot: false }),
    [],
  );
  assert.deepEqual(value, { a: 1 });
});
