import assert from "node:assert/strict";
import type { MachineInfo } from "./machine.ts";
import { type NodeFacts, nodeObject, nodeStatus, nodeStatusChanged } from "./node_object.ts";

const machine: MachineInfo = {
  cpus: 2,
  memoryBytes: 4 * 2 ** 30,
  diskBytes: 100 * 2 ** 30,
  diskFreeBytes: 50 * 2 ** 30,
  kernelVersion: "6.1.0",
  osImage: "Debian GNU/Linux 12 (bookworm)",
  machineID: "m",
  bootID: "b",
  architecture: "amd64",
  hostname: "h",
};

function facts(extra: Partial<NodeFacts> = {}): NodeFacts {
  return {
    name: "n1",
    machine,
    address: "127.0.0.1",
    port: 10250,
    maxPods: 1000,
    runtimeHandlers: ["wasm"],
    runtimeVersion: "wasm://0.1.0",
    memoryAvailableBytes: 2 * 2 ** 30,
    diskFreeBytes: 50 * 2 ** 30,
    pidsFree: 30000,
    now: Date.UTC(2024, 0, 1),
    ...extra,
  };
}

Deno.test("nodeStatus() reports capacity, allocatable, endpoint and runtime handlers", () => {
  const s = nodeStatus(facts());
  assert.deepEqual(s.capacity, {
    cpu: "2",
    memory: "4194304Ki",
    pods: "1000",
    "ephemeral-storage": "104857600Ki",
  });
  assert.equal(s.allocatable!.memory, "4091904Ki", "100Mi held back for eviction");
  assert.deepEqual(s.daemonEndpoints, { kubeletEndpoint: { Port: 10250 } });
  assert.deepEqual(s.runtimeHandlers!.map((h) => h.name), ["wasm"]);
  assert.deepEqual(s.addresses![0], { type: "InternalIP", address: "127.0.0.1" });
  assert.deepEqual(s.conditions!.map((c) => `${c.type}=${c.status}`), [
    "MemoryPressure=False",
    "DiskPressure=False",
    "PIDPressure=False",
    "Ready=True",
  ]);
  assert.equal(nodeObject(facts()).metadata.labels!["kubernetes.io/hostname"], "n1");
});

Deno.test("nodeStatus() raises pressure conditions and NotReady with reasons", () => {
  const s = nodeStatus(
    facts({ memoryAvailableBytes: 10, diskFreeBytes: 1, pidsFree: 10, notReadyReason: "network not ready" }),
  );
  const by = Object.fromEntries(s.conditions!.map((c) => [c.type, c]));
  assert.equal(by.MemoryPressure.reason, "KubeletHasInsufficientMemory");
  assert.equal(by.DiskPressure.status, "True");
  assert.equal(by.PIDPressure.status, "True");
  assert.equal(by.Ready.status, "False");
  assert.equal(by.Ready.message, "network not ready");
});

Deno.test("nodeStatusChanged() ignores heartbeat times but sees real changes", () => {
  const a = nodeStatus(facts());
  const b = nodeStatus(facts({ now: Date.UTC(2024, 0, 1, 0, 1) }), a);
  assert.equal(nodeStatusChanged(a, b), false);
  assert.equal(b.conditions![3].lastTransitionTime, a.conditions![3].lastTransitionTime);
  assert.equal(nodeStatusChanged(a, nodeStatus(facts({ notReadyReason: "x" }), a)), true);
});
