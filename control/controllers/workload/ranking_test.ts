import assert from "node:assert/strict";
import { logarithmicRankDiff, podsToDelete, sortActivePods } from "./ranking.ts";
import { pod, T0 } from "./testing.ts";

const names = (pods: { metadata: { name?: string } }[]) => pods.map((p) => p.metadata.name);

Deno.test("sortActivePods() puts unscheduled, then pending, then not-ready pods first", () => {
  const sorted = sortActivePods([
    pod("ready", { node: "n1", readySince: T0 }),
    pod("running-not-ready", { node: "n1", phase: "Running" }),
    pod("pending", { node: "n1", phase: "Pending" }),
    pod("unscheduled", { phase: "Pending" }),
  ]);
  assert.deepEqual(names(sorted), ["unscheduled", "pending", "running-not-ready", "ready"]);
});

Deno.test("sortActivePods() prefers pods ready for less time, then more restarts, then newer", () => {
  const sorted = sortActivePods([
    pod("old-ready", { node: "n", readySince: T0 - 60_000 }),
    pod("new-ready", { node: "n", readySince: T0 }),
  ]);
  assert.deepEqual(names(sorted), ["new-ready", "old-ready"]);
  const byRestarts = sortActivePods([
    pod("calm", { node: "n", phase: "Running" }),
    pod("flappy", { node: "n", phase: "Running", restarts: 5 }),
  ]);
  assert.deepEqual(names(byRestarts), ["flappy", "calm"]);
  const byAge = sortActivePods([
    pod("older", { node: "n", phase: "Running", created: T0 - 1000 }),
    pod("newer", { node: "n", phase: "Running", created: T0 }),
  ]);
  assert.deepEqual(names(byAge), ["newer", "older"]);
});

Deno.test("podsToDelete() honours the pod-deletion-cost annotation before node doubling", () => {
  const cheap = pod("cheap", {
    node: "a",
    readySince: T0,
    annotations: { "controller.kubernetes.io/pod-deletion-cost": "-10" },
  });
  const dear = pod("dear", {
    node: "b",
    readySince: T0,
    annotations: { "controller.kubernetes.io/pod-deletion-cost": "100" },
  });
  const plain = pod("plain", { node: "b", readySince: T0 });
  const chosen = podsToDelete([dear, plain, cheap], [dear, plain, cheap], 2, T0 + 1000);
  assert.deepEqual(names(chosen), ["cheap", "plain"]);
});

Deno.test("podsToDelete() removes pods doubled up on a node first", () => {
  const a1 = pod("a1", { node: "a", readySince: T0 });
  const a2 = pod("a2", { node: "a", readySince: T0 });
  const b1 = pod("b1", { node: "b", readySince: T0 });
  const chosen = podsToDelete([b1, a1, a2], [b1, a1, a2], 1, T0 + 1000);
  assert.ok(["a1", "a2"].includes(chosen[0].metadata.name!));
});

Deno.test("podsToDelete() returns every pod when asked for at least as many", () => {
  const ps = [pod("x"), pod("y")];
  assert.equal(podsToDelete(ps, ps, 5, T0).length, 2);
});

Deno.test("logarithmicRankDiff() puts times within a power of two of age in one bucket", () => {
  const now = T0 + 100_000;
  assert.equal(logarithmicRankDiff(T0, T0 + 1, now), 0);
  assert.ok(logarithmicRankDiff(now - 1000, now - 100_000, now) < 0);
});
