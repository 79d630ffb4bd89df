import assert from "node:assert/strict";
import { filterAnswers, rejections, slotRanges } from "./plugins.ts";

Deno.test("filterAnswers() expands rejections to one answer per node, and refuses what does not fit", () => {
  const ok = { code: "Success" as const, reason: "" };
  assert.deepEqual(filterAnswers({ rejected: [{ index: 1, code: "Unschedulable", reason: "full" }] }, 3), [
    ok,
    { code: "Unschedulable", reason: "full" },
    ok,
  ]);
  assert.deepEqual(filterAnswers({ rejected: [] }, 2), [ok, ok]);
  // The older form: one answer per node.
  assert.deepEqual(filterAnswers({ filter: [ok] }, 1), [ok]);
  assert.equal(filterAnswers({ filter: [ok] }, 2), null);
  assert.equal(filterAnswers({ rejected: [{ index: 2, code: "Unschedulable", reason: "" }] }, 2), null);
  assert.equal(
    filterAnswers({
      rejected: [{ index: 0, code: "Unschedulable", reason: "" }, {
        index: 0,
        code: "Unschedulable",
        reason: "",
      }],
    }, 2),
    null,
  );
  assert.equal(filterAnswers({}, 2), null);
  assert.equal(filterAnswers(undefined, 0), null);
});

Deno.test("rejections() flags the rejected nodes by position, from either form, and refuses what does not fit", () => {
  const full = { index: 1, code: "Unschedulable" as const, reason: "full" };
  const got = rejections({ rejected: [full] }, 3)!;
  assert.deepEqual([...got.flags], [0, 1, 0]);
  assert.deepEqual(got.rejected, [full]);
  const older = rejections({ filter: [{ code: "Success", reason: "" }, { code: "Unschedulable", reason: "full" }] }, 2)!;
  assert.deepEqual([[...older.flags], older.rejected], [[0, 1], [full]]);
  assert.equal(rejections({ rejected: [{ ...full, index: 3 }] }, 3), null);
  assert.equal(rejections({ rejected: [full, full] }, 3), null);
  assert.equal(rejections({ filter: [] }, 1), null);
  assert.equal(rejections({}, 1), null);
});

Deno.test("slotRanges() joins consecutive slots into [start, count] ranges, in order", () => {
  assert.deepEqual(slotRanges([]), []);
  assert.deepEqual(slotRanges([4, 5, 6, 7]), [[4, 4]]);
  // A rotating window that wraps around the node list: two ranges.
  assert.deepEqual(slotRanges([498, 499, 0, 1, 2]), [[498, 2], [0, 3]]);
  assert.deepEqual(slotRanges([3, 5, 6, 2]), [[3, 1], [5, 2], [2, 1]]);
});
