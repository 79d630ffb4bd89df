import assert from "node:assert/strict";
import { ApiError } from "./status.ts";
import {
  formatLabelSelector,
  fromLabelSelectorObject,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from "./selector.ts";

Deno.test("parseLabelSelector() reads every operator of the query syntax", () => {
  const s = parseLabelSelector("app=web,tier==front,env!=prod,zone in (a, b),size notin (xl),canary,!legacy");
  assert.deepEqual(s.map((r) => [r.key, r.operator, r.values]), [
    ["app", "=", ["web"]],
    ["tier", "=", ["front"]],
    ["env", "!=", ["prod"]],
    ["zone", "in", ["a", "b"]],
    ["size", "notin", ["xl"]],
    ["canary", "exists", []],
    ["legacy", "!exists", []],
  ]);
  assert.equal(formatLabelSelector(s), "app=web,tier=front,env!=prod,zone in (a,b),size notin (xl),canary,!legacy");
});

Deno.test("matchesLabels() applies each requirement as upstream does", () => {
  const labels = { app: "web", zone: "a", canary: "" };
  assert.ok(matchesLabels(parseLabelSelector("app=web,zone in (a,b),canary"), labels));
  assert.ok(!matchesLabels(parseLabelSelector("app!=web"), labels));
  // notin and != also match objects without the key, as upstream.
  assert.ok(matchesLabels(parseLabelSelector("size notin (xl),env!=prod"), labels));
  assert.ok(!matchesLabels(parseLabelSelector("!canary"), labels));
  assert.ok(!matchesLabels(parseLabelSelector("size in (xl)"), labels));
  assert.ok(matchesLabels([], undefined));
});

Deno.test("parseLabelSelector() rejects malformed selectors with a 400 naming the problem", () => {
  for (const bad of ["a in (", "-bad-=x", "a=b=c", "a in ()", "k=" + "v".repeat(64), ","]) {
    assert.throws(() => parseLabelSelector(bad), (e) => e instanceof ApiError && e.code === 400 && /unable to parse requirement/.test(e.message), bad);
  }
});

Deno.test("fromLabelSelectorObject() turns matchLabels and matchExpressions into requirements; null matches nothing", () => {
  const s = fromLabelSelectorObject({
    matchLabels: { app: "web" },
    matchExpressions: [{ key: "tier", operator: "In", values: ["a"] }, { key: "old", operator: "DoesNotExist" }],
  })!;
  assert.ok(matchesLabels(s, { app: "web", tier: "a" }));
  assert.ok(!matchesLabels(s, { app: "web", tier: "a", old: "1" }));
  assert.equal(fromLabelSelectorObject(null), null);
  assert.deepEqual(fromLabelSelectorObject({}), []);
  assert.throws(() => fromLabelSelectorObject({ matchExpressions: [{ key: "a", operator: "Near" }] }), ApiError);
});

Deno.test("parseFieldSelector() reads =, == and != with escapes, and matchesFields() treats absent fields as empty", () => {
  const s = parseFieldSelector("spec.nodeName=n1,status.phase!=Failed,metadata.name==a\\,b");
  assert.deepEqual(s, [
    { field: "spec.nodeName", operator: "=", value: "n1" },
    { field: "status.phase", operator: "!=", value: "Failed" },
    { field: "metadata.name", operator: "=", value: "a,b" },
  ]);
  assert.ok(matchesFields(s, { "spec.nodeName": "n1", "status.phase": "Running", "metadata.name": "a,b" }));
  assert.ok(!matchesFields(s, { "spec.nodeName": "n2", "metadata.name": "a,b" }));
  assert.ok(matchesFields(parseFieldSelector("spec.nodeName="), {}));
  assert.throws(() => parseFieldSelector("garbage"), (e) => e instanceof ApiError && e.code === 400);
});
