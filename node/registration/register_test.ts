import assert from "node:assert/strict";
import { Client, R } from "../../control/api/client.ts";
import { startControlPlane } from "../../control/mod.ts";
import { Heartbeat } from "./heartbeat.ts";
import type { MachineInfo } from "./machine.ts";
import { type NodeFacts } from "./node_object.ts";
import { Informer } from "../../control/api/informer.ts";
import { assignedPodCidr, localOverlap, waitForPodCidr } from "./pod_cidr.ts";
import { NODE_LEASE_NAMESPACE, registerNode } from "./register.ts";

const machine: MachineInfo = {
  cpus: 2,
  memoryBytes: 2 ** 32,
  diskBytes: 2 ** 36,
  diskFreeBytes: 2 ** 35,
  kernelVersion: "6.1",
  osImage: "test",
  machineID: "m",
  bootID: "b",
  architecture: "amd64",
  hostname: "h",
};

function facts(name: string): NodeFacts {
  return {
    name,
    machine,
    address: "127.0.0.1",
    port: 10250,
    maxPods: 1000,
    runtimeHandlers: ["wasm"],
    runtimeVersion: "wasm://0.1.0",
    memoryAvailableBytes: 2 ** 31,
    diskFreeBytes: 2 ** 35,
    pidsFree: 30000,
    now: Date.now(),
  };
}

async function cluster() {
  const dir = await Deno.makeTempDir();
  const cp = await startControlPlane({ kvPath: `${dir}/state.kv`, port: 0, compactionIntervalMs: 0 });
  return {
    client: new Client({ server: cp.url }),
    async [Symbol.asyncDispose]() {
      await cp.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("registerNode() creates the Node without a pod CIDR, and waitForPodCidr() resolves once one is assigned", async () => {
  await using c = await cluster();
  const node = await registerNode(c.client, facts("n1"));
  assert.equal(node.spec?.podCIDR, undefined, "the control plane assigns it, not the node");
  const nodes = new Informer(c.client, R.nodes, { fieldSelector: "metadata.name=n1" }).start();
  try {
    let slow = false;
    const waiting = waitForPodCidr(nodes, "n1", { slowAfterMs: 50, onSlow: () => slow = true });
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(slow, "a slow assignment is reported");
    // What the node IPAM controller writes:
    await c.client.patch(R.nodes, "", "n1", {
      spec: { podCIDR: "198.18.4.0/22", podCIDRs: ["198.18.4.0/22"] },
    });
    assert.equal(await waiting, "198.18.4.0/22");
    const stopped = new AbortController();
    const never = waitForPodCidr(nodes, "other", { signal: stopped.signal });
    stopped.abort();
    await assert.rejects(never, /stopped while waiting for node other's pod CIDR/);
  } finally {
    await nodes.stop();
  }
});

Deno.test("registerNode() adopts an existing Node, keeps its pod CIDR, and writes a configured one only when it has none", async () => {
  await using c = await cluster();
  const first = await registerNode(c.client, facts("n1"), { podCIDR: "198.18.8.0/22" });
  assert.deepEqual([first.spec.podCIDR, first.spec.podCIDRs], ["198.18.8.0/22", ["198.18.8.0/22"]]);
  const again = await registerNode(c.client, { ...facts("n1"), port: 10999 });
  assert.equal(again.metadata.uid, first.metadata.uid);
  assert.equal(again.spec.podCIDR, "198.18.8.0/22");
  assert.equal(again.status.daemonEndpoints.kubeletEndpoint.Port, 10999, "the status is refreshed");
  await assert.rejects(
    registerNode(c.client, facts("n1"), { podCIDR: "198.18.12.0/22" }),
    /node n1 already has pod CIDR 198\.18\.8\.0\/22; it cannot change to the configured 198\.18\.12\.0\/22/,
  );
  await registerNode(c.client, facts("n2"));
  const configured = await registerNode(c.client, facts("n2"), { podCIDR: "198.18.12.0/22" });
  assert.equal(configured.spec.podCIDR, "198.18.12.0/22");
});

Deno.test("localOverlap() refuses a pod CIDR clashing with a subnet on this machine", () => {
  assert.equal(localOverlap("198.18.0.0/22", ["10.0.0.0/8", "198.19.0.0/24"]), null);
  assert.equal(
    localOverlap("198.18.0.0/22", ["10.0.0.0/8", "198.18.2.0/24"]),
    "pod CIDR 198.18.0.0/22 overlaps the subnet 198.18.2.0/24 already on this machine's interfaces",
  );
  assert.equal(assignedPodCidr({ metadata: {}, spec: { podCIDR: "198.18.0.0/22" } }), "198.18.0.0/22");
  assert.equal(assignedPodCidr({ metadata: {}, spec: {} }), undefined);
});

Deno.test("Heartbeat renews the node Lease and posts the status only when it changed", async () => {
  await using c = await cluster();
  const node = await registerNode(c.client, facts("n1"));
  let ready = true;
  const hb = new Heartbeat(
    c.client,
    node,
    () => Promise.resolve({ ...facts("n1"), notReadyReason: ready ? undefined : "runtime down" }),
    {
      leaseIntervalMs: 50,
      statusCheckMs: 50,
      statusReportMs: 60_000,
    },
  );
  await hb.start();
  const lease = await c.client.get(R.leases, NODE_LEASE_NAMESPACE, "n1");
  assert.equal(lease.spec.holderIdentity, "n1");
  assert.equal(lease.spec.leaseDurationSeconds, 40);
  await new Promise((r) => setTimeout(r, 200));
  const renewed = await c.client.get(R.leases, NODE_LEASE_NAMESPACE, "n1");
  assert.ok(renewed.spec.renewTime > lease.spec.renewTime, "renewed");
  const rv = (await c.client.get(R.nodes, "", "n1")).metadata.resourceVersion;
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(
    (await c.client.get(R.nodes, "", "n1")).metadata.resourceVersion,
    rv,
    "no status write without a change",
  );
  ready = false;
  await new Promise((r) => setTimeout(r, 200));
  await hb.stop();
  const cond = (await c.client.get(R.nodes, "", "n1")).status.conditions.find((x: { type: string }) =>
    x.type === "Ready"
  );
  assert.equal(cond.status, "False");
  assert.equal(cond.message, "runtime down");
});
