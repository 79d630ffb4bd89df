import assert from "node:assert/strict";
import { T0 } from "../workload/testing.ts";
import { daemonSetStatus, planManage, planRollingUpdate, podsByNode } from "./plan.ts";
import { daemonPod, daemonSet, node } from "./testing.ts";

const nodes = [node("n1"), node("n2"), node("n3", { labels: { role: "edge" } })];

Deno.test("planManage() creates a pod on every eligible node without one", () => {
  const ds = daemonSet();
  const plan = planManage(ds, nodes, podsByNode([daemonPod("p1", "n1", "h1")]), "h1", T0);
  assert.deepEqual(plan.createOn, ["n2", "n3"]);
  assert.deepEqual(plan.deletePods, []);
});

Deno.test("planManage() deletes pods on nodes that no longer qualify, extras, and failed pods", () => {
  const ds = daemonSet({ spec: { nodeSelector: { role: "edge" } } });
  const pods = [
    daemonPod("off", "n1", "h1"),
    daemonPod("keep", "n3", "h1", { created: T0 - 1000 }),
    daemonPod("extra", "n3", "h1", { created: T0 }),
  ];
  const plan = planManage(ds, nodes, podsByNode(pods), "h1", T0);
  assert.deepEqual(plan.createOn, []);
  assert.deepEqual(plan.deletePods.sort(), ["extra", "off"]);
  const failed = planManage(
    daemonSet(),
    [node("n1")],
    podsByNode([daemonPod("bad", "n1", "h1", { phase: "Failed" })]),
    "h1",
    T0,
  );
  assert.deepEqual(failed.deletePods, ["bad"]);
  assert.equal(failed.failed[0].node, "n1");
  const backedOff = planManage(
    daemonSet(),
    [node("n1")],
    podsByNode([daemonPod("bad", "n1", "h1", { phase: "Failed" })]),
    "h1",
    T0,
    () => 2000,
  );
  assert.deepEqual(backedOff.deletePods, []);
  assert.equal(backedOff.retryAfterMs, 2000);
});

Deno.test("planRollingUpdate() without surge deletes old pods up to maxUnavailable", () => {
  const ds = daemonSet({ strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } } });
  const pods = nodes.map((n, i) => daemonPod(`p${i}`, n.metadata.name!, "old", { ready: true }));
  const step = planRollingUpdate(ds, nodes, podsByNode(pods), "new", T0);
  assert.equal(step.deletePods.length, 1);
  assert.deepEqual(step.createOn, []);
  // with one node already unavailable (new pod not ready), nothing more is deleted
  const mid = [
    daemonPod("p0", "n1", "new"),
    daemonPod("p1", "n2", "old", { ready: true }),
    daemonPod("p2", "n3", "old", { ready: true }),
  ];
  assert.deepEqual(planRollingUpdate(ds, nodes, podsByNode(mid), "new", T0).deletePods, []);
  // unavailable old pods are replaced regardless of the budget
  const sick = [
    daemonPod("p0", "n1", "new"),
    daemonPod("p1", "n2", "old"),
    daemonPod("p2", "n3", "old", { ready: true }),
  ];
  assert.deepEqual(planRollingUpdate(ds, nodes, podsByNode(sick), "new", T0).deletePods, ["p1"]);
});

Deno.test("planRollingUpdate() with surge creates new pods beside old ones, then deletes the old ones", () => {
  const ds = daemonSet({
    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
  });
  const old = nodes.map((n, i) => daemonPod(`p${i}`, n.metadata.name!, "old", { ready: true }));
  const first = planRollingUpdate(ds, nodes, podsByNode(old), "new", T0);
  assert.equal(first.createOn.length, 1);
  assert.deepEqual(first.deletePods, []);
  const surged = [...old, daemonPod("q0", "n1", "new", { ready: true })];
  const second = planRollingUpdate(ds, nodes, podsByNode(surged), "new", T0);
  assert.deepEqual(second.deletePods, ["p0"]);
});

Deno.test("daemonSetStatus() counts desired, current, ready, updated and misscheduled pods", () => {
  const ds = daemonSet({ spec: { nodeSelector: { role: "edge" } } });
  const pods = [daemonPod("a", "n3", "h2", { ready: true }), daemonPod("b", "n1", "h1")];
  const s = daemonSetStatus(ds, nodes, podsByNode(pods), "h2", T0, true);
  assert.deepEqual(s, {
    currentNumberScheduled: 1,
    numberMisscheduled: 1,
    desiredNumberScheduled: 1,
    numberReady: 1,
    observedGeneration: 3,
    updatedNumberScheduled: 1,
    numberAvailable: 1,
    numberUnavailable: 0,
  });
});
