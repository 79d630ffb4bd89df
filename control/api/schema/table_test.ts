import assert from "node:assert/strict";
import { fieldType, goName, parseType, typeNames, typeOf } from "./table.ts";
import { ROOTS } from "./generate.ts";

Deno.test("typeOf() decodes the fields of a named type", () => {
  const container = typeOf("V1Container");
  assert.ok(container);
  assert.deepEqual(container.image, { kind: "string" });
  assert.deepEqual(container.env, { kind: "array", items: { kind: "object", name: "V1EnvVar" } });
  assert.equal(typeOf("V1Nope"), undefined);
  assert.equal(typeOf("toString"), undefined);
});

Deno.test("fieldType() knows maps, int-or-string, bytes, quantities and times", () => {
  assert.deepEqual(fieldType("V1ObjectMeta", "labels"), { kind: "map", values: { kind: "string" } });
  assert.deepEqual(fieldType("V1RollingUpdateDeployment", "maxSurge"), { kind: "int-or-string" });
  assert.deepEqual(fieldType("V1Secret", "data"), { kind: "map", values: { kind: "bytes" } });
  assert.deepEqual(fieldType("V1ResourceRequirements", "limits"), {
    kind: "map",
    values: { kind: "string" },
  });
  assert.deepEqual(fieldType("V1ObjectMeta", "creationTimestamp"), { kind: "date-time" });
  assert.deepEqual(fieldType("V1DeploymentSpec", "replicas"), { kind: "integer" });
  assert.deepEqual(fieldType("V1RawExtension", "x"), undefined);
  assert.equal(fieldType("V1Container", "bogus"), undefined);
  assert.equal(fieldType("V1Container", "constructor"), undefined);
});

Deno.test("the table holds every root kind with apiVersion, kind and metadata", () => {
  const names = new Set(typeNames());
  for (const root of ROOTS) {
    assert.ok(names.has(root), root);
    const fields = typeOf(root)!;
    assert.deepEqual(fields.kind, { kind: "string" }, root);
    if (root === "V1Status" || root === "V1DeleteOptions") continue; // ListMeta, none
    assert.deepEqual(fields.metadata, { kind: "object", name: "V1ObjectMeta" }, root);
  }
});

Deno.test("every type code in the table decodes to a known type", () => {
  for (const name of typeNames()) {
    for (const [field, type] of Object.entries(typeOf(name)!)) assert.ok(type, `${name}.${field}`);
  }
  assert.throws(() => parseType("V1Missing"), /unknown type V1Missing/);
});

Deno.test("goName() strips client-node's group and version prefixes", () => {
  assert.equal(goName("V1PodSpec"), "PodSpec");
  assert.equal(goName("CoreV1Event"), "Event");
  assert.equal(goName("AuthenticationV1TokenRequest"), "TokenRequest");
  assert.equal(goName("V1beta1Foo"), "Foo");
  assert.equal(goName("V2HorizontalPodAutoscaler"), "HorizontalPodAutoscaler");
});
