import assert from "node:assert/strict";
import type { KubeObject } from "../../control/api/types.ts";
import {
  isRunningAndReady,
  leaseObject,
  nodeIPFor,
  nodeObject,
  PodCidrAllocator,
  PodIPAllocator,
  runningPodStatus,
} from "./objects.ts";

Deno.test("PodCidrAllocator hands out free /24s of the pool, skipping reserved ones", () => {
  const a = new PodCidrAllocator("127.128.0.0/22");
  a.reserve("127.128.0.0/24");
  a.reserve("127.200.0.0/24");
  assert.equal(a.allocate(), "127.128.1.0/24");
  assert.equal(a.indexOf("127.128.1.0/24"), 1);
  assert.equal(a.allocate(), "127.128.2.0/24");
  assert.equal(a.allocate(), "127.128.3.0/24");
  assert.throws(() => a.allocate(), /exhausted/);
});

Deno.test("PodIPAllocator skips .0/.1, reuses released addresses and runs out after .254", () => {
  const a = new PodIPAllocator("127.128.5.0/24");
  a.reserve("127.128.5.2");
  assert.equal(a.allocate(), "127.128.5.3");
  a.release("127.128.5.2");
  assert.equal(a.allocate(), "127.128.5.2");
  for (let i = 0; i < 251; i++) assert.ok(a.allocate());
  assert.equal(a.allocate(), null);
});

Deno.test("nodeObject() registers capacity, a Ready condition, runtime handlers and the podCIDR", () => {
  const n = nodeObject(
    "sim-0",
    "127.128.0.0/24",
    nodeIPFor(0),
    { cpu: "8", memory: "16Gi", pods: 110 },
    Date.parse("2026-01-01T00:00:00Z"),
  );
  assert.equal(n.spec.podCIDR, "127.128.0.0/24");
  assert.deepEqual(n.status.capacity, {
    cpu: "8",
    memory: "16Gi",
    pods: "110",
    "ephemeral-storage": "100Gi",
  });
  assert.deepEqual(n.status.runtimeHandlers.map((h: { name: string }) => h.name), ["wasm", "oci"]);
  const ready = n.status.conditions.find((c: { type: string }) => c.type === "Ready");
  assert.deepEqual([ready.status, ready.reason], ["True", "KubeletReady"]);
  assert.deepEqual(n.status.addresses[0], { type: "InternalIP", address: "127.64.0.1" });
});

Deno.test("leaseObject() is held by the node and owned by it", () => {
  const l = leaseObject({ metadata: { name: "sim-0", uid: "u" } }, Date.parse("2026-01-01T00:00:00Z"));
  assert.equal(l.metadata.namespace, "kube-node-lease");
  assert.deepEqual(l.metadata.ownerReferences, [{ apiVersion: "v1", kind: "Node", name: "sim-0", uid: "u" }]);
  assert.deepEqual(l.spec, {
    holderIdentity: "sim-0",
    leaseDurationSeconds: 40,
    renewTime: "2026-01-01T00:00:00.000000Z",
  });
});

Deno.test("runningPodStatus() reports Running and Ready with container statuses and the pod IP", () => {
  const pod: KubeObject = {
    metadata: { name: "p", uid: "u" },
    spec: { containers: [{ name: "app", image: "img" }], initContainers: [{ name: "init", image: "i" }] },
    status: {
      phase: "Pending",
      conditions: [{ type: "PodScheduled", status: "True", lastTransitionTime: "EARLIER" }],
    },
  };
  assert.ok(!isRunningAndReady(pod));
  const s = runningPodStatus(pod, "127.128.0.2", "127.64.0.1", Date.parse("2026-01-01T00:00:00Z"));
  const done = { ...pod, status: s };
  assert.ok(isRunningAndReady(done));
  assert.deepEqual(
    (s.conditions as { type: string; status: string }[]).map((c) => `${c.type}=${c.status}`).sort(),
    [
      "ContainersReady=True",
      "Initialized=True",
      "PodReadyToStartContainers=True",
      "PodScheduled=True",
      "Ready=True",
    ],
  );
  assert.equal(
    (s.conditions as { type: string; lastTransitionTime: string }[]).find((c) => c.type === "PodScheduled")!
      .lastTransitionTime,
    "EARLIER",
  );
  assert.deepEqual([s.podIP, s.hostIP], ["127.128.0.2", "127.64.0.1"]);
  const cs = (s.containerStatuses as { name: string; ready: boolean; state: object }[])[0];
  assert.deepEqual([cs.name, cs.ready, Object.keys(cs.state)], ["app", true, ["running"]]);
  assert.equal(
    (s.initContainerStatuses as { state: { terminated: { reason: string } } }[])[0].state.terminated.reason,
    "Completed",
  );
  assert.equal(
    runningPodStatus({ ...pod, spec: { ...pod.spec, hostNetwork: true } }, "127.128.0.2", "127.64.0.1", 0)
      .podIP,
    "127.64.0.1",
  );
});
