import assert from "node:assert/strict";
import { CycleState } from "../types.ts";
import { nodeInfo, nv, pv } from "../testing.ts";
import { balancedAllocation, balancedAllocationScore, balancedResourceScore } from "./balanced_allocation.ts";

Deno.test("balancedResourceScore() is (1 - |f1 - f2| / 2) × 100 for two resources", () => {
  assert.equal(balancedResourceScore([2000, 4 * 2 ** 30], [4000, 8 * 2 ** 30]), 100);
  // fractions 0.25 and 0.75: std 0.25 → 75.
  assert.equal(balancedResourceScore([1000, 6 * 2 ** 30], [4000, 8 * 2 ** 30]), 75);
  // fractions above 1 are capped.
  assert.equal(balancedResourceScore([8000, 0], [4000, 8]), 50);
});

Deno.test("BalancedAllocation prefers the node where cpu and memory end up equally used", () => {
  const pod = pv("p", { cpu: "1", memory: "2Gi" });
  const cpuHeavy = nodeInfo(nv("a", { cpu: "4", memory: "8Gi" }), [pv("x", { cpu: "2" })]);
  const even = nodeInfo(nv("b", { cpu: "4", memory: "8Gi" }), [pv("y", { cpu: "1", memory: "2Gi" })]);
  assert.ok(balancedAllocationScore(pod, even) > balancedAllocationScore(pod, cpuHeavy));
  assert.equal(balancedAllocationScore(pod, even), 100);
});

Deno.test("BalancedAllocation skips pods that request neither cpu nor memory", () => {
  assert.deepEqual(balancedAllocation.preScore(new CycleState(), pv("p"), [], null!), {
    code: "Skip",
    reasons: [],
  });
  assert.equal(balancedAllocation.preScore(new CycleState(), pv("p", { cpu: "1" }), [], null!), null);
});
