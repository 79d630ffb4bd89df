import assert from "node:assert/strict";
import { deepEqual } from "../api/types.ts";
import { sameObject } from "./same_object.ts";

Deno.test("sameObject() judges objects as deepEqual does", () => {
  const cases: [unknown, unknown][] = [
    [{ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }],
    [{ a: 1, d: undefined }, { a: 1 }],
    [{ a: 1 }, { a: 1, d: undefined }],
    [{ a: 1 }, { a: 2 }],
    [{ a: 1 }, { a: 1, b: 2 }],
    [{ a: 1, b: 2 }, { a: 1 }],
    [{ a: 1, b: undefined }, { a: 1, c: 3 }],
    [{ a: [1, { x: "y" }] }, { a: [1, { x: "y" }] }],
    [{ a: [1, { x: "y" }] }, { a: [1, { x: "z" }] }],
    [{ a: [] }, { a: {} }],
    [{ a: {} }, { a: [] }],
    [{ a: null }, { a: {} }],
    [{ a: null }, { a: null }],
    [{ a: "1" }, { a: 1 }],
    [[1, 2], [1, 2, 3]],
    [{ metadata: { labels: { app: "x" } }, data: { k: "v" } }, {
      data: { k: "v" },
      metadata: { labels: { app: "x" } },
    }],
  ];
  for (const [a, b] of cases) {
    assert.equal(sameObject(a, b), deepEqual(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  }
  assert.ok(sameObject({ a: 1, d: undefined }, { a: 1 }));
  assert.ok(!sameObject({ a: 1, b: undefined }, { a: 1, c: 3 }));
});
