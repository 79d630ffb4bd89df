import assert from "node:assert/strict";
import { decideEviction, disruptionCondition } from "./taint_eviction.ts";
import { TAINT_UNREACHABLE } from "./taints.ts";

const unreachable = [{ key: TAINT_UNREACHABLE, effect: "NoExecute" }];

Deno.test("decideEviction() evicts at once a pod that does not tolerate a NoExecute taint", () => {
  assert.deepEqual(decideEviction([], unreachable, undefined, 0), { action: "evict" });
});

Deno.test("decideEviction() waits tolerationSeconds from when the eviction was first scheduled", () => {
  const t = [{ key: TAINT_UNREACHABLE, operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 }];
  assert.deepEqual(decideEviction(t, unreachable, undefined, 1_000), {
    action: "wait",
    startMs: 1_000,
    untilMs: 31_000,
  });
  assert.deepEqual(decideEviction(t, unreachable, 1_000, 20_000), {
    action: "wait",
    startMs: 1_000,
    untilMs: 31_000,
  });
  assert.deepEqual(decideEviction(t, unreachable, 1_000, 31_000), { action: "evict" });
});

Deno.test("decideEviction() cancels when the taints are gone or tolerated forever", () => {
  assert.deepEqual(decideEviction([], [], 5, 10), { action: "cancel" });
  assert.deepEqual(decideEviction([{ operator: "Exists" }], unreachable, 5, 10), { action: "cancel" });
});

Deno.test("disruptionCondition() adds DisruptionTarget with reason DeletionByTaintManager once", () => {
  const pod = { metadata: { name: "p" }, status: { conditions: [{ type: "Ready", status: "True" }] } };
  const c = disruptionCondition(pod, "NOW")!;
  assert.deepEqual(c[1], {
    type: "DisruptionTarget",
    status: "True",
    reason: "DeletionByTaintManager",
    message: "Taint manager: deleting due to NoExecute taint",
    lastProbeTime: null,
    lastTransitionTime: "NOW",
  });
  assert.equal(disruptionCondition({ ...pod, status: { conditions: c } }, "LATER"), null);
});
