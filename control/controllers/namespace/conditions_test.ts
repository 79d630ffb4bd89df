import assert from "node:assert/strict";
import {
  CONDITION_TYPES,
  estimatePodTermination,
  failureConditions,
  updateConditions,
} from "./conditions.ts";

const NOW = "2026-01-01T00:00:00Z";
const LATER = "2026-01-01T00:01:00Z";

Deno.test("updateConditions() records every condition type in its ok variant after a clean pass", () => {
  const { conditions, changed } = updateConditions(
    undefined,
    failureConditions({ contentErrors: [], remaining: new Map(), finalizers: new Map() }, NOW),
    NOW,
  );
  assert.ok(changed);
  assert.deepEqual(conditions.map((c) => c.type), [...CONDITION_TYPES]);
  assert.ok(conditions.every((c) => c.status === "False"));
  assert.deepEqual(conditions.find((c) => c.type === "NamespaceContentRemaining"), {
    type: "NamespaceContentRemaining",
    status: "False",
    lastTransitionTime: NOW,
    reason: "ContentRemoved",
    message: "All content successfully removed",
  });
});

Deno.test("failureConditions() reports remaining content and finalizers with upstream's messages", () => {
  const report = {
    contentErrors: [],
    remaining: new Map([["pods.", 2], ["deployments.apps", 1], ["configmaps.", 0]]),
    finalizers: new Map([["example.com/keep", 1]]),
  };
  const c = failureConditions(report, NOW);
  assert.deepEqual(c.map((x) => [x.type, x.reason, x.message]), [
    [
      "NamespaceContentRemaining",
      "SomeResourcesRemain",
      "Some resources are remaining: deployments.apps has 1 resource instances, pods. has 2 resource instances",
    ],
    [
      "NamespaceFinalizersRemaining",
      "SomeFinalizerRemain",
      "Some finalizers are remaining: example.com/keep in 1 resource instances",
    ],
  ]);
});

Deno.test("failureConditions() reports content and discovery failures", () => {
  const c = failureConditions({
    discoveryError: "boom",
    contentErrors: ["b failed", "a failed"],
    remaining: new Map(),
    finalizers: new Map(),
  }, NOW);
  assert.equal(c[0].reason, "DiscoveryFailed");
  assert.equal(c[1].message, "Failed to delete all resource types, 2 remaining: a failed, b failed");
});

Deno.test("updateConditions() changes lastTransitionTime only when the status flips", () => {
  const first = updateConditions(undefined, [], NOW).conditions;
  const remain = failureConditions({
    contentErrors: [],
    remaining: new Map([["pods.", 1]]),
    finalizers: new Map(),
  }, LATER);
  const second = updateConditions(first, remain, LATER);
  assert.ok(second.changed);
  assert.equal(
    second.conditions.find((c) => c.type === "NamespaceContentRemaining")!.lastTransitionTime,
    LATER,
  );
  assert.equal(
    second.conditions.find((c) => c.type === "NamespaceDeletionDiscoveryFailure")!.lastTransitionTime,
    NOW,
  );
  assert.equal(updateConditions(second.conditions, remain, LATER).changed, false);
});

Deno.test("estimatePodTermination() waits the longest grace period of live pods, until it has passed", () => {
  const pods = [
    { spec: { terminationGracePeriodSeconds: 30 }, status: { phase: "Running" } },
    { spec: { terminationGracePeriodSeconds: 90 }, status: { phase: "Succeeded" } },
  ];
  assert.equal(estimatePodTermination(pods, 0, 10_000), 30);
  assert.equal(estimatePodTermination(pods, 0, 30_000), 0);
  assert.equal(estimatePodTermination([], 0, 0), 0);
});
