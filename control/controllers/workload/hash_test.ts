import assert from "node:assert/strict";
import { canonicalJson, computeHash, fnv32a, safeEncodeString } from "./hash.ts";

Deno.test("fnv32a() matches the FNV-1a reference values", () => {
  const enc = new TextEncoder();
  assert.equal(fnv32a(enc.encode("")), 0x811c9dc5);
  assert.equal(fnv32a(enc.encode("a")), 0xe40c292c);
  assert.equal(fnv32a(enc.encode("foobar")), 0xbf9cf968);
});

Deno.test("safeEncodeString() maps digits onto upstream's vowel-free alphabet", () => {
  assert.equal(safeEncodeString("0123456789"), "456789bcdf");
});

Deno.test("computeHash() is stable across key order and changes with the collision count", () => {
  const a = computeHash({
    metadata: { labels: { app: "web" } },
    spec: { containers: [{ name: "c", image: "nginx" }] },
  });
  const b = computeHash({
    spec: { containers: [{ image: "nginx", name: "c" }] },
    metadata: { labels: { app: "web" } },
  });
  assert.equal(a, b);
  assert.match(a, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  assert.notEqual(computeHash({ x: 1 }, 1), computeHash({ x: 1 }));
  assert.notEqual(computeHash({ x: 1 }), computeHash({ x: 2 }));
});

Deno.test("canonicalJson() sorts keys and drops undefined members", () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: undefined, c: 2 }] }), '{"a":[{"c":2}],"b":1}');
});
