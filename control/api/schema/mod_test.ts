import assert from "node:assert/strict";
import { fieldType, isAtomicStruct, patchMeta, typeOf } from "./mod.ts";
import { ATOMIC_STRUCTS, PATCH_META } from "./patch_meta.ts";

Deno.test("patchMeta() gives upstream's strategy and merge key for list fields", () => {
  assert.deepEqual(patchMeta("V1PodSpec", "containers"), {
    strategy: "merge",
    mergeKey: "name",
    listType: "map",
    listMapKeys: ["name"],
  });
  assert.equal(patchMeta("V1PodSpec", "volumes").strategy, "merge,retainKeys");
  assert.equal(patchMeta("V1Container", "ports").mergeKey, "containerPort");
  assert.deepEqual(patchMeta("V1Container", "ports").listMapKeys, ["containerPort", "protocol"]);
  assert.equal(patchMeta("V1Container", "volumeMounts").mergeKey, "mountPath");
  assert.equal(patchMeta("V1ServiceSpec", "ports").mergeKey, "port");
  assert.equal(patchMeta("V1DeploymentSpec", "strategy").strategy, "retainKeys");
  assert.deepEqual(patchMeta("V1ObjectMeta", "finalizers"), { strategy: "merge", listType: "set" });
  assert.equal(patchMeta("V1ObjectMeta", "ownerReferences").mergeKey, "uid");
  assert.equal(patchMeta("V1NodeStatus", "addresses").mergeKey, "type");
  assert.equal(patchMeta("V1PodDisruptionBudgetSpec", "selector").strategy, "replace");
});

Deno.test("patchMeta() is empty for fields upstream declares atomic", () => {
  assert.deepEqual(patchMeta("V1Container", "resizePolicy"), {});
  assert.deepEqual(patchMeta("V1Container", "args"), {});
  assert.deepEqual(patchMeta("V1PodSpec", "tolerations"), {});
  assert.deepEqual(patchMeta("V1Nope", "x"), {});
});

Deno.test("every patch metadata entry names a field of the schema table of the right shape", () => {
  for (const [key, meta] of Object.entries(PATCH_META)) {
    const [type, field] = key.split(".");
    const t = fieldType(type, field);
    assert.ok(t, `${key} is not in the schema table`);
    if (meta.mergeKey || meta.listType) {
      assert.equal(t.kind, "array", key);
      if (meta.mergeKey && t.kind === "array") {
        assert.equal(t.items.kind, "object", key);
        if (t.items.kind === "object") assert.ok(typeOf(t.items.name)![meta.mergeKey], `${key} merge key`);
      }
    }
    if (meta.mapType) assert.equal(t.kind, "map", key);
  }
  for (const name of ATOMIC_STRUCTS) assert.ok(typeOf(name), name);
  assert.ok(isAtomicStruct("V1LabelSelector"));
  assert.ok(!isAtomicStruct("V1PodSpec"));
});
