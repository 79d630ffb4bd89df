import assert from "node:assert/strict";
import { T0 } from "../workload/testing.ts";
import { completeRollingUpdate, planStatefulSet, type SetPlan } from "./plan.ts";
import { member, revs, statefulSet } from "./testing.ts";

const steps = (plan: SetPlan) =>
  [...plan.replicas.flat(), ...plan.condemned, ...plan.update].map((s) => `${s.kind}:${s.pod.metadata.name}`);

Deno.test("OrderedReady creates only the first missing pod", () => {
  const set = statefulSet(3);
  assert.deepEqual(steps(planStatefulSet(set, [], revs(set), T0)), ["create:web-0"]);
  assert.deepEqual(steps(planStatefulSet(set, [member(0)], revs(set), T0)), ["create:web-1"]);
});

Deno.test("OrderedReady waits for the previous pod to be Running and Ready", () => {
  const set = statefulSet(3);
  const plan = planStatefulSet(set, [member(0, { ready: false })], revs(set), T0);
  assert.deepEqual(steps(plan), ["claims:web-0"]);
  assert.equal(plan.status.replicas, 1);
  assert.equal(plan.status.readyReplicas, 0);
});

Deno.test("Parallel creates every missing pod at once", () => {
  const set = statefulSet(3, { policy: "Parallel" });
  assert.deepEqual(steps(planStatefulSet(set, [member(0, { ready: false })], revs(set), T0)), [
    "claims:web-0",
    "create:web-1",
    "create:web-2",
  ]);
});

Deno.test("scale-down deletes the highest ordinal first, one at a time", () => {
  const set = statefulSet(1);
  const pods = [member(0), member(1), member(2)];
  assert.deepEqual(steps(planStatefulSet(set, pods, revs(set), T0)), ["delete:web-2"]);
  assert.deepEqual(
    steps(planStatefulSet(set, [member(0), member(1), member(2, { deleting: true })], revs(set), T0)),
    [],
  );
  const parallel = statefulSet(1, { policy: "Parallel" });
  assert.deepEqual(steps(planStatefulSet(parallel, pods, revs(parallel), T0)), [
    "delete:web-2",
    "delete:web-1",
  ]);
});

Deno.test("a failed pod is deleted and recreated", () => {
  const set = statefulSet(2);
  assert.deepEqual(
    steps(planStatefulSet(set, [member(0, { phase: "Failed", ready: false }), member(1)], revs(set), T0)),
    [
      "recreate:web-0",
      "create:web-0",
    ],
  );
});

Deno.test("rolling update deletes the highest out-of-date ordinal at or above the partition", () => {
  const set = statefulSet(3, { partition: 1 });
  const pods = [member(0), member(1), member(2)];
  const plan = planStatefulSet(set, pods, revs(set, "web-r1", "web-r2"), T0);
  assert.deepEqual(steps(plan), ["delete:web-2"]);
  assert.equal(plan.status.currentReplicas, 2);
  assert.equal(plan.status.updatedReplicas, 0);
  const next = planStatefulSet(
    set,
    [member(0), member(1), member(2, { revision: "web-r2" })],
    revs(set, "web-r1", "web-r2"),
    T0,
  );
  assert.deepEqual(steps(next), ["delete:web-1"]);
  const done = planStatefulSet(
    set,
    [member(0), member(1, { revision: "web-r2" }), member(2, { revision: "web-r2" })],
    revs(set, "web-r1", "web-r2"),
    T0,
  );
  assert.deepEqual(steps(done), []);
  // a recreated pod below the partition keeps the current revision
  const recreated = planStatefulSet(
    set,
    [member(1, { revision: "web-r2" }), member(2, { revision: "web-r2" })],
    revs(set, "web-r1", "web-r2"),
    T0,
  );
  assert.equal(recreated.replicas[0][0].pod.metadata.labels?.["controller-revision-hash"], "web-r1");
});

Deno.test("rolling update waits while any replica is unhealthy", () => {
  const set = statefulSet(2, { policy: "Parallel" });
  const plan = planStatefulSet(
    set,
    [member(0, { ready: false }), member(1)],
    revs(set, "web-r1", "web-r2"),
    T0,
  );
  assert.deepEqual(plan.update, []);
});

Deno.test("completeRollingUpdate() makes the update revision current once all pods run it", () => {
  const set = statefulSet(2);
  const plan = planStatefulSet(
    set,
    [member(0, { revision: "web-r2" }), member(1, { revision: "web-r2" })],
    revs(set, "web-r1", "web-r2"),
    T0,
  );
  const status = completeRollingUpdate(set, plan.status);
  assert.equal(status.currentRevision, "web-r2");
  assert.equal(status.currentReplicas, 2);
  assert.equal(status.observedGeneration, 2);
});
