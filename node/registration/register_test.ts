import assert from "node:assert/strict";
import { Client, R } from "../../control/api/client.ts";
import { startControlPlane } from "../../control/mod.ts";
import { Heartbeat } from "./heartbeat.ts";
import type { MachineInfo } from "./machine.ts";
import { type NodeFacts } from "./node_object.ts";
import { claimName } from "./pod_cidr.ts";
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

Deno.test("registerNode() gives nodes registering at once distinct pod CIDRs, each claimed by a Lease", async () => {
  await using c = await cluster();
  const nodes = await Promise.all(
    ["n1", "n2", "n3", "n4"].map((n) => registerNode(c.client, facts(n), { mask: 24 })),
  );
  const cidrs = nodes.map((n) => n.spec.podCIDR);
  assert.equal(new Set(cidrs).size, 4, cidrs.join(" "));
  for (const n of nodes) {
    assert.match(n.spec.podCIDR, /^198\.18\.\d+\.0\/24$/);
    assert.deepEqual(n.spec.podCIDRs, [n.spec.podCIDR]);
    const claim = await c.client.get(R.leases, NODE_LEASE_NAMESPACE, claimName(n.spec.podCIDR));
    assert.equal(claim.spec.holderIdentity, n.metadata.name);
    assert.equal(claim.metadata.ownerReferences?.[0].uid, n.metadata.uid);
  }
});

Deno.test("registerNode() adopts an existing Node and keeps its pod CIDR, and skips blocks to avoid", async () => {
  await using c = await cluster();
  const first = await registerNode(c.client, facts("n1"), { avoid: ["198.18.0.0/24"] });
  assert.equal(
    first.spec.podCIDR,
    "198.18.4.0/22",
    "the /22 holding an address already on this machine is skipped",
  );
  const again = await registerNode(c.client, { ...facts("n1"), port: 10999 });
  assert.equal(again.metadata.uid, first.metadata.uid);
  assert.equal(again.spec.podCIDR, first.spec.podCIDR);
  assert.equal(again.status.daemonEndpoints.kubeletEndpoint.Port, 10999, "the status is refreshed");
});

Deno.test("registerNode() takes over the claim of a node that no longer exists", async () => {
  await using c = await cluster();
  const gone = await registerNode(c.client, facts("gone"), { mask: 24 });
  await c.client.delete(R.nodes, "", "gone");
  const next = await registerNode(c.client, facts("next"), { mask: 24 });
  assert.equal(next.spec.podCIDR, gone.spec.podCIDR, "the lowest block is free again");
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
