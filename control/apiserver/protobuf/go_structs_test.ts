import assert from "node:assert/strict";
import { parseGoField, parseGoStructs, tagValue } from "./go_structs.ts";

const SOURCE = `
package v1

// Thing is a kind.
type Thing struct {
	metav1.TypeMeta \`json:",inline"\`
	// +optional
	metav1.ObjectMeta \`json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"\`
	LocalObjectReference \`json:",inline" protobuf:"bytes,2,opt,name=localObjectReference"\`
	Replicas *int32 \`json:"replicas,omitempty" protobuf:"varint,3,opt,name=replicas"\`
	Port int32 \`json:"port" protobuf:"varint,4,opt,name=port"\`
	Ref *string \`json:"$ref,omitempty" protobuf:"bytes,5,opt,name=ref"\`
	Common \`json:",inline" protobuf:"bytes,6,req"\`
	Data map[string][]byte \`json:"data,omitempty" protobuf:"bytes,7,rep,name=data"\`
	Hidden string \`json:"-" protobuf:"-"\`
	Untagged string \`json:"untagged"\`
}

type Empty struct{}

type Other struct {
	Name string \`json:"name" protobuf:"bytes,1,opt,name=name"\`
}
`;

Deno.test("tagValue() reads one key of a Go struct tag", () => {
  const tag = 'json:"a,omitempty" protobuf:"bytes,1,opt,name=a"';
  assert.equal(tagValue(tag, "json"), "a,omitempty");
  assert.equal(tagValue(tag, "protobuf"), "bytes,1,opt,name=a");
  assert.equal(tagValue(tag, "yaml"), undefined);
});

Deno.test("parseGoStructs() reads the protobuf-tagged fields of every struct, with their JSON facts", () => {
  const structs = parseGoStructs(SOURCE);
  assert.deepEqual([...structs.keys()], ["Thing", "Empty", "Other"]);
  const thing = structs.get("Thing")!;
  assert.equal(thing.hasTypeMeta, true);
  assert.equal(structs.get("Other")!.hasTypeMeta, false);
  assert.deepEqual(structs.get("Empty")!.fields, []);
  const byNumber = new Map(thing.fields.map((f) => [f.number, f]));
  assert.deepEqual([...byNumber.keys()], [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(byNumber.get(1), {
    goName: "ObjectMeta",
    goType: "metav1.ObjectMeta",
    number: 1,
    protoName: "metadata",
    jsonName: "metadata",
    pointer: false,
    omitEmpty: true,
    inline: false,
  });
  assert.equal(byNumber.get(2)!.inline, true);
  assert.equal(byNumber.get(3)!.pointer, true);
  assert.equal(byNumber.get(4)!.omitEmpty, false);
  assert.equal(byNumber.get(5)!.jsonName, "$ref");
  assert.equal(byNumber.get(5)!.protoName, "ref");
  assert.equal(
    byNumber.get(6)!.protoName,
    "common",
    "without name=, the Go name with its first letter lowered",
  );
  assert.equal(byNumber.get(6)!.inline, true);
  assert.equal(byNumber.get(7)!.goType, "map[string][]byte");
});

Deno.test('parseGoField() ignores fields without a protobuf tag or with protobuf:"-"', () => {
  assert.equal(parseGoField('\tHidden string `json:"-" protobuf:"-"`'), undefined);
  assert.equal(parseGoField('\tUntagged string `json:"untagged"`'), undefined);
  assert.equal(parseGoField("\t// a comment"), undefined);
  assert.throws(
    () => parseGoField('\tBad string `protobuf:"bytes,x,opt,name=bad"`'),
    /unreadable protobuf tag/,
  );
});
