import assert from "node:assert/strict";
import { pod, T0 } from "../workload/testing.ts";
import { availabilityRequeueMs, planReplicas, replicaSetStatus, statusChanged } from "./plan.ts";

const rs = (replicas: number, extra: Record<string, unknown> = {}) => ({
  metadata: { name: "web-1", namespace: "default", uid: "rs-uid", generation: 2 },
  spec: {
    replicas,
    selector: { matchLabels: { app: "web" } },
    template: { metadata: { labels: { app: "web", tier: "fe" } } },
    ...extra,
  },
});

Deno.test("planReplicas() creates the missing pods, capped at the burst", () => {
  assert.deepEqual(planReplicas(rs(3), [pod("a")], [], T0), { create: 2, delete: [] });
  assert.equal(planReplicas(rs(1000), [], [], T0).create, 500);
  assert.equal(planReplicas(rs(10), [], [], T0, 4).create, 4);
});

Deno.test("planReplicas() deletes the lowest-ranked extra pods", () => {
  const ready = pod("ready", { node: "n", readySince: T0 });
  const pending = pod("pending", { node: "n" });
  const unscheduled = pod("unscheduled");
  const plan = planReplicas(rs(1), [ready, pending, unscheduled], [], T0 + 1000);
  assert.equal(plan.create, 0);
  assert.deepEqual(plan.delete.map((p) => p.metadata.name), ["unscheduled", "pending"]);
});

Deno.test("planReplicas() does nothing when the count is right", () => {
  assert.deepEqual(planReplicas(rs(2), [pod("a"), pod("b")], [], T0), { create: 0, delete: [] });
});

Deno.test("replicaSetStatus() counts fully labeled, ready and available pods", () => {
  const pods = [
    pod("a", { labels: { app: "web", tier: "fe" }, readySince: T0 - 20_000 }),
    pod("b", { labels: { app: "web" }, readySince: T0 - 1000 }),
    pod("c", { labels: { app: "web", tier: "fe" } }),
  ];
  const s = replicaSetStatus(rs(3, { minReadySeconds: 10 }), pods, undefined, T0);
  assert.deepEqual(s, {
    replicas: 3,
    fullyLabeledReplicas: 2,
    readyReplicas: 2,
    availableReplicas: 1,
    observedGeneration: 2,
  });
});

Deno.test("replicaSetStatus() sets ReplicaFailure on a failed create and clears it after", () => {
  const failed = replicaSetStatus(rs(2), [], 'pods "x" is forbidden: exceeded quota', T0);
  assert.equal(failed.conditions?.[0].type, "ReplicaFailure");
  assert.equal(failed.conditions?.[0].reason, "FailedCreate");
  const cleared = replicaSetStatus({ ...rs(2), status: failed }, [pod("a"), pod("b")], undefined, T0);
  assert.equal(cleared.conditions, undefined);
});

Deno.test("statusChanged() notices a new observed generation", () => {
  const current = {
    ...rs(1),
    status: {
      replicas: 1,
      fullyLabeledReplicas: 1,
      readyReplicas: 0,
      availableReplicas: 0,
      observedGeneration: 1,
    },
  };
  assert.equal(
    statusChanged(current, {
      replicas: 1,
      fullyLabeledReplicas: 1,
      readyReplicas: 0,
      availableReplicas: 0,
      observedGeneration: 1,
    }),
    false,
  );
  assert.equal(
    statusChanged(current, {
      replicas: 1,
      fullyLabeledReplicas: 1,
      readyReplicas: 0,
      availableReplicas: 0,
      observedGeneration: 2,
    }),
    true,
  );
});

Deno.test("availabilityRequeueMs() waits minReadySeconds when all pods are ready but not yet available", () => {
  const r = rs(2, { minReadySeconds: 5 });
  assert.equal(availabilityRequeueMs(r, { replicas: 2, readyReplicas: 2, availableReplicas: 0 }), 5000);
  assert.equal(availabilityRequeueMs(r, { replicas: 2, readyReplicas: 2, availableReplicas: 2 }), undefined);
  assert.equal(
    availabilityRequeueMs(rs(2), { replicas: 2, readyReplicas: 2, availableReplicas: 0 }),
    undefined,
  );
});
