import assert from "node:assert/strict";
import { T0 } from "../workload/testing.ts";
import { calculateStatus, pausedConditions, rolloutStatus, stuckRequeueMs } from "./status.ts";
import { deployment, replicaSet } from "./testing.ts";

const cond = (
  s: { conditions?: { type: string; reason?: string; status: string; message?: string }[] },
  type: string,
) => s.conditions?.find((c) => c.type === type);

Deno.test("calculateStatus() sums the ReplicaSets and sets Available from maxUnavailable", () => {
  const d = deployment(4, { surge: 1, unavailable: 1 });
  const newRS = replicaSet("web-new", 2, 1);
  const oldRS = replicaSet("web-old", 3, 3);
  const s = calculateStatus([oldRS, newRS], newRS, d, T0);
  assert.equal(s.replicas, 5);
  assert.equal(s.updatedReplicas, 2);
  assert.equal(s.availableReplicas, 4);
  assert.equal(s.unavailableReplicas, 1);
  assert.equal(s.observedGeneration, 1);
  assert.equal(cond(s, "Available")?.reason, "MinimumReplicasAvailable");
  const low = calculateStatus([replicaSet("web-new", 4, 2)], undefined, d, T0);
  assert.equal(cond(low, "Available")?.status, "False");
  assert.equal(cond(low, "Available")?.reason, "MinimumReplicasUnavailable");
});

Deno.test("rolloutStatus() reports NewReplicaSetAvailable once every replica is updated and available", () => {
  const d = deployment(2, {
    status: {
      conditions: [{
        type: "Progressing",
        status: "True",
        reason: "ReplicaSetUpdated",
        lastUpdateTime: "2025-01-01T00:00:00Z",
      }],
    },
  });
  const newRS = replicaSet("web-new", 2, 2);
  const { status, requeueAfterMs } = rolloutStatus([newRS], newRS, d, T0);
  const p = cond(status, "Progressing")!;
  assert.equal(p.reason, "NewReplicaSetAvailable");
  assert.equal(p.message, 'ReplicaSet "web-new" has successfully progressed.');
  assert.equal(requeueAfterMs, undefined);
});

Deno.test("rolloutStatus() marks progress, and a timeout after progressDeadlineSeconds without progress", () => {
  const base = { replicas: 2, updatedReplicas: 1, availableReplicas: 2, readyReplicas: 2 };
  const since = "2025-01-01T00:00:00Z";
  const d = deployment(2, {
    extra: { progressDeadlineSeconds: 60 },
    status: {
      ...base,
      conditions: [{
        type: "Progressing",
        status: "True",
        reason: "ReplicaSetUpdated",
        lastUpdateTime: since,
        lastTransitionTime: since,
      }],
    },
  });
  const newRS = replicaSet("web-new", 1, 1);
  const oldRS = replicaSet("web-old", 1, 1);
  const progressed = rolloutStatus(
    [oldRS, replicaSet("web-new", 2, 2)],
    replicaSet("web-new", 2, 2),
    d,
    T0 + 10_000,
  );
  assert.equal(cond(progressed.status, "Progressing")?.reason, "ReplicaSetUpdated");
  const stuck = rolloutStatus([oldRS, newRS], newRS, d, T0 + 30_000);
  assert.equal(cond(stuck.status, "Progressing")?.reason, "ReplicaSetUpdated");
  assert.equal(stuck.requeueAfterMs, 31_000);
  const late = rolloutStatus([oldRS, newRS], newRS, d, T0 + 61_000);
  assert.equal(cond(late.status, "Progressing")?.status, "False");
  assert.equal(cond(late.status, "Progressing")?.reason, "ProgressDeadlineExceeded");
});

Deno.test("stuckRequeueMs() is undefined once the deadline has been reported", () => {
  const d = deployment(2, {
    status: {
      conditions: [{
        type: "Progressing",
        status: "False",
        reason: "ProgressDeadlineExceeded",
        lastUpdateTime: "2025-01-01T00:00:00Z",
      }],
    },
  });
  assert.equal(stuckRequeueMs(d, {}, T0), undefined);
});

Deno.test("pausedConditions() records DeploymentPaused and DeploymentResumed once", () => {
  const paused = deployment(1, { extra: { paused: true } });
  const set = pausedConditions(paused, T0);
  assert.equal(set?.[0].reason, "DeploymentPaused");
  assert.equal(set?.[0].status, "Unknown");
  assert.equal(pausedConditions({ ...paused, status: { conditions: set } }, T0), undefined);
  const resumed = pausedConditions({ ...deployment(1), status: { conditions: set } }, T0);
  assert.equal(resumed?.[0].reason, "DeploymentResumed");
});
