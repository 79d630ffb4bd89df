import assert from "node:assert/strict";
import type { NodeRecord } from "../../control/api/plugins.ts";
import { type CycleNode, GuestNodes } from "./guest_nodes.ts";

const node = (name: string, podCount = 0): CycleNode => {
  const record: NodeRecord = {
    name,
    labels: [],
    unschedulable: false,
    taints: [],
    allocatableMilliCpu: 1000,
    allocatableMemory: 1 << 30,
    requestedMilliCpu: 0,
    requestedMemory: 0,
    podCount,
    images: [],
  };
  return { record, wit: { name, podCount } };
};

Deno.test("GuestNodes.plan() puts only nodes the guest does not hold as they are now", () => {
  const t = new GuestNodes();
  const [a, b, c] = [node("a"), node("b"), node("c")];
  const first = t.plan([a, b]);
  assert.deepEqual([...first.ids], [0, 1]);
  assert.deepEqual(first.puts, [{ id: 0, node: a.wit }, { id: 1, node: b.wit }]);
  // The same versions again, in another order, with a new node: only the new one is put.
  const second = t.plan([b, c, a]);
  assert.deepEqual([...second.ids], [1, 2, 0]);
  assert.deepEqual(second.puts, [{ id: 2, node: c.wit }]);
  // A new version of b (a pod was placed on it) is put again under the same handle.
  const b2 = node("b", 1);
  const third = t.plan([a, b2]);
  assert.deepEqual([...third.ids], [0, 1]);
  assert.deepEqual(third.puts, [{ id: 1, node: b2.wit }]);
  assert.equal(t.size, 3);
});

Deno.test("GuestNodes.stale() forgets nodes no cycle named for `idle` cycles and reuses their handles", () => {
  const t = new GuestNodes({ idle: 4 });
  const [a, b, c] = [node("a"), node("b"), node("c")];
  t.plan([a, b]);
  assert.deepEqual(t.stale(), [], "checked only every `idle` cycles");
  for (let i = 0; i < 3; i++) t.plan([a]);
  assert.deepEqual(t.stale(), [], "cycle 4: b was named within the last 4 cycles (in cycle 1)");
  for (let i = 0; i < 4; i++) t.plan([a]);
  assert.deepEqual(t.stale(), [1], "cycle 8: b was last named in cycle 1");
  assert.equal(t.size, 1);
  const next = t.plan([c, b]);
  assert.deepEqual([...next.ids], [1, 2], "c takes b's freed handle; b comes back as new");
  assert.deepEqual(next.puts.map((p) => p.id), [1, 2]);
});

Deno.test("GuestNodes.plan() puts a node object another table (a fresh instance) planned, and each table keeps its own", () => {
  const [old, fresh] = [new GuestNodes(), new GuestNodes()];
  const [a, b] = [node("a"), node("b")];
  old.plan([b, a]);
  // The same node objects (the runner's slot table) given to a fresh instance's table: all put.
  const first = fresh.plan([a, b]);
  assert.deepEqual([...first.ids], [0, 1]);
  assert.deepEqual(first.puts.map((p) => p.node), [a.wit, b.wit]);
  // Back to the first table: it still holds them under its own handles, nothing to put.
  const again = old.plan([a, b]);
  assert.deepEqual([...again.ids], [1, 0]);
  assert.deepEqual(again.puts, []);
  assert.deepEqual(fresh.plan([b, a]).puts, []);
});
