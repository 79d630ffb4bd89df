import assert from "node:assert/strict";
import { ApiError } from "../../api/status.ts";
import { applyMergePatch, mergePatch } from "./merge_patch.ts";

Deno.test("mergePatch() follows the examples of RFC 7386 appendix A", () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [["a", "b"], ["c", "d"], ["c", "d"]],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, result] of cases) assert.deepEqual(mergePatch(target, patch), result);
});

Deno.test("mergePatch() does not modify its arguments", () => {
  const target = { a: { b: 1 } };
  const patch = { a: { c: [1] } };
  const out = mergePatch(target, patch) as { a: { c: number[] } };
  out.a.c.push(2);
  assert.deepEqual(target, { a: { b: 1 } });
  assert.deepEqual(patch, { a: { c: [1] } });
});

Deno.test("applyMergePatch() replaces lists instead of merging them", () => {
  const pod = { metadata: { name: "p" }, spec: { containers: [{ name: "a" }, { name: "b" }] } };
  assert.deepEqual(applyMergePatch(pod, { spec: { containers: [{ name: "c" }] } }), {
    metadata: { name: "p" },
    spec: { containers: [{ name: "c" }] },
  });
});

Deno.test("applyMergePatch() refuses null and scalar documents as upstream's Invalid JSON Patch", () => {
  for (const patch of [null, "x", 1, true]) {
    assert.throws(
      () => applyMergePatch({ metadata: {} }, patch),
      (e: unknown) =>
        e instanceof ApiError && e.code === 400 && e.reason === "BadRequest" &&
        e.status.message === "Invalid JSON Patch",
    );
  }
});
