import assert from "node:assert/strict";
import TYPES from "../../api/schema/types.json" with { type: "json" };
import { builtinResources } from "../registry/mod.ts";
import { messageForKind } from "./decode.ts";
import { buildRoot, fieldInfo, isScalar, SCHEMA, schemaRoot, UNKNOWN } from "./schema.ts";

Deno.test("every type of the schema table types.json has a protobuf message", () => {
  const missing = Object.keys(TYPES.types).filter((t) => !SCHEMA.models[t]);
  assert.deepEqual(missing, []);
});

Deno.test("every built-in kind the API server serves has a protobuf message matching its schema type", () => {
  for (const def of builtinResources()) {
    const apiVersion = def.group ? `${def.group}/${def.version}` : def.version;
    const message = messageForKind(apiVersion, def.kind);
    if (def.protobuf === false) {
      // Exempt (skiff kinds, as custom resources): no message, and protobuf bodies get 415.
      assert.equal(message, undefined, `${apiVersion} ${def.kind} is exempt yet has a message`);
      assert.ok(!def.schema, `${apiVersion} ${def.kind} is exempt yet names a schema type`);
      continue;
    }
    assert.ok(message, `${apiVersion} ${def.kind} has no message`);
    if (def.schema) assert.equal(message, SCHEMA.models[def.schema], def.kind);
  }
});

Deno.test("the table holds the request kinds of kubectl's typed clients and the apimachinery types", () => {
  for (
    const key of [
      "authorization.k8s.io/v1/SelfSubjectAccessReview",
      "authorization.k8s.io/v1/SubjectAccessReview",
      "authorization.k8s.io/v1/SelfSubjectRulesReview",
      "authentication.k8s.io/v1/TokenRequest",
      "authentication.k8s.io/v1/TokenReview",
      "authentication.k8s.io/v1/SelfSubjectReview",
      "policy/v1/Eviction",
      "policy/v1/PodDisruptionBudget",
      "autoscaling/v1/Scale",
      "rbac.authorization.k8s.io/v1/RoleBinding",
      "networking.k8s.io/v1/Ingress",
      "storage.k8s.io/v1/StorageClass",
    ]
  ) assert.ok(SCHEMA.kinds[key], key);
  const meta = "k8s.io.apimachinery.pkg.apis.meta.v1.";
  for (
    const name of [
      meta + "ObjectMeta",
      meta + "Time",
      meta + "MicroTime",
      meta + "Duration",
      meta + "LabelSelector",
      meta + "DeleteOptions",
      "k8s.io.apimachinery.pkg.util.intstr.IntOrString",
      "k8s.io.apimachinery.pkg.api.resource.Quantity",
      "k8s.io.apimachinery.pkg.runtime.RawExtension",
      UNKNOWN,
    ]
  ) assert.ok(SCHEMA.messages[name], name);
});

Deno.test("every field type of the table is a scalar or a message of the table", () => {
  for (const [name, message] of Object.entries(SCHEMA.messages)) {
    for (const entry of message.f) {
      const f = fieldInfo(entry);
      assert.ok(isScalar(f.type) || SCHEMA.messages[f.type], `${name}.${f.name}: ${f.type}`);
      if (f.inline) assert.ok(!isScalar(f.type) && !f.repeated && !f.map, `${name}.${f.name} inline`);
    }
  }
  assert.ok(schemaRoot().lookupType(SCHEMA.kinds["apps/v1/Deployment"]));
});

Deno.test("fieldInfo() spells out repeats, maps, flags and JSON names", () => {
  assert.deepEqual(fieldInfo([5, "ref", "string", "z", "$ref"]), {
    number: 5,
    name: "ref",
    jsonName: "$ref",
    type: "string",
    repeated: false,
    map: false,
    keepZero: true,
    inline: false,
  });
  const list = fieldInfo([2, "items", "[k8s.io.api.core.v1.Container"]);
  assert.equal(list.repeated, true);
  assert.equal(list.type, "k8s.io.api.core.v1.Container");
  assert.equal(fieldInfo([3, "data", "{bytes"]).map, true);
  assert.equal(fieldInfo([1, "localObjectReference", "x.Ref", "i"]).inline, true);
});

Deno.test("buildRoot() gives protobufjs types that use the table's numbers and maps", () => {
  const root = buildRoot({
    source: "test",
    kinds: {},
    models: {},
    messages: { "a.b.M": { f: [[3, "x", "int32", "z"], [7, "m", "{string"]] } },
  });
  const m = root.lookupType("a.b.M");
  assert.deepEqual([...m.encode({ x: 1 }).finish()], [0x18, 0x01]);
  assert.deepEqual({
    ...(m.decode(m.encode({ m: { k: "v" } }).finish()) as unknown as { m: Record<string, string> }).m,
  }, { k: "v" });
});
