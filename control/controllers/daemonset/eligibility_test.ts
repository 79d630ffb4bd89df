import assert from "node:assert/strict";
import { daemonPodTolerations, nodeShouldRunDaemonPod, pinToNode, targetNodeName } from "./eligibility.ts";
import { daemonSet, node } from "./testing.ts";

Deno.test("daemon pods tolerate not-ready, unreachable, pressure and unschedulable nodes", () => {
  const keys = daemonPodTolerations({}).map((t) => `${t.key}:${t.effect}`);
  assert.deepEqual(keys, [
    "node.kubernetes.io/not-ready:NoExecute",
    "node.kubernetes.io/unreachable:NoExecute",
    "node.kubernetes.io/disk-pressure:NoSchedule",
    "node.kubernetes.io/memory-pressure:NoSchedule",
    "node.kubernetes.io/pid-pressure:NoSchedule",
    "node.kubernetes.io/unschedulable:NoSchedule",
  ]);
  assert.ok(
    daemonPodTolerations({ hostNetwork: true }).some((t) =>
      t.key === "node.kubernetes.io/network-unavailable"
    ),
  );
});

Deno.test("nodeShouldRunDaemonPod() follows nodeSelector and taints, and lets NoSchedule-tainted pods stay", () => {
  const ds = daemonSet({ spec: { nodeSelector: { role: "edge" } } });
  assert.deepEqual(nodeShouldRunDaemonPod(node("a", { labels: { role: "edge" } }), ds), {
    shouldRun: true,
    shouldContinueRunning: true,
  });
  assert.deepEqual(nodeShouldRunDaemonPod(node("b"), ds), { shouldRun: false, shouldContinueRunning: false });
  const plain = daemonSet();
  assert.deepEqual(
    nodeShouldRunDaemonPod(node("c", { taints: [{ key: "x", effect: "NoSchedule" }] }), plain),
    {
      shouldRun: false,
      shouldContinueRunning: true,
    },
  );
  assert.deepEqual(
    nodeShouldRunDaemonPod(node("d", { taints: [{ key: "x", effect: "NoExecute" }] }), plain),
    {
      shouldRun: false,
      shouldContinueRunning: false,
    },
  );
  assert.equal(
    nodeShouldRunDaemonPod(
      node("e", { taints: [{ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }] }),
      plain,
    ).shouldRun,
    true,
  );
});

Deno.test("pinToNode() replaces required node affinity terms and keeps the rest", () => {
  const affinity = {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: "x", operator: "Exists" }] }],
      },
      preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1 }],
    },
    podAntiAffinity: {},
  };
  const pinned = pinToNode(affinity, "n7");
  assert.deepEqual(pinned.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms, [
    { matchFields: [{ key: "metadata.name", operator: "In", values: ["n7"] }] },
  ]);
  assert.deepEqual(pinned.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution, [{ weight: 1 }]);
  assert.equal(targetNodeName({ metadata: {}, spec: { affinity: pinned } }), "n7");
  assert.equal(targetNodeName({ metadata: {}, spec: { nodeName: "n1", affinity: pinned } }), "n1");
});
