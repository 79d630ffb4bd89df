import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { rvAtLeast, SliceTracker } from "./slice_tracker.ts";

const slice = (name: string, rv: string): KubeObject => ({ metadata: { name, resourceVersion: rv } });

Deno.test("rvAtLeast() compares decimal resourceVersions numerically", () => {
  assert.ok(rvAtLeast("100", "99"));
  assert.ok(!rvAtLeast("99", "100"));
  assert.ok(!rvAtLeast(undefined, "1"));
});

Deno.test("SliceTracker calls the cache stale until it shows what was written and deleted", () => {
  const t = new SliceTracker();
  const cache = new Map<string, KubeObject>([["old", slice("old", "5")]]);
  const lookup = (n: string) => cache.get(n);
  t.written("ns/web", slice("new", "10"));
  t.deleted("ns/web", slice("old", "5"));
  assert.ok(t.stale("ns/web", lookup));
  cache.set("new", slice("new", "9"));
  assert.ok(t.stale("ns/web", lookup), "an older version of the new slice");
  cache.set("new", slice("new", "10"));
  assert.ok(t.stale("ns/web", lookup), "the deleted slice is still cached");
  cache.delete("old");
  assert.ok(!t.stale("ns/web", lookup));
  assert.ok(!t.stale("ns/other", lookup));
});

Deno.test("SliceTracker.observed() clears expectations the informer has caught up with", () => {
  const t = new SliceTracker();
  t.written("ns/web", slice("a", "3"));
  t.observed("ns/web", "a", slice("a", "3"));
  assert.ok(!t.stale("ns/web", () => undefined));
});
