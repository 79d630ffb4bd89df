import assert from "node:assert/strict";
import type { NodeRecord } from "../../control/api/plugins.ts";
import {
  missingNode,
  missingSlot,
  resolveNodes,
  resolveSlots,
  slotNodesProblem,
  witNode,
} from "./binding.ts";

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

Deno.test("resolveSlots() puts full nodes into their slots, then reads the ranges in order; a slot not held is missing", () => {
  const key = "session:slots";
  assert.equal(missingSlot({ slots: [[0, 2]], put: [[0, node("a")]] }, key), 1);
  const first = resolveSlots({ slots: [[1, 1], [0, 1]], put: [[0, node("a")], [1, node("b")]] }, key);
  assert.deepEqual(first.map((n) => n.record.name), ["b", "a"]);
  // Later cycles: ranges only; a put replaces what a slot holds (a changed or another node).
  assert.equal(missingSlot({ slots: [[0, 2]] }, key), null);
  const second = resolveSlots({ slots: [[0, 2]], put: [[1, node("b", 3)]] }, key);
  assert.equal(second[0], first[1], "the unchanged node is the record held");
  assert.equal(second[1].record.podCount, 3);
  assert.equal(missingSlot({ slots: [[1, 2]] }, key), 2);
  assert.throws(() => resolveSlots({ slots: [[2, 1]] }, key), /slot 2, which this runner does not hold/);
  // Another caller's table is its own.
  assert.equal(missingSlot({ slots: [[0, 1]] }, "session:other"), 0);
});

Deno.test("slotNodesProblem() refuses ranges and puts that are not slots", () => {
  assert.equal(slotNodesProblem({ slots: [[0, 3]], put: [[2, node("c")]] }), null);
  assert.match(slotNodesProblem({ slots: "0-3" })!, /not a list/);
  assert.match(slotNodesProblem({ slots: [[-1, 2]] })!, /not \[start, count\]/);
  assert.match(slotNodesProblem({ slots: [[0, 1.5]] })!, /not \[start, count\]/);
  assert.match(slotNodesProblem({ slots: [[1 << 17, 1]] })!, /not \[start, count\]/);
  assert.match(slotNodesProblem({ slots: [], put: [[0, {}]] })!, /put entry/);
});
