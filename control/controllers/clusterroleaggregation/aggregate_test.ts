import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { aggregatedRules, rulesEqual } from "./aggregate.ts";

const role = (name: string, labels: Record<string, string>, rules: unknown[]): KubeObject => ({
  metadata: { name, labels },
  rules,
});

Deno.test("aggregatedRules() gathers the rules of matching roles sorted by name, each rule once", () => {
  const edit: KubeObject = {
    metadata: { name: "edit" },
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: { "aggregate-to-edit": "true" } }] },
    rules: [],
  };
  const r1 = { verbs: ["get"], apiGroups: [""], resources: ["pods"] };
  const r2 = { verbs: ["create"], apiGroups: ["example.com"], resources: ["widgets"] };
  const all = [
    edit,
    role("z-widgets", { "aggregate-to-edit": "true" }, [r2, { ...r1, resourceNames: [] }]),
    role("a-pods", { "aggregate-to-edit": "true" }, [r1]),
    role("other", {}, [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }]),
  ];
  const rules = aggregatedRules(edit, all)!;
  assert.deepEqual(rules, [r1, r2]);
  assert.equal(rulesEqual(edit, rules), false);
  assert.equal(rulesEqual({ ...edit, rules }, rules), true);
  assert.equal(aggregatedRules(role("plain", {}, []), all), null);
});
