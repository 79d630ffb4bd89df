import assert from "node:assert/strict";
import { pod, ref, T0 } from "../workload/testing.ts";
import {
  isScalingEvent,
  oldPodsRunning,
  planCleanup,
  planNewReplicaSet,
  planOldReplicaSets,
  planRecreateScaleDown,
  planScale,
} from "./plan.ts";
import { deployment, replicaSet } from "./testing.ts";

const sizes = (steps: { rs: { metadata: { name?: string } }; replicas: number }[]) =>
  steps.map((s) => `${s.rs.metadata.name}=${s.replicas}`);

Deno.test("a rolling update scales old down by the availability budget, then new up by the surge", () => {
  // upstream's worked example: 10 replicas, maxUnavailable 2, maxSurge 3
  const d = deployment(10, { surge: 3, unavailable: 2 });
  const newRS = replicaSet("web-new", 3, 0, { created: T0 + 1 });
  const oldRS = replicaSet("web-old", 10, 10);
  assert.equal(planNewReplicaSet(d, [oldRS, newRS], newRS), undefined); // 13 pods already: no room
  assert.deepEqual(sizes(planOldReplicaSets(d, [oldRS, newRS], [oldRS], newRS)), ["web-old=8"]);
  const scaledOld = replicaSet("web-old", 8, 8);
  assert.equal(planNewReplicaSet(d, [scaledOld, newRS], newRS), 5);
});

Deno.test("planOldReplicaSets() removes unhealthy old replicas first without costing availability", () => {
  const d = deployment(10, { surge: 3, unavailable: 2 });
  const newRS = replicaSet("web-new", 5, 0, { created: T0 + 2 });
  const oldest = replicaSet("web-a", 4, 2, { created: T0 });
  const older = replicaSet("web-b", 4, 4, { created: T0 + 1 });
  const steps = planOldReplicaSets(d, [oldest, older, newRS], [oldest, older], newRS);
  // maxScaledDown = 13 - 8 - 5 = 0: nothing may go while the new pods are unavailable
  assert.deepEqual(steps, []);
  const readyNew = replicaSet("web-new", 5, 5, { created: T0 + 2 });
  const steps2 = planOldReplicaSets(d, [oldest, older, readyNew], [oldest, older], readyNew);
  // cleanup: web-a has 2 unhealthy; then availability 2 + 4 + 5 = 11 > 8 allows 3 more, oldest first
  assert.deepEqual(sizes(steps2), ["web-a=2", "web-a=0", "web-b=3"]);
});

Deno.test("planNewReplicaSet() scales a too-large new ReplicaSet down to replicas", () => {
  const d = deployment(3);
  assert.equal(planNewReplicaSet(d, [replicaSet("web-new", 5, 5)], replicaSet("web-new", 5, 5)), 3);
  assert.equal(planNewReplicaSet(d, [replicaSet("web-new", 3, 3)], replicaSet("web-new", 3, 3)), undefined);
});

Deno.test("planScale() resizes the only active ReplicaSet", () => {
  const d = deployment(5);
  const rs = replicaSet("web-new", 3, 3);
  assert.deepEqual(sizes(planScale(d, rs, [replicaSet("web-old", 0, 0)])), ["web-new=5"]);
});

Deno.test("planScale() spreads a scale-up proportionally over active ReplicaSets", () => {
  const d = deployment(20, { surge: 3, unavailable: 2 });
  const max = {
    "deployment.kubernetes.io/max-replicas": "13",
    "deployment.kubernetes.io/desired-replicas": "10",
  };
  const newRS = replicaSet("web-new", 5, 0, { created: T0 + 1, annotations: max });
  const oldRS = replicaSet("web-old", 8, 8, { annotations: max });
  const steps = planScale(d, newRS, [oldRS]);
  assert.deepEqual(sizes(steps), ["web-old=14", "web-new=9"]);
  assert.ok(steps.every((s) => s.operation === "up"));
});

Deno.test("planScale() drains old ReplicaSets once the new one is saturated", () => {
  const d = deployment(3);
  const newRS = replicaSet("web-new", 3, 3, {
    annotations: { "deployment.kubernetes.io/desired-replicas": "3" },
  });
  assert.deepEqual(sizes(planScale(d, newRS, [replicaSet("web-old", 1, 1)])), ["web-old=0"]);
});

Deno.test("isScalingEvent() compares desired-replicas annotations of active ReplicaSets", () => {
  const rs = replicaSet("web-new", 3, 3, {
    annotations: { "deployment.kubernetes.io/desired-replicas": "3" },
  });
  assert.equal(isScalingEvent(deployment(3), rs, []), false);
  assert.equal(isScalingEvent(deployment(5), rs, []), true);
});

Deno.test("Recreate scales every old ReplicaSet to zero and waits for their pods", () => {
  const old = replicaSet("web-old", 2, 2);
  assert.deepEqual(sizes(planRecreateScaleDown([old, replicaSet("web-older", 0, 0)])), ["web-old=0"]);
  const drained = replicaSet("web-old", 0, 0, { statusReplicas: 0 });
  const running = new Map([["uid-web-old", [
    pod("p", { owner: ref("ReplicaSet", "web-old", "uid-web-old"), phase: "Running" }),
  ]]]);
  assert.equal(oldPodsRunning(undefined, [drained], running), true);
  const done = new Map([["uid-web-old", [pod("p", { phase: "Succeeded" })]]]);
  assert.equal(oldPodsRunning(undefined, [drained], done), false);
  assert.equal(
    oldPodsRunning(undefined, [replicaSet("web-old", 0, 0, { statusReplicas: 1 })], new Map()),
    true,
  );
});

Deno.test("planCleanup() deletes the oldest drained revisions beyond revisionHistoryLimit", () => {
  const d = deployment(1, { extra: { revisionHistoryLimit: 1 } });
  const r1 = replicaSet("web-1", 0, 0, { revision: 1 });
  const r2 = replicaSet("web-2", 0, 0, { revision: 2 });
  const r3 = replicaSet("web-3", 1, 1, { revision: 3 });
  assert.deepEqual(planCleanup(d, [r3, r2, r1]).map((r) => r.metadata.name), ["web-1", "web-2"]);
  // a revision that still has replicas is kept even when over the limit
  assert.deepEqual(planCleanup(deployment(1, { extra: { revisionHistoryLimit: 0 } }), [r3]).length, 0);
});
