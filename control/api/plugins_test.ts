import assert from "node:assert/strict";
import { filterAnswers } from "./plugins.ts";

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
