/**
 * Simulated nodes against the real API server: registration, heartbeats, pods reported Running
 * after the configured delay, graceful deletions finished, restarts, scale, and the
 * `simulate-nodes` command as a process.
 * @module
 */
import assert from "node:assert/strict";
import { COMMANDS } from "../cli/commands.ts";
import { writeKubeconfig } from "../cli/kubeconfig.ts";
import { Client, R } from "../control/api/client.ts";
import type { KubeObject } from "../control/api/types.ts";
import { startControlPlane } from "../control/mod.ts";
import { NodeSimulator } from "../node/simulated/mod.ts";
import { eventually, ROOT, tempDir } from "./harness.ts";

async function controlPlane() {
  const kv = await Deno.openKv(":memory:");
  const cp = await startControlPlane({ kv, port: 0 });
  return {
    url: cp.url,
    client: new Client({ server: cp.url }),
    async [Symbol.asyncDispose]() {
      await cp.close();
      kv.close();
    },
  };
}

const bound = (name: string, node: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default" },
  spec: { nodeName: node, containers: [{ name: "app", image: "example/app" }] },
});

Deno.test("simulated nodes register Ready with runtime handlers, distinct pod CIDRs and owned leases", async () => {
  await using cp = await controlPlane();
  await using sim = new NodeSimulator(cp.client, { count: 5, namePrefix: "kwok-" });
  await sim.start();
  const nodes = (await cp.client.list(R.nodes)).items;
  assert.deepEqual(nodes.map((n) => n.metadata.name).sort(), [
    "kwok-0",
    "kwok-1",
    "kwok-2",
    "kwok-3",
    "kwok-4",
  ]);
  assert.equal(new Set(nodes.map((n) => n.spec.podCIDR)).size, 5);
  for (const n of nodes) {
    assert.equal(n.status.conditions.find((c: { type: string }) => c.type === "Ready").status, "True");
    assert.deepEqual(n.status.runtimeHandlers.map((h: { name: string }) => h.name), ["wasm", "oci"]);
    assert.equal(n.status.allocatable.pods, "110");
    const lease = await cp.client.get(R.leases, "kube-node-lease", n.metadata.name!);
    assert.equal(lease.spec.holderIdentity, n.metadata.name);
    assert.equal(lease.metadata.ownerReferences![0].uid, n.metadata.uid);
  }
});

Deno.test("simulated nodes renew their leases, and a paused node stops", async () => {
  await using cp = await controlPlane();
  await using sim = new NodeSimulator(cp.client, { count: 2, leaseIntervalMs: 300 });
  await sim.start();
  const renewTime = async (n: string) =>
    (await cp.client.get(R.leases, "kube-node-lease", n)).spec.renewTime as string;
  const first = await renewTime("sim-0");
  await eventually("a renewal", async () => (await renewTime("sim-0")) !== first);
  sim.pause("sim-1");
  await new Promise((r) => setTimeout(r, 400));
  const paused = await renewTime("sim-1");
  await new Promise((r) => setTimeout(r, 900));
  assert.equal(await renewTime("sim-1"), paused);
  sim.resume("sim-1");
  await eventually("the resumed node to renew", async () => (await renewTime("sim-1")) !== paused);
});

Deno.test("pods bound to a simulated node are reported Running and Ready after the delay, with an IP from its podCIDR", async () => {
  await using cp = await controlPlane();
  await using sim = new NodeSimulator(cp.client, { count: 1, readyDelayMs: 700 });
  await sim.start();
  const node = await cp.client.get(R.nodes, "", "sim-0");
  const created = Date.now();
  await cp.client.create(R.pods, bound("a", "sim-0"));
  await cp.client.create(R.pods, bound("b", "sim-0"));
  await new Promise((r) => setTimeout(r, 300));
  assert.notEqual(
    (await cp.client.get(R.pods, "default", "a")).status?.phase,
    "Running",
    "not before the delay",
  );
  const pods = await eventually("both pods running", async () => {
    const items = (await cp.client.list(R.pods, "default")).items;
    return items.every((p) => p.status?.phase === "Running") ? items : undefined;
  });
  assert.ok(Date.now() - created >= 700);
  const prefix = node.spec.podCIDR.split(".").slice(0, 3).join(".");
  const ips = pods.map((p) => p.status.podIP as string);
  assert.equal(new Set(ips).size, 2);
  for (const p of pods) {
    assert.ok(p.status.podIP.startsWith(`${prefix}.`), p.status.podIP);
    assert.equal(p.status.hostIP, node.status.addresses[0].address);
    const types = p.status.conditions.filter((c: { status: string }) => c.status === "True").map((
      c: { type: string },
    ) => c.type).sort();
    for (const t of ["ContainersReady", "Initialized", "PodScheduled", "Ready"]) {
      assert.ok(types.includes(t), t);
    }
    assert.deepEqual(Object.keys(p.status.containerStatuses[0].state), ["running"]);
  }
});

Deno.test("a gracefully deleted pod on a simulated node is removed, as a kubelet does after stopping it", async () => {
  await using cp = await controlPlane();
  await using sim = new NodeSimulator(cp.client, { count: 1 });
  await sim.start();
  await cp.client.create(R.pods, bound("a", "sim-0"));
  await eventually(
    "the pod to run",
    async () => (await cp.client.get(R.pods, "default", "a")).status?.phase === "Running",
  );
  const answer = await cp.client.delete(R.pods, "default", "a");
  assert.ok(answer.metadata.deletionTimestamp, "graceful: the API server only marks it");
  await eventually("the pod to be gone", async () => !(await cp.client.tryGet(R.pods, "default", "a")));
});

Deno.test("a restarted simulator keeps its nodes' pod CIDRs and reposts Ready", async () => {
  await using cp = await controlPlane();
  const first = new NodeSimulator(cp.client, { count: 2 });
  await first.start();
  const before = (await cp.client.list(R.nodes)).items.map((n) => [n.metadata.name, n.spec.podCIDR]).sort();
  await first.stop();
  // The control plane marked one Unknown meanwhile.
  const n0 = await cp.client.get(R.nodes, "", "sim-0");
  n0.status.conditions = n0.status.conditions.map((
    c: { type: string },
  ) => (c.type === "Ready" ? { ...c, status: "Unknown" } : c));
  await cp.client.updateStatus(R.nodes, n0);
  await using second = new NodeSimulator(cp.client, { count: 2 });
  await second.start();
  const after = (await cp.client.list(R.nodes)).items;
  assert.deepEqual(after.map((n) => [n.metadata.name, n.spec.podCIDR]).sort(), before);
  assert.equal(
    after.find((n) => n.metadata.name === "sim-0")!.status.conditions.find((c: { type: string }) =>
      c.type === "Ready"
    ).status,
    "True",
  );
});

Deno.test("one simulator process handles a thousand nodes and keeps every lease fresh", async () => {
  await using cp = await controlPlane();
  await using sim = new NodeSimulator(cp.client, { count: 1_000, leaseIntervalMs: 4_000 });
  const t = performance.now();
  await sim.start();
  const registered = performance.now() - t;
  const start = Date.now();
  await new Promise((r) => setTimeout(r, 4_500));
  const leases = (await cp.client.list(R.leases, "kube-node-lease")).items;
  assert.equal(leases.length, 1_000);
  const stale = leases.filter((l) => Date.parse(l.spec.renewTime) < start - 1_000);
  assert.deepEqual(stale.map((l) => l.metadata.name), [], "every lease renewed within one interval");
  console.log(`registered 1000 nodes in ${Math.round(registered)} ms`);
});

Deno.test("./skiff simulate-nodes registers nodes and exits cleanly on SIGTERM", async () => {
  await using cp = await controlPlane();
  await using dir = await tempDir();
  const kubeconfig = `${dir.path}/kubeconfig`;
  await writeKubeconfig(kubeconfig, cp.url);
  const args = [
    "--kubeconfig",
    kubeconfig,
    "--count",
    "20",
    "--name-prefix",
    "proc-",
    "--ready-delay",
    "100",
  ];
  const command = COMMANDS.some((c) => c.name === "simulate-nodes")
    ? new Deno.Command(`${ROOT}/skiff`, {
      args: ["simulate-nodes", ...args],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    })
    : new Deno.Command(`${ROOT}/node_modules/.bin/deno`, {
      args: [
        "eval",
        [
          'import { main } from "./cli/main.ts";',
          'import { COMMANDS } from "./cli/commands.ts";',
          'import { simulateNodesCommand } from "./cli/simulate_nodes.ts";',
          'Deno.exit(await main(["simulate-nodes", ...Deno.args], [...COMMANDS, simulateNodesCommand]));',
        ].join("\n"),
        ...args,
      ],
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    });
  const child = command.spawn();
  let log = "";
  const reading = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) log += chunk;
  })();
  try {
    await eventually(
      "20 nodes",
      async () =>
        (await cp.client.list(R.nodes, undefined, { labelSelector: "node.skiff.dev/simulated=true" })).items
          .length === 20,
      30_000,
    );
    await cp.client.create(R.pods, bound("p", "proc-7"));
    await eventually(
      "the pod to run",
      async () => (await cp.client.get(R.pods, "default", "p")).status?.phase === "Running",
    );
  } finally {
    child.kill("SIGTERM");
  }
  const status = await child.status;
  await reading;
  assert.equal(status.code, 0, log);
  assert.match(log, /20 nodes registered/);
});
