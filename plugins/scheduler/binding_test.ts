import assert from "node:assert/strict";
import type { NodeRecord } from "../../control/api/plugins.ts";
import { missingNode, resolveNodes, witNode } from "./binding.ts";

const node = (name: string, podCount = 0): NodeRecord => ({
  name,
  labels: [["zone", "a"]],
  unschedulable: false,
  taints: [],
  allocatableMilliCpu: 4000,
  allocatableMemory: 8 << 30,
  requestedMilliCpu: 0,
  requestedMemory: 0,
  podCount,
  images: [{ names: ["app:1"], sizeBytes: 1 << 20 }],
});

Deno.test("resolveNodes() resolves references to nodes sent in earlier cycles, keeping every node sent", () => {
  const first = resolveNodes([node("a"), node("b")]);
  assert.deepEqual(first.map((n) => n.record.name), ["a", "b"]);
  assert.deepEqual(first[0].wit, witNode(node("a")));
  // b changed (a pod was bound to it): sent in full; a is a reference.
  const second = resolveNodes([{ name: "a", cached: true }, node("b", 1)]);
  assert.equal(second[0], first[0], "the reference resolves to the kept record, not a copy");
  assert.equal(second[1].record.podCount, 1);
  assert.equal((second[1].wit as { podCount: number }).podCount, 1);
  // c was never sent.
  assert.throws(() => resolveNodes([{ name: "c", cached: true }]), /node c, which this runner does not hold/);
  // A cycle over some nodes (those the built-in filters kept) leaves the others held.
  resolveNodes([node("b", 2)]);
  const third = resolveNodes([{ name: "a", cached: true }, { name: "b", cached: true }]);
  assert.equal(third[0], first[0]);
  assert.equal(third[1].record.podCount, 2, "a reference resolves to the version last sent");
});

Deno.test("resolveNodes() keeps one cache per caller: a reference resolves to what that caller last sent", () => {
  resolveNodes([node("x", 1)]);
  resolveNodes([node("x", 2)], "session:s1");
  assert.equal(resolveNodes(["x"], "session:s1")[0].record.podCount, 2);
  assert.equal(resolveNodes(["x"])[0].record.podCount, 1);
  assert.equal(missingNode(["x", "y"], "session:s1"), "y");
  assert.equal(missingNode(["x"], "session:s2"), "x");
  assert.equal(missingNode([node("y")], "session:s2"), null);
  assert.throws(() => resolveNodes(["x"], "session:s2"), /node x, which this runner does not hold/);
});
