import assert from "node:assert/strict";
import protobuf from "protobufjs";
import {
  buildSchema,
  type LoadedPackage,
  messageEntry,
  packageSegment,
  parseModelName,
  renderSchema,
} from "./generate.ts";
import { parseGoStructs } from "./go_structs.ts";
import { buildRoot } from "./schema.ts";
import { messageToJson } from "./to_json.ts";

const PROTO = `
syntax = "proto2";
package k8s.io.api.demo.v1;

// ExtraValue masks the value so protobuf can generate
// +protobuf.nullable=true
message ExtraValue {
  repeated string items = 1;
}

message Ref {
  optional string name = 1;
}

message Thing {
  optional Ref ref = 1;
  optional int32 replicas = 2;
  optional int32 count = 3;
  optional int32 port = 4;
  optional string ref2 = 5;
  map<string, ExtraValue> extra = 6;
  optional bytes data = 7;
}
`;

const GO = `
type ExtraValue []string

type Ref struct {
	Name string \`json:"name,omitempty" protobuf:"bytes,1,opt,name=name"\`
}

type Thing struct {
	metav1.TypeMeta \`json:",inline"\`
	Ref \`json:",inline" protobuf:"bytes,1,opt,name=ref"\`
	Replicas *int32 \`json:"replicas,omitempty" protobuf:"varint,2,opt,name=replicas"\`
	Count int32 \`json:"count,omitempty" protobuf:"varint,3,opt,name=count"\`
	Port int32 \`json:"port" protobuf:"varint,4,opt,name=port"\`
	Ref2 string \`json:"$ref,omitempty" protobuf:"bytes,5,opt,name=ref2"\`
	Extra map[string]ExtraValue \`json:"extra,omitempty" protobuf:"bytes,6,rep,name=extra"\`
	Data []byte \`json:"data,omitempty" protobuf:"bytes,7,opt,name=data"\`
}
`;

function demo(go = GO): { root: protobuf.Root; packages: LoadedPackage[] } {
  const root = new protobuf.Root();
  protobuf.parse(PROTO, root, { keepCase: true, alternateCommentMode: true });
  root.resolveAll();
  const pkg = {
    protoPackage: "k8s.io.api.demo.v1",
    group: "demo.example.com",
    version: "v1",
    structs: parseGoStructs(go),
  };
  return { root, packages: [pkg] };
}

const OPTS = { source: "demo", extraRoots: [] };

const MODELS = {
  V1Thing: {
    apiVersion: "s",
    kind: "s",
    name: "s",
    replicas: "i",
    count: "i",
    port: "i",
    $ref: "s",
    extra: "{[s",
    data: "y",
  },
  V1Ref: { name: "s" },
};

Deno.test("messageEntry() records numbers, types, inline embedding, kept zeros and JSON names", () => {
  const { root, packages } = demo();
  const thing = messageEntry(root.lookupType("k8s.io.api.demo.v1.Thing"), packages[0].structs);
  assert.deepEqual(thing, {
    f: [
      [1, "ref", "k8s.io.api.demo.v1.Ref", "i"],
      [2, "replicas", "int32", "z"],
      [3, "count", "int32"],
      [4, "port", "int32", "z"],
      [5, "ref2", "string", "", "$ref"],
      [6, "extra", "{k8s.io.api.demo.v1.ExtraValue"],
      [7, "data", "bytes"],
    ],
  });
  const extra = messageEntry(root.lookupType("k8s.io.api.demo.v1.ExtraValue"), packages[0].structs);
  assert.deepEqual(extra, { f: [[1, "items", "[string"]], as: "items" });
});

Deno.test("messageEntry() fails when the Go struct lacks a field of the message", () => {
  const { root, packages } = demo(GO.replace(/\tCount int32 .*\n/, ""));
  assert.throws(
    () => messageEntry(root.lookupType("k8s.io.api.demo.v1.Thing"), packages[0].structs),
    /Thing.count: no Go field with protobuf number 3/,
  );
});

Deno.test("buildSchema() maps client-node models to messages and lists kinds by group version", () => {
  const schema = buildSchema(demo(), MODELS, OPTS);
  assert.deepEqual(schema.kinds, { "demo.example.com/v1/Thing": "k8s.io.api.demo.v1.Thing" });
  assert.deepEqual(schema.models, { V1Ref: "k8s.io.api.demo.v1.Ref", V1Thing: "k8s.io.api.demo.v1.Thing" });
  assert.deepEqual(Object.keys(schema.messages), [
    "k8s.io.api.demo.v1.ExtraValue",
    "k8s.io.api.demo.v1.Ref",
    "k8s.io.api.demo.v1.Thing",
  ]);
  assert.deepEqual(JSON.parse(renderSchema(schema)), schema);
});

Deno.test("buildSchema() fails when a model's fields disagree with its message", () => {
  const models = { ...MODELS, V1Ref: { name: "s", extra: "s" } };
  assert.throws(() => buildSchema(demo(), models, OPTS), /V1Ref: fields differ/);
  assert.throws(() => buildSchema(demo(), { V1Missing: {} }, OPTS), /V1Missing: 0 candidate messages/);
});

Deno.test("a table built from the demo package decodes inline fields, JSON names and kept zeros", () => {
  const schema = buildSchema(demo(), MODELS, OPTS);
  const type = "k8s.io.api.demo.v1.Thing";
  const thing = buildRoot(schema).lookupType(type);
  const bytes = thing.encode({
    ref: { name: "x" },
    replicas: 0,
    count: 0,
    port: 0,
    ref2: "#/a",
    extra: { k: { items: ["v"] } },
  })
    .finish();
  const json = messageToJson(schema, type, thing.decode(bytes) as unknown as Record<string, unknown>);
  assert.deepEqual(json, { name: "x", replicas: 0, port: 0, $ref: "#/a", extra: { k: ["v"] } });
});

Deno.test("parseModelName() splits client-node names into group, version and kind", () => {
  assert.deepEqual(parseModelName("V1ConfigMap"), { group: undefined, version: "v1", kind: "ConfigMap" });
  assert.deepEqual(parseModelName("AuthenticationV1TokenRequest"), {
    group: "authentication",
    version: "v1",
    kind: "TokenRequest",
  });
  assert.deepEqual(parseModelName("V2beta1Thing"), { group: undefined, version: "v2beta1", kind: "Thing" });
  assert.equal(parseModelName("configmap"), undefined);
  assert.equal(packageSegment("k8s.io.api.rbac.v1"), "rbac");
  assert.equal(packageSegment("k8s.io.apimachinery.pkg.apis.meta.v1"), "meta");
});
