import assert from "node:assert/strict";
import { deployment, replicaSet } from "./testing.ts";
import {
  deploymentComplete,
  deploymentTimedOut,
  equalIgnoreHash,
  findNewReplicaSet,
  findOldReplicaSets,
  isSaturated,
  maxSurge,
  maxUnavailable,
  newRSNewReplicas,
  resolveFenceposts,
} from "./util.ts";
import { T0 } from "../workload/testing.ts";

Deno.test("resolveFenceposts() rounds surge up and unavailable down, as upstream's examples", () => {
  assert.deepEqual(resolveFenceposts(deployment(2, { surge: "0%", unavailable: "1%" })), {
    maxSurge: 0,
    maxUnavailable: 1,
  });
  assert.deepEqual(resolveFenceposts(deployment(2, { surge: "1%", unavailable: "25%" })), {
    maxSurge: 1,
    maxUnavailable: 0,
  });
  assert.deepEqual(resolveFenceposts(deployment(10, { surge: "25%", unavailable: "25%" })), {
    maxSurge: 3,
    maxUnavailable: 2,
  });
  assert.deepEqual(resolveFenceposts(deployment(4, { surge: 0, unavailable: 0 })), {
    maxSurge: 0,
    maxUnavailable: 1,
  });
});

Deno.test("maxUnavailable() is 0 for Recreate and never more than replicas", () => {
  assert.equal(maxUnavailable(deployment(3, { extra: { strategy: { type: "Recreate" } } })), 0);
  assert.equal(maxUnavailable(deployment(2, { unavailable: 5 })), 2);
  assert.equal(maxSurge(deployment(3, { extra: { strategy: { type: "Recreate" } } })), 0);
});

Deno.test("newRSNewReplicas() grows the new ReplicaSet up to replicas + maxSurge in total", () => {
  const d = deployment(10, { surge: 3, unavailable: 2 });
  const newRS = replicaSet("web-new", 3, 0);
  const oldRS = replicaSet("web-old", 8, 8);
  assert.equal(newRSNewReplicas(d, [oldRS, newRS], newRS), 5);
  assert.equal(newRSNewReplicas(d, [replicaSet("web-old", 10, 10), newRS], newRS), 3);
  const recreate = deployment(4, { extra: { strategy: { type: "Recreate" } } });
  assert.equal(newRSNewReplicas(recreate, [newRS], newRS), 4);
});

Deno.test("findNewReplicaSet() matches templates ignoring the pod-template-hash label", () => {
  const d = deployment(1);
  const rs = replicaSet("web-abc", 1, 1);
  rs.spec.template.metadata.labels["pod-template-hash"] = "abc";
  const old = replicaSet("web-old", 1, 1, { image: "nginx:0" });
  assert.equal(findNewReplicaSet(d, [old, rs])?.metadata.name, "web-abc");
  assert.deepEqual(findOldReplicaSets(d, [old, rs]).all.map((r) => r.metadata.name), ["web-old"]);
  assert.equal(equalIgnoreHash(d.spec.template, old.spec.template), false);
});

Deno.test("isSaturated() needs size, desired-replicas annotation and availability to agree", () => {
  const d = deployment(3);
  const rs = replicaSet("web-new", 3, 3, {
    annotations: { "deployment.kubernetes.io/desired-replicas": "3" },
  });
  assert.equal(isSaturated(d, rs), true);
  assert.equal(
    isSaturated(
      d,
      replicaSet("web-new", 3, 2, { annotations: { "deployment.kubernetes.io/desired-replicas": "3" } }),
    ),
    false,
  );
  assert.equal(isSaturated(d, replicaSet("web-new", 3, 3)), false);
});

Deno.test("deploymentComplete() and deploymentTimedOut() follow the Progressing condition", () => {
  const d = deployment(2);
  assert.equal(
    deploymentComplete(d, { replicas: 2, updatedReplicas: 2, availableReplicas: 2, observedGeneration: 1 }),
    true,
  );
  assert.equal(
    deploymentComplete(d, { replicas: 3, updatedReplicas: 2, availableReplicas: 2, observedGeneration: 1 }),
    false,
  );
  const cond = (reason: string, at: number) => ({
    conditions: [{ type: "Progressing", status: "True", reason, lastUpdateTime: new Date(at).toISOString() }],
  });
  assert.equal(deploymentTimedOut(d, cond("ReplicaSetUpdated", T0), T0 + 599_000), false);
  assert.equal(deploymentTimedOut(d, cond("ReplicaSetUpdated", T0), T0 + 601_000), true);
  assert.equal(deploymentTimedOut(d, cond("NewReplicaSetAvailable", T0), T0 + 601_000), false);
});
