import assert from "node:assert/strict";
import { Expectations } from "./expectations.ts";

Deno.test("Expectations are unsatisfied until every expected creation is observed", () => {
  const e = new Expectations({ now: () => 0 });
  assert.equal(e.satisfied("ns/rs"), true);
  e.expectCreations("ns/rs", 2);
  assert.equal(e.satisfied("ns/rs"), false);
  e.creationObserved("ns/rs");
  assert.equal(e.satisfied("ns/rs"), false);
  e.creationObserved("ns/rs");
  assert.equal(e.satisfied("ns/rs"), true);
});

Deno.test("Expectations count a named deletion once however often it is reported", () => {
  const e = new Expectations({ now: () => 0 });
  e.expectDeletions("ns/rs", ["ns/a", "ns/b"]);
  e.deletionObserved("ns/rs", "ns/a");
  e.deletionObserved("ns/rs", "ns/a");
  assert.equal(e.satisfied("ns/rs"), false);
  e.deletionObserved("ns/rs", "ns/other");
  assert.equal(e.satisfied("ns/rs"), false);
  e.deletionObserved("ns/rs", "ns/b");
  assert.equal(e.satisfied("ns/rs"), true);
});

Deno.test("Expectations expire after the timeout", () => {
  let now = 0;
  const e = new Expectations({ now: () => now, timeoutMs: 1000 });
  e.expectCreations("k", 1);
  now = 999;
  assert.equal(e.satisfied("k"), false);
  now = 1001;
  assert.equal(e.satisfied("k"), true);
});

Deno.test("Expectations track unnamed deletion counts", () => {
  const e = new Expectations({ now: () => 0 });
  e.expectDeletionCount("k", 2);
  e.deletionObserved("k");
  assert.equal(e.satisfied("k"), false);
  e.deletionObserved("k");
  assert.equal(e.satisfied("k"), true);
});
