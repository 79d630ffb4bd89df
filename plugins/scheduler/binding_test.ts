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

Deno.test("resolveNodes() resolves references to the previous cycle's nodes and keeps only the current ones", () => {
  const first = resolveNodes([node("a"), node("b")]);
  assert.deepEqual(first.map((n) => n.record.name), ["a", "b"]);
  assert.deepEqual(first[0].wit, witNode(node("a")));
  // b changed (a pod was bound to it): sent in full; a is a reference.
  const second = resolveNodes([{ name: "a", cached: true }, node("b", 1)]);
  assert.equal(second[0], first[0], "the reference resolves to the kept record, not a copy");
  assert.equal(second[1].record.podCount, 1);
  assert.equal((second[1].wit as { podCount: number }).podCount, 1);
  // Only the current cycle's nodes are kept: c was never sent, and a is gone after a cycle without it.
  assert.throws(() => resolveNodes([{ name: "c", cached: true }]), /node c, which this runner does not hold/);
  resolveNodes([node("b")]);
  assert.throws(() => resolveNodes([{ name: "a", cached: true }]), /node a/);
});
