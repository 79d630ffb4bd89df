import assert from "node:assert/strict";
import type { NodeRecord } from "../../control/api/plugins.ts";
import { resolveNodes, witNode } from "./binding.ts";

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
