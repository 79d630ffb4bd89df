import assert from "node:assert/strict";
import { KeyedHeap } from "./heap.ts";

type Item = { k: string; v: number };
const heap = () => new KeyedHeap<Item>((i) => i.k, (a, b) => a.v < b.v);

Deno.test("KeyedHeap pops items in order", () => {
  const h = heap();
  const values = [5, 3, 9, 1, 7, 2, 8, 6, 4, 0];
  values.forEach((v, i) => h.push({ k: `k${i}`, v }));
  const out: number[] = [];
  for (let x = h.pop(); x; x = h.pop()) out.push(x.v);
  assert.deepEqual(out, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("KeyedHeap replaces an item with the same key and reorders it", () => {
  const h = heap();
  h.push({ k: "a", v: 1 });
  h.push({ k: "b", v: 2 });
  h.push({ k: "a", v: 3 });
  assert.equal(h.size, 2);
  assert.equal(h.pop()?.k, "b");
  assert.equal(h.pop()?.v, 3);
});

Deno.test("KeyedHeap deletes by key and stays ordered", () => {
  const h = heap();
  for (let i = 0; i < 20; i++) h.push({ k: `k${i}`, v: (i * 7) % 20 });
  assert.equal(h.delete("k3")?.v, 1);
  assert.equal(h.has("k3"), false);
  assert.equal(h.delete("nope"), undefined);
  let last = -1;
  for (let x = h.pop(); x; x = h.pop()) {
    assert.ok(x.v >= last);
    last = x.v;
  }
});
