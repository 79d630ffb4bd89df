import assert from "node:assert/strict";
import { DependentsIndex, itemKey, parseItemKey } from "./graph.ts";

const pod = (name: string, owners: string[]) => ({
  metadata: {
    name,
    namespace: "ns",
    ownerReferences: owners.map((uid) => ({ apiVersion: "v1", kind: "X", name: uid, uid })),
  },
});

Deno.test("itemKey() round-trips through parseItemKey()", () => {
  assert.deepEqual(parseItemKey(itemKey("replicasets.apps", "ns", "web")), {
    resource: "replicasets.apps",
    namespace: "ns",
    name: "web",
  });
  assert.deepEqual(parseItemKey(itemKey("nodes", undefined, "n1")), {
    resource: "nodes",
    namespace: "",
    name: "n1",
  });
});

Deno.test("DependentsIndex tracks dependents by owner uid through changes and removal", () => {
  const idx = new DependentsIndex();
  const a = itemKey("pods", "ns", "a"), b = itemKey("pods", "ns", "b");
  idx.set(a, pod("a", ["rs1"]));
  idx.set(b, pod("b", ["rs1", "rs2"]));
  assert.deepEqual(idx.dependents("rs1").sort(), [a, b]);
  assert.ok(idx.hasDependents("rs2"));
  idx.set(b, pod("b", ["rs2"]));
  assert.deepEqual(idx.dependents("rs1"), [a]);
  idx.remove(a);
  assert.deepEqual(idx.dependents("rs1"), []);
  assert.equal(idx.hasDependents("rs1"), false);
  idx.set(b, pod("b", []));
  assert.equal(idx.size, 0);
  assert.deepEqual(idx.dependents(undefined), []);
});
