import assert from "node:assert/strict";
import type { Pod, PodStatus } from "kubernetes-types/core/v1.d.ts";
import { podsDiffer, updateNeedsSync } from "./pod_update.ts";

const running: PodStatus = {
  phase: "Running",
  podIP: "198.18.0.5",
  conditions: [{ type: "Ready", status: "True" }],
};

function pod(extra: Partial<Pod> = {}, meta: Record<string, unknown> = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "p",
      namespace: "default",
      uid: "u1",
      resourceVersion: "10",
      labels: { app: "a" },
      ...meta,
    },
    spec: { nodeName: "n", containers: [{ name: "c", image: "busybox" }] },
    status: { phase: "Pending" },
    ...extra,
  };
}

Deno.test("podsDiffer() ignores the status and the store's bookkeeping", () => {
  assert.equal(
    podsDiffer(pod(), pod({ status: running }, { resourceVersion: "11", managedFields: [{}] })),
    false,
  );
});

Deno.test("podsDiffer() sees spec, labels, annotations and deletion changes", () => {
  const base = pod();
  assert.equal(podsDiffer(base, pod({ spec: { ...base.spec!, activeDeadlineSeconds: 5 } })), true);
  assert.equal(podsDiffer(base, pod({}, { labels: { app: "b" } })), true);
  assert.equal(podsDiffer(base, pod({}, { annotations: { x: "y" } })), true);
  assert.equal(
    podsDiffer(base, pod({}, { deletionTimestamp: "2026-11-27T15:00:00Z", deletionGracePeriodSeconds: 30 })),
    true,
  );
});

Deno.test("updateNeedsSync() skips the watch's echo of the kubelet's own status write", () => {
  assert.equal(updateNeedsSync(pod(), pod({ status: running }, { resourceVersion: "11" }), [running]), false);
});

Deno.test("updateNeedsSync() syncs a status someone else wrote, or before the kubelet wrote one", () => {
  const other: PodStatus = { ...running, conditions: [{ type: "Ready", status: "False" }] };
  assert.equal(updateNeedsSync(pod(), pod({ status: other }, { resourceVersion: "11" }), [running]), true);
  assert.equal(updateNeedsSync(pod(), pod({ status: running }, { resourceVersion: "11" }), []), true);
});

Deno.test("updateNeedsSync() syncs a changed pod even when its status is the kubelet's", () => {
  const deleting = pod({ status: running }, {
    resourceVersion: "11",
    deletionTimestamp: "2026-11-27T15:00:00Z",
  });
  assert.equal(updateNeedsSync(pod({ status: running }), deleting, [running]), true);
  assert.equal(updateNeedsSync(pod(), pod({ status: running }, { uid: "u2" }), [running]), true);
});

Deno.test("updateNeedsSync() syncs the echo of a terminal status (the sandbox is then stopped)", () => {
  const done: PodStatus = { phase: "Succeeded" };
  assert.equal(
    updateNeedsSync(pod({ status: running }), pod({ status: done }, { resourceVersion: "11" }), [done]),
    true,
  );
});

Deno.test("updateNeedsSync() knows the echo of a write still in flight", () => {
  const older: PodStatus = { phase: "Pending" };
  assert.equal(
    updateNeedsSync(pod(), pod({ status: running }, { resourceVersion: "11" }), [running, older]),
    false,
  );
});
