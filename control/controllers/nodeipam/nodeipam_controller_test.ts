import assert from "node:assert/strict";
import { Client, R } from "../../api/client.ts";
import type { KubeObject } from "../../api/types.ts";
import { startControlPlane } from "../../mod.ts";
import { type ControllerManagerOptions, startControllerManager } from "../manager.ts";
import type { NodeIpamOptions } from "./mod.ts";

async function cluster(nodeIpam: NodeIpamOptions) {
  const dir = await Deno.makeTempDir({ prefix: "skiff-ipam-" });
  const cp = await startControlPlane({ kvPath: `${dir}/state.kv`, port: 0, compactionIntervalMs: 0 });
  const client = new Client({ server: cp.url });
  const ac = new AbortController();
  const manager = startControllerManager({
    client,
    signal: ac.signal,
    options: {
      leaderElect: false,
      controllers: ["node-ipam-controller"],
      nodeIpam,
    } as ControllerManagerOptions,
  });
  await manager.ready;
  return {
    client,
    async [Symbol.asyncDispose]() {
      ac.abort();
      await manager.done;
      await cp.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const node = (name: string, podCIDR?: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name },
  spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {},
});

async function podCIDR(client: Client, name: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const n = await client.get(R.nodes, "", name);
    if (n.spec?.podCIDR) {
      assert.deepEqual(n.spec.podCIDRs, [n.spec.podCIDR]);
      return n.spec.podCIDR;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`node ${name} got no podCIDR`);
}

Deno.test("node-ipam-controller gives nodes registering at once distinct blocks, avoiding blocks nodes already hold", async () => {
  await using c = await cluster({ nodeCIDRMaskSize: 24 });
  // A simulated (or admin-made) node holding a block inside the pool, and one outside it.
  await c.client.create(R.nodes, node("sim-in", "198.18.1.0/24"));
  await c.client.create(R.nodes, node("sim-out", "127.128.0.0/24"));
  const names = ["n1", "n2", "n3", "n4", "n5"];
  await Promise.all(names.map((n) => c.client.create(R.nodes, node(n))));
  const cidrs = await Promise.all(names.map((n) => podCIDR(c.client, n)));
  assert.equal(new Set(cidrs).size, 5, cidrs.join(" "));
  for (const cidr of cidrs) assert.match(cidr, /^198\.18\.\d+\.0\/24$/);
  assert.ok(!cidrs.includes("198.18.1.0/24"), "the block a node already holds is not handed out");
  assert.equal((await c.client.get(R.nodes, "", "sim-out")).spec.podCIDR, "127.128.0.0/24", "left alone");

  // A deleted node's block is free again.
  const freed = cidrs[0];
  await c.client.delete(R.nodes, "", "n1");
  await new Promise((r) => setTimeout(r, 100));
  await c.client.create(R.nodes, node("n6"));
  assert.equal(await podCIDR(c.client, "n6"), freed);
});

Deno.test("node-ipam-controller records CIDRNotAvailable when the pool is exhausted", async () => {
  await using c = await cluster({ clusterCIDR: "198.18.0.0/23", nodeCIDRMaskSize: 24 });
  for (const n of ["a", "b"]) await c.client.create(R.nodes, node(n));
  await podCIDR(c.client, "a");
  await podCIDR(c.client, "b");
  await c.client.create(R.nodes, node("c"));
  let event: KubeObject | undefined;
  for (let i = 0; i < 200 && !event; i++) {
    event = (await c.client.list(R.events, "default")).items.find((e) =>
      e.reason === "CIDRNotAvailable" && e.involvedObject?.name === "c"
    );
    if (!event) await new Promise((r) => setTimeout(r, 25));
  }
  assert.ok(event, "an event");
  assert.equal(event.type, "Normal");
  assert.equal(event.message, "Node c status is now: CIDRNotAvailable");
  assert.equal(event.source?.component, "cidrAllocator");
  assert.equal((await c.client.get(R.nodes, "", "c")).spec.podCIDR, undefined);
});
