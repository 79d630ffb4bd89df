import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import {
  byEvictionAndCreation,
  failedStatus,
  isPodTerminated,
  planPodGC,
  TAINT_OUT_OF_SERVICE,
} from "./podgc_controller.ts";

const pod = (
  name: string,
  opts: { phase?: string; node?: string; deleting?: boolean; created?: string; reason?: string } = {},
): KubeObject => ({
  metadata: {
    name,
    namespace: "default",
    uid: name,
    creationTimestamp: opts.created ?? "2026-01-01T00:00:00Z",
    ...(opts.deleting ? { deletionTimestamp: "2026-01-01T00:05:00Z" } : {}),
  },
  spec: opts.node ? { nodeName: opts.node } : {},
  status: { phase: opts.phase ?? "Running", ...(opts.reason ? { reason: opts.reason } : {}) },
});
const node = (name: string, ready = "True", taints: unknown[] = []): KubeObject => ({
  metadata: { name },
  spec: { taints },
  status: { conditions: [{ type: "Ready", status: ready }] },
});

Deno.test("isPodTerminated() is true for Succeeded and Failed pods only", () => {
  assert.ok(isPodTerminated(pod("a", { phase: "Succeeded" })));
  assert.ok(isPodTerminated(pod("a", { phase: "Failed" })));
  assert.ok(!isPodTerminated(pod("a", { phase: "Running" })));
  assert.ok(!isPodTerminated(pod("a", { phase: "Pending" })));
});

Deno.test("planPodGC() deletes terminated pods beyond the threshold, evicted then oldest first", () => {
  const pods = [
    pod("new", { phase: "Succeeded", created: "2026-01-03T00:00:00Z" }),
    pod("old", { phase: "Failed", created: "2026-01-01T00:00:00Z" }),
    pod("evicted", { phase: "Failed", reason: "Evicted", created: "2026-01-05T00:00:00Z" }),
    pod("running"),
  ];
  assert.deepEqual(planPodGC(pods, [], 1).terminated.map((p) => p.metadata.name), ["evicted", "old"]);
  assert.deepEqual(planPodGC(pods, [], 3).terminated, []);
  assert.deepEqual(planPodGC(pods, [], 0).terminated, []);
  assert.equal([pod("b"), pod("a")].sort(byEvictionAndCreation)[0].metadata.name, "a");
});

Deno.test("planPodGC() finds pods on missing nodes, terminating pods on out-of-service nodes, unscheduled terminating pods", () => {
  const pods = [
    pod("orphan", { node: "gone" }),
    pod("oos", { node: "down", deleting: true }),
    pod("fine", { node: "up", deleting: true }),
    pod("unscheduled", { deleting: true }),
  ];
  const nodes = [node("up"), node("down", "Unknown", [{ key: TAINT_OUT_OF_SERVICE, effect: "NoExecute" }])];
  const plan = planPodGC(pods, nodes, 100);
  assert.deepEqual([...plan.missingNodes], ["gone"]);
  assert.deepEqual(plan.terminatingOutOfService.map((p) => p.metadata.name), ["oos"]);
  assert.deepEqual(plan.unscheduledTerminating.map((p) => p.metadata.name), ["unscheduled"]);
});

Deno.test("failedStatus() marks the pod Failed and adds the DeletionByPodGC condition", () => {
  const s = failedStatus(pod("x"), {
    type: "DisruptionTarget",
    status: "True",
    reason: "DeletionByPodGC",
    message: "PodGC: node no longer exists",
  }, "T");
  assert.equal(s.phase, "Failed");
  assert.deepEqual(s.conditions, [{
    type: "DisruptionTarget",
    status: "True",
    reason: "DeletionByPodGC",
    message: "PodGC: node no longer exists",
    lastProbeTime: null,
    lastTransitionTime: "T",
  }]);
});
