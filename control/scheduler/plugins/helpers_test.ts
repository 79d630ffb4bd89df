import assert from "node:assert/strict";
import { nv } from "../testing.ts";
import { defaultNormalizeScore, termMatches, toleratesTaint, untoleratedTaint } from "./helpers.ts";

Deno.test("toleratesTaint() follows upstream: empty key with Exists matches every taint, effects must agree", () => {
  const taint = { key: "k", value: "v", effect: "NoSchedule" as const };
  assert.ok(toleratesTaint({ key: "", operator: "Exists", value: "", effect: "" }, taint));
  assert.ok(!toleratesTaint({ key: "k", operator: "Exists", value: "", effect: "NoExecute" }, taint));
  assert.ok(!toleratesTaint({ key: "k", operator: "Bogus", value: "v", effect: "" }, taint));
});

Deno.test("untoleratedTaint() skips PreferNoSchedule and returns the first untolerated taint", () => {
  const taints = [
    { key: "soft", value: "", effect: "PreferNoSchedule" as const },
    { key: "a", value: "1", effect: "NoExecute" as const },
    { key: "b", value: "2", effect: "NoSchedule" as const },
  ];
  assert.equal(untoleratedTaint(taints, [])?.key, "a");
  assert.equal(untoleratedTaint(taints, [{ key: "a", operator: "Exists", value: "", effect: "" }])?.key, "b");
});

Deno.test("termMatches() matches metadata.name fields and rejects an empty term", () => {
  const node = nv("n1");
  assert.ok(
    termMatches({
      matchExpressions: [],
      matchFields: [{ key: "metadata.name", operator: "In", values: ["n1"] }],
    }, node),
  );
  assert.ok(
    !termMatches({
      matchExpressions: [],
      matchFields: [{ key: "metadata.name", operator: "NotIn", values: ["n1"] }],
    }, node),
  );
  assert.ok(
    !termMatches({
      matchExpressions: [],
      matchFields: [{ key: "metadata.uid", operator: "Exists", values: [] }],
    }, node),
  );
  assert.ok(!termMatches({ matchExpressions: [], matchFields: [] }, node));
});

Deno.test("defaultNormalizeScore() scales to 100 and reverses when asked", () => {
  const s = [1, 2, 4];
  defaultNormalizeScore(s, false);
  assert.deepEqual(s, [25, 50, 100]);
  const r = [1, 2, 4];
  defaultNormalizeScore(r, true);
  assert.deepEqual(r, [75, 50, 0]);
  const z = [0, 0];
  defaultNormalizeScore(z, true);
  assert.deepEqual(z, [100, 100]);
});
