import assert from "node:assert/strict";
import { ApiError } from "../../api/status.ts";
import { GoSlice, normalizeElementOrder, partition, sliceElementType } from "./smp_lists.ts";

Deno.test("GoSlice shows in-place deletes and appends through the shared array, as Go slices do", () => {
  const s = new GoSlice(["a", "b", "c"]);
  s.delete(0);
  assert.deepEqual(s.items, ["b", "c"]);
  assert.deepEqual(s.live, ["b", "c", "c"], "a delete leaves the old last item behind");
  s.append("d");
  assert.deepEqual(s.live, ["b", "c", "d"], "an append within capacity writes through");
  s.append("e");
  assert.deepEqual(s.items, ["b", "c", "d", "e"]);
  assert.deepEqual(s.live, ["b", "c", "d"], "an append past capacity goes to a new array");
});

Deno.test("normalizeElementOrder() puts patch items first unless the live order puts a live item before them", () => {
  const live = [{ name: "a" }, { name: "b" }, { name: "c" }];
  const merged = [{ name: "a" }, { name: "b" }, { name: "c" }, { name: "new" }];
  const patch = [{ name: "b" }, { name: "new" }];
  const [inPatch, serverOnly] = partition(merged, patch, "name");
  assert.deepEqual(
    normalizeElementOrder(inPatch, serverOnly, patch, live, "name", "map").map((x) =>
      (x as { name: string }).name
    ),
    ["a", "b", "new", "c"],
  );
});

Deno.test("sliceElementType() names the element type and refuses lists of lists", () => {
  assert.equal(sliceElementType([{ a: 1 }], [{ b: 2 }]), "map");
  assert.equal(sliceElementType([], ["x"]), "string");
  assert.throws(() => sliceElementType([["x"]]), (e: unknown) => e instanceof ApiError && e.code === 422);
  assert.throws(() => sliceElementType([], []), /no elements in any of the given slices/);
});
