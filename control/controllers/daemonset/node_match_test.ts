import assert from "node:assert/strict";
import { requiredAffinityMatches, toleratesTaint, untoleratedTaint } from "./node_match.ts";

const node = { metadata: { name: "n1", labels: { zone: "a", cores: "8" } } };

Deno.test("requiredAffinityMatches() checks nodeSelector and every expression of some term", () => {
  assert.equal(requiredAffinityMatches({ nodeSelector: { zone: "a" } }, node), true);
  assert.equal(requiredAffinityMatches({ nodeSelector: { zone: "b" } }, node), false);
  const affinity = (terms: unknown[]) => ({
    affinity: {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
    },
  });
  assert.equal(
    requiredAffinityMatches(
      affinity([{ matchExpressions: [{ key: "cores", operator: "Gt", values: ["4"] }] }]),
      node,
    ),
    true,
  );
  assert.equal(
    requiredAffinityMatches(
      affinity([{ matchExpressions: [{ key: "cores", operator: "Lt", values: ["4"] }] }]),
      node,
    ),
    false,
  );
  assert.equal(
    requiredAffinityMatches(
      affinity([{ matchExpressions: [{ key: "gpu", operator: "DoesNotExist" }] }]),
      node,
    ),
    true,
  );
  assert.equal(
    requiredAffinityMatches(
      affinity([{ matchFields: [{ key: "metadata.name", operator: "In", values: ["n2"] }] }, {
        matchExpressions: [{ key: "zone", operator: "In", values: ["a", "b"] }],
      }]),
      node,
    ),
    true,
  );
  assert.equal(
    requiredAffinityMatches(
      affinity([{ matchFields: [{ key: "metadata.name", operator: "In", values: ["n2"] }] }]),
      node,
    ),
    false,
  );
  assert.equal(requiredAffinityMatches(affinity([{}]), node), false);
});

Deno.test("toleratesTaint() follows key, operator, value and effect", () => {
  const taint = { key: "dedicated", value: "gpu", effect: "NoSchedule" };
  assert.equal(
    toleratesTaint({ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }, taint),
    true,
  );
  assert.equal(toleratesTaint({ key: "dedicated", operator: "Equal", value: "cpu" }, taint), false);
  assert.equal(toleratesTaint({ key: "dedicated", operator: "Exists" }, taint), true);
  assert.equal(toleratesTaint({ operator: "Exists" }, taint), true);
  assert.equal(toleratesTaint({ key: "dedicated", operator: "Exists", effect: "NoExecute" }, taint), false);
});

Deno.test("untoleratedTaint() only looks at taints the filter selects", () => {
  const taints = [{ key: "a", effect: "PreferNoSchedule" }, { key: "b", effect: "NoSchedule" }];
  assert.equal(untoleratedTaint(taints, [], (t) => t.effect === "NoExecute"), undefined);
  assert.equal(untoleratedTaint(taints, [], (t) => t.effect !== "PreferNoSchedule")?.key, "b");
});
