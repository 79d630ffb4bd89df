import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { budgetStatus, scaled } from "./budget.ts";

const NOW = Date.parse("2024-06-01T12:00:00Z");

function pod(name: string, ready: boolean, extra: Partial<KubeObject["metadata"]> = {}): KubeObject {
  return {
    metadata: { name, namespace: "default", labels: { app: "web" }, ...extra },
    status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  };
}

const pdb = (spec: Record<string, unknown>, status: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name: "web", namespace: "default", generation: 2 },
  spec: { selector: { matchLabels: { app: "web" } }, ...spec },
  status,
});

const deployment = () => ({ key: "Deployment/web", replicas: 3 });

Deno.test("budgetStatus() follows minAvailable as a number over the matching pods", () => {
  const pods = [pod("a", true), pod("b", true), pod("c", false)];
  const s = budgetStatus(pdb({ minAvailable: 1 }), { pods, scaleOf: deployment, now: NOW });
  assert.equal(s.expectedPods, 3);
  assert.equal(s.desiredHealthy, 1);
  assert.equal(s.currentHealthy, 2);
  assert.equal(s.disruptionsAllowed, 1);
  assert.equal(s.observedGeneration, 2);
  assert.deepEqual((s.conditions as Record<string, unknown>[])[0].reason, "SufficientPods");
});

Deno.test("budgetStatus() takes maxUnavailable and percentages against the controllers' scale", () => {
  const pods = [pod("a", true), pod("b", true)];
  const max = budgetStatus(pdb({ maxUnavailable: 1 }), { pods, scaleOf: deployment, now: NOW });
  assert.deepEqual([max.expectedPods, max.desiredHealthy, max.disruptionsAllowed], [3, 2, 0]);
  assert.equal((max.conditions as Record<string, unknown>[])[0].reason, "InsufficientPods");
  const pct = budgetStatus(pdb({ minAvailable: "50%" }), { pods, scaleOf: deployment, now: NOW });
  assert.deepEqual([pct.expectedPods, pct.desiredHealthy, pct.disruptionsAllowed], [3, 2, 0]);
  assert.equal(scaled("34%", 3), 2, "rounded up");
  // No controller: nothing expected, so nothing may be disrupted.
  const none = budgetStatus(pdb({ maxUnavailable: 1 }), { pods, scaleOf: () => undefined, now: NOW });
  assert.deepEqual([none.expectedPods, none.disruptionsAllowed], [0, 0]);
});

Deno.test("budgetStatus() does not count evicted pods, and forgets evictions that are done or old", () => {
  const deleting = pod("gone", true, { deletionTimestamp: "2024-06-01T11:59:59Z" });
  const pods = [pod("a", true), pod("b", true), deleting];
  const disruptedPods = {
    a: "2024-06-01T11:59:30Z",
    gone: "2024-06-01T11:59:30Z",
    old: "2024-06-01T11:50:00Z",
    b: "2024-06-01T11:57:00Z",
  };
  const inputs = { pods, scaleOf: deployment, now: NOW };
  const s = budgetStatus(pdb({ minAvailable: 0 }, { disruptedPods }), inputs);
  assert.deepEqual(s.disruptedPods, { a: "2024-06-01T11:59:30Z" });
  assert.equal(s.currentHealthy, 1);
});
