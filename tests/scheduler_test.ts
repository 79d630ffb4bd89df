/**
 * The scheduler against a real in-process API server: Node objects created through the API,
 * pods bound through `pods/binding`, failures explained by a condition and an event, preemption,
 * RuntimeClass, and two replicas that never double-bind.
 * @module
 */
import assert from "node:assert/strict";
import { Client, R } from "../control/api/client.ts";
import type { KubeObject } from "../control/api/types.ts";
import { Scheduler, type SchedulerOptions } from "../control/scheduler/mod.ts";
import { makeNode, makePod, type NodeOptions, type PodSpecOptions } from "../control/scheduler/testing.ts";
import { startCluster } from "./harness.ts";

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function newPod(name: string, o: PodSpecOptions = {}): KubeObject {
  const p = makePod(name, o);
  delete p.metadata.uid;
  delete p.metadata.resourceVersion;
  delete p.status;
  return p;
}

const createNode = (c: Client, name: string, o: NodeOptions = {}) => c.create(R.nodes, makeNode(name, o));
const createPod = (c: Client, name: string, o: PodSpecOptions = {}) => c.create(R.pods, newPod(name, o));
const getPod = (c: Client, name: string) => c.get(R.pods, "default", name);

/** Events about one object, oldest first. */
async function eventsFor(c: Client, name: string, reason?: string): Promise<KubeObject[]> {
  const list = await c.list(R.events, "default");
  return list.items.filter((e) => e.involvedObject?.name === name && (!reason || e.reason === reason));
}

/** A cluster and a running scheduler, stopped (and checked to stop) on dispose. */
async function setup(opts: Partial<SchedulerOptions> = {}) {
  const cluster = await startCluster();
  const client = new Client({ server: cluster.url });
  const schedulers: { s: Scheduler; ac: AbortController; done: Promise<void> }[] = [];
  const start = (o: Partial<SchedulerOptions> = {}) => {
    const s = new Scheduler({
      client,
      leaderElection: false,
      initialBackoffMs: 100,
      maxBackoffMs: 500,
      ...opts,
      ...o,
    });
    const ac = new AbortController();
    const entry = { s, ac, done: s.run(ac.signal) };
    schedulers.push(entry);
    return entry;
  };
  return {
    client,
    start,
    async [Symbol.asyncDispose]() {
      for (const e of schedulers) e.ac.abort();
      await Promise.all(schedulers.map((e) => e.done));
      await cluster.close();
    },
  };
}

Deno.test("the scheduler binds pending pods to nodes that fit them and records Scheduled events", async () => {
  await using env = await setup();
  const c = env.client;
  await createNode(c, "small", { cpu: "1" });
  await createNode(c, "ssd", { cpu: "4", labels: { disk: "ssd" } });
  await createNode(c, "tainted", { taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] });
  env.start();
  await createPod(c, "big", { cpu: "2" });
  await createPod(c, "picky", { nodeSelector: { disk: "ssd" } });
  await createPod(c, "tolerant", {
    tolerations: [{ key: "dedicated", operator: "Exists" }],
    nodeSelector: { "kubernetes.io/hostname": "tainted" },
  });
  const bound = await waitFor("all three pods bound", async () => {
    const pods = await Promise.all(["big", "picky", "tolerant"].map((n) => getPod(c, n)));
    return pods.every((p) => p.spec.nodeName) ? pods : undefined;
  });
  assert.deepEqual(bound.map((p) => p.spec.nodeName), ["ssd", "ssd", "tainted"]);
  const scheduled = bound[0].status.conditions.find((x: { type: string }) => x.type === "PodScheduled");
  assert.equal(scheduled.status, "True");
  const ev = await waitFor("the Scheduled event", async () => (await eventsFor(c, "big", "Scheduled"))[0]);
  assert.equal(ev.message, "Successfully assigned default/big to ssd");
  assert.equal(ev.type, "Normal");
  assert.equal(ev.source.component, "default-scheduler");
});

Deno.test("an unschedulable pod gets PodScheduled=False with upstream's message and a FailedScheduling event", async () => {
  await using env = await setup();
  const c = env.client;
  await createNode(c, "a", { cpu: "1" });
  await createNode(c, "b", { cpu: "1" });
  await createNode(c, "c", { taints: [{ key: "key", value: "value", effect: "NoSchedule" }] });
  env.start();
  await createPod(c, "huge", { cpu: "2" });
  const want = "0/3 nodes are available: 1 node(s) had untolerated taint {key: value}, 2 Insufficient cpu. " +
    "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..";
  const cond = await waitFor(
    "the PodScheduled=False condition",
    async () =>
      (await getPod(c, "huge")).status?.conditions?.find((x: { type: string; status: string }) =>
        x.type === "PodScheduled" && x.status === "False"
      ),
  );
  assert.equal(cond.reason, "Unschedulable");
  assert.equal(cond.message, want);
  const ev = await waitFor(
    "the FailedScheduling event",
    async () => (await eventsFor(c, "huge", "FailedScheduling"))[0],
  );
  assert.equal(ev.type, "Warning");
  assert.equal(ev.message, want);
});

Deno.test("an unschedulable pod is scheduled once a node that fits it is added", async () => {
  await using env = await setup();
  const c = env.client;
  await createNode(c, "plain");
  const { s } = env.start();
  await createPod(c, "wants-gpu", { nodeSelector: { gpu: "true" } });
  await waitFor(
    "the pod to be parked as unschedulable",
    () => Promise.resolve(s.queue.where("default/wants-gpu") === "unschedulable"),
  );
  await createNode(c, "gpu-node", { labels: { gpu: "true" } });
  const node = await waitFor("the pod to be bound", async () => (await getPod(c, "wants-gpu")).spec.nodeName);
  assert.equal(node, "gpu-node");
});

Deno.test("a pending high-priority pod preempts a lower-priority pod", async () => {
  await using env = await setup();
  const c = env.client;
  await c.create(R.priorityclasses, {
    apiVersion: "scheduling.k8s.io/v1",
    kind: "PriorityClass",
    metadata: { name: "high" },
    value: 1000,
  });
  await createNode(c, "only", { cpu: "2" });
  const { s } = env.start();
  await createPod(c, "victim", { cpu: "1500m" });
  await waitFor("the victim bound", async () => (await getPod(c, "victim")).spec.nodeName);
  await createPod(c, "vip", { cpu: "1", priorityClassName: "high" });

  const victim = await waitFor("the victim to be deleted gracefully", async () => {
    const v = await c.tryGet(R.pods, "default", "victim");
    return v?.metadata.deletionTimestamp ? v : undefined;
  });
  const disruption = victim.status.conditions.find((x: { type: string }) => x.type === "DisruptionTarget");
  assert.equal(disruption?.reason, "PreemptionByScheduler");
  const vip = await waitFor("the preemptor's nomination", async () => {
    const p = await getPod(c, "vip");
    return p.status?.nominatedNodeName ? p : undefined;
  });
  assert.equal(vip.status.nominatedNodeName, "only");
  assert.equal(vip.spec.nodeName, undefined);
  const ev = await waitFor("the Preempted event", async () => (await eventsFor(c, "victim", "Preempted"))[0]);
  assert.equal(ev.message, `Preempted by pod ${vip.metadata.uid} on node only`);
  assert.equal(s.stats.preemptions, 1);

  // The node agent would finish the victim's graceful deletion; do it as it would.
  await c.delete(R.pods, "default", "victim", { gracePeriodSeconds: 0 });
  const bound = await waitFor("the preemptor bound", async () => (await getPod(c, "vip")).spec.nodeName);
  assert.equal(bound, "only");
});

Deno.test("a pod with a RuntimeClass lands only on a node advertising its handler", async () => {
  await using env = await setup();
  const c = env.client;
  await c.create(R.runtimeclasses, {
    apiVersion: "node.k8s.io/v1",
    kind: "RuntimeClass",
    metadata: { name: "wasm" },
    handler: "wasmtime",
    scheduling: {
      nodeSelector: { "skiff.dev/wasm": "true" },
      tolerations: [{ key: "skiff.dev/wasm-only", operator: "Exists" }],
    },
  });
  await createNode(c, "runc-only", { handlers: ["runc"], labels: { "skiff.dev/wasm": "true" } });
  await createNode(c, "unlabelled", { handlers: ["runc", "wasmtime"] });
  await createNode(c, "wasm", {
    handlers: ["runc", "wasmtime"],
    labels: { "skiff.dev/wasm": "true" },
    taints: [{ key: "skiff.dev/wasm-only", value: "", effect: "NoSchedule" }],
  });
  env.start();
  await createPod(c, "component", { runtimeClassName: "wasm" });
  await createPod(c, "ghost", { runtimeClassName: "gvisor" });
  const node = await waitFor("the pod bound", async () => (await getPod(c, "component")).spec.nodeName);
  assert.equal(node, "wasm");
  const ev = await waitFor(
    "the FailedScheduling event of the pod with a missing class",
    async () => (await eventsFor(c, "ghost", "FailedScheduling"))[0],
  );
  assert.equal(
    ev.message,
    `0/3 nodes are available: RuntimeClass "gvisor" not found. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..`,
  );
});

Deno.test("pods for another scheduler are left alone", async () => {
  await using env = await setup();
  const c = env.client;
  await createNode(c, "n");
  const { s } = env.start();
  await createPod(c, "mine");
  await createPod(c, "theirs", { schedulerName: "other-scheduler" });
  await waitFor("my pod bound", async () => (await getPod(c, "mine")).spec.nodeName);
  await s.settled();
  assert.equal((await getPod(c, "theirs")).spec.nodeName, undefined);
  assert.equal(s.stats.attempts, 1);
});

Deno.test("an isolated pod binds at once although bindings are held in bursts while the queue is busy", async () => {
  await using env = await setup();
  const c = env.client;
  await createNode(c, "n");
  // Bursts that would wait ten minutes: only the empty queue can release this pod's binding.
  const { s } = env.start({ bindingBurst: 1000, bindingBurstMs: 600_000 });
  await createPod(c, "alone");
  await waitFor("the pod bound", async () => (await getPod(c, "alone")).spec.nodeName);
  assert.equal(s.stats.bindingBursts, 1);
});

Deno.test("pods waiting together are bound in bursts, each bounded by parallelBindings", async () => {
  await using env = await setup();
  const c = env.client;
  await createNode(c, "n", { pods: "200" });
  for (let i = 0; i < 40; i++) await createPod(c, `p${i}`);
  const { s } = env.start({ bindingBurst: 1000, bindingBurstMs: 600_000, parallelBindings: 8 });
  await waitFor("all 40 pods bound", () => Promise.resolve(s.stats.bound === 40));
  // 40 pods queued before the first cycle: bursts of up to 8 (held + in flight reach
  // parallelBindings); the loop's I/O yield every 10 ms also releases a burst, so a slow machine
  // makes a few more. Without holding there would be 40 (one per binding).
  assert.ok(s.stats.bindingBursts <= 20, `${s.stats.bindingBursts} bursts for 40 bindings`);
  const pods = await c.list(R.pods, "default");
  assert.ok(pods.items.every((p) => p.spec.nodeName === "n"));
});

Deno.test("two scheduler replicas racing for the same pods never double-bind one", async () => {
  await using env = await setup();
  const c = env.client;
  for (let i = 0; i < 4; i++) await createNode(c, `n${i}`, { pods: "200" });
  const N = 120;
  await Promise.all(Array.from({ length: N }, (_, i) => createPod(c, `p${i}`)));
  const a = env.start({ identity: "a" });
  const b = env.start({ identity: "b" });
  await waitFor(
    "every pod bound",
    async () => (await c.list(R.pods, "default")).items.every((p) => p.spec.nodeName),
    30_000,
  );
  await a.s.settled();
  await b.s.settled();
  assert.equal(a.s.stats.bound + b.s.stats.bound, N, "each pod was bound exactly once");
  const scheduled = (await c.list(R.events, "default")).items.filter((e) => e.reason === "Scheduled");
  assert.equal(scheduled.length, N);
  assert.equal(new Set(scheduled.map((e) => e.involvedObject.name)).size, N);
  console.log(
    `replica a bound ${a.s.stats.bound}, b bound ${b.s.stats.bound}; conflicts a ${a.s.stats.bindConflicts}, b ${b.s.stats.bindConflicts}`,
  );
});

Deno.test("with leader election only the replica holding kube-system/kube-scheduler schedules, and a standby takes over", async () => {
  await using env = await setup();
  const c = env.client;
  await createNode(c, "n");
  const le = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200 };
  const first = env.start({ identity: "first", leaderElection: le });
  await waitFor("first to lead", () => Promise.resolve(first.s.leading));
  const second = env.start({ identity: "second", leaderElection: le });
  const lease = await c.get(R.leases, "kube-system", "kube-scheduler");
  assert.equal(lease.spec.holderIdentity, "first");
  await createPod(c, "p1");
  await waitFor("p1 bound", async () => (await getPod(c, "p1")).spec.nodeName);
  assert.equal(first.s.stats.bound, 1);
  assert.equal(second.s.stats.attempts, 0);
  assert.equal(second.s.leading, false);

  first.ac.abort();
  await first.done;
  await waitFor("second to lead", () => Promise.resolve(second.s.leading));
  await createPod(c, "p2");
  await waitFor("p2 bound", async () => (await getPod(c, "p2")).spec.nodeName);
  assert.equal(second.s.stats.bound, 1);
});
