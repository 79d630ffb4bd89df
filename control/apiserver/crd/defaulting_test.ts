import assert from "node:assert/strict";
import { applyDefaults } from "./defaulting.ts";
import type { JSONSchemaProps } from "./types.ts";

const schema: JSONSchemaProps = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      default: {},
      properties: {
        replicas: { type: "integer", default: 1 },
        strategy: {
          type: "object",
          default: { type: "Rolling" },
          properties: { type: { type: "string" }, maxSurge: { type: "integer", default: 25 } },
        },
        ports: {
          type: "array",
          items: { type: "object", properties: { protocol: { type: "string", default: "TCP" } } },
        },
        env: {
          type: "object",
          additionalProperties: { type: "object", properties: { value: { type: "string", default: "" } } },
        },
        note: { type: "string", nullable: true, default: "n" },
      },
    },
  },
};

Deno.test("applyDefaults() fills absent fields and recurses into defaulted objects", () => {
  const obj: Record<string, unknown> = { metadata: { name: "a" } };
  applyDefaults(obj, schema);
  assert.deepEqual(obj.spec, { replicas: 1, strategy: { type: "Rolling", maxSurge: 25 }, note: "n" });
});

Deno.test("applyDefaults() defaults array items and additionalProperties values", () => {
  const obj = { spec: { replicas: 3, ports: [{}, { protocol: "UDP" }], env: { A: {} } } };
  applyDefaults(obj, schema);
  assert.deepEqual(obj.spec.ports, [{ protocol: "TCP" }, { protocol: "UDP" }]);
  assert.deepEqual(obj.spec.env, { A: { value: "" } });
  assert.equal(obj.spec.replicas, 3);
});

Deno.test("applyDefaults() replaces null of a non-nullable field but keeps null of a nullable one", () => {
  const obj = { spec: { replicas: null, note: null } };
  applyDefaults(obj, schema);
  assert.equal(obj.spec.replicas, 1);
  assert.equal(obj.spec.note, null);
});

Deno.test("applyDefaults() copies default values instead of sharing them", () => {
  const a: { spec?: { strategy: { type: string } } } = {};
  const b: { spec?: { strategy: { type: string } } } = {};
  applyDefaults(a, schema);
  applyDefaults(b, schema);
  a.spec!.strategy.type = "changed";
  assert.equal(b.spec!.strategy.type, "Rolling");
  assert.equal((schema.properties!.spec.properties!.strategy.default as { type: string }).type, "Rolling");
});
