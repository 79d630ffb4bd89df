/**
 * Leader election against the real API server: in-process electors (clean release, crash
 * takeover, skewed clocks), and two `controller-manager` (then two `scheduler`) processes where
 * the leader is SIGKILLed and the standby takes over without duplicating work.
 * @module
 */
import assert from "node:assert/strict";
import { writeKubeconfig } from "../cli/kubeconfig.ts";
import { Client, R } from "../control/api/client.ts";
import { LeaderElector } from "../control/api/leader.ts";
import type { KubeObject } from "../control/api/types.ts";
import { startControlPlane } from "../control/mod.ts";
import { makeNode } from "../control/scheduler/testing.ts";
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

const TIMING = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 200 };
const HOUR = 3_600_000;

/** Runs an elector in the background; `leading` says whether its callback is running. */
function campaign(
  client: Client,
  identity: string,
  extra: Partial<ConstructorParameters<typeof LeaderElector>[1]> = {},
) {
  const ac = new AbortController();
  const state = { leading: false, terms: 0 };
  const elector = new LeaderElector(client, {
    namespace: "kube-system",
    name: "test-lock",
    identity,
    ...TIMING,
    ...extra,
  });
  const done = elector.run(ac.signal, async (leading) => {
    state.leading = true;
    state.terms++;
    await new Promise<void>((r) => leading.addEventListener("abort", () => r(), { once: true }));
    state.leading = false;
  });
  return { state, stop: async () => (ac.abort(), await done), done };
}

Deno.test("a standby takes over at once when the leader releases the lease on shutdown, despite skewed clocks", async () => {
  await using cp = await controlPlane();
  // Clocks two hours apart: expiry is judged by each candidate's own observations.
  const a = campaign(cp.client, "a", { now: () => Date.now() + HOUR });
  await eventually("a to lead", () => a.state.leading);
  const b = campaign(cp.client, "b", { now: () => Date.now() - HOUR });
  await new Promise((r) => setTimeout(r, TIMING.leaseDurationMs + 500));
  assert.equal(b.state.leading, false, "b must not lead while a renews");
  const t = Date.now();
  await a.stop();
  await eventually("b to lead", () => b.state.leading);
  assert.ok(Date.now() - t < 1_500, `took over in ${Date.now() - t} ms`);
  const lease = await cp.client.get<KubeObject>(R.leases, "kube-system", "test-lock");
  assert.equal(lease.spec.holderIdentity, "b");
  assert.equal(lease.spec.leaseTransitions, 1);
  assert.equal(lease.spec.leaseDurationSeconds, 2);
  await b.stop();
  const released = await cp.client.get<KubeObject>(R.leases, "kube-system", "test-lock");
  assert.deepEqual([released.spec.holderIdentity, released.spec.leaseDurationSeconds], ["", 1]);
});

Deno.test("a standby takes over a crashed leader's lease only after the lease duration", async () => {
  await using cp = await controlPlane();
  const a = campaign(cp.client, "a", { releaseOnCancel: false });
  await eventually("a to lead", () => a.state.leading);
  const b = campaign(cp.client, "b");
  await new Promise((r) => setTimeout(r, 500));
  const t = Date.now();
  await a.stop(); // stops renewing without releasing: a crash, as far as b can tell
  await eventually("b to lead", () => b.state.leading, 10_000);
  const waited = Date.now() - t;
  assert.ok(waited >= TIMING.leaseDurationMs - TIMING.retryPeriodMs * 2, `took over after ${waited} ms`);
  assert.ok(waited <= TIMING.leaseDurationMs + 1_500, `took over after ${waited} ms`);
  await b.stop();
});

Deno.test("a leader that cannot renew within the deadline stops leading", async () => {
  await using cp = await controlPlane();
  const a = campaign(cp.client, "a");
  await eventually("a to lead", () => a.state.leading);
  // Someone else grabs the lease behind a's back: a's renewals now conflict.
  const lease = await cp.client.get<KubeObject>(R.leases, "kube-system", "test-lock");
  await cp.client.update(R.leases, { ...lease, spec: { ...lease.spec, holderIdentity: "intruder" } });
  await eventually("a to step down", () => !a.state.leading, 5_000);
  await a.stop();
});

// ---------------------------------------------------------------------------------------------
// Two component processes (`./skiff controller-manager`, `./skiff scheduler`).

/** Spawns `./skiff <command>` with a 4 s lease, a 3 s renew deadline and a 500 ms retry period. */
function spawnComponent(command: "controller-manager" | "scheduler", kubeconfig: string, identity: string) {
  const child = new Deno.Command(`${ROOT}/skiff`, {
    args: [
      command,
      "--kubeconfig",
      kubeconfig,
      "--identity",
      identity,
      "--leader-elect-lease-duration",
      "4s",
      "--leader-elect-renew-deadline",
      "3s",
      "--leader-elect-retry-period",
      "500ms",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reading = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) log += chunk;
  })();
  return {
    identity,
    child,
    log: () => log,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      const status = await child.status;
      await reading;
      return status;
    },
  };
}

Deno.test("when the leading controller-manager process is killed, the standby takes over within 15 s without duplicating work", async () => {
  await using cp = await controlPlane();
  await using dir = await tempDir();
  const kubeconfig = `${dir.path}/kubeconfig`;
  await writeKubeconfig(kubeconfig, cp.url);
  const { client } = cp;
  const managers = [
    spawnComponent("controller-manager", kubeconfig, "cm-a"),
    spawnComponent("controller-manager", kubeconfig, "cm-b"),
  ];
  try {
    const leader = await eventually("a leader", async () => {
      const l = await client.tryGet<KubeObject>(R.leases, "kube-system", "kube-controller-manager");
      return l?.spec?.holderIdentity || undefined;
    }, 60_000);
    const active = managers.find((m) => m.identity === leader)!;
    const standby = managers.find((m) => m.identity !== leader)!;

    // Work for the leader: a ReplicaSet, a Service (slices), a namespace (ServiceAccount).
    await client.create(R.replicasets, {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "web", namespace: "default" },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "app", image: "example/app" }] },
        },
      },
    });
    await client.create(R.services, {
      metadata: { name: "web", namespace: "default" },
      spec: { selector: { app: "web" }, ports: [{ port: 80 }] },
    });
    const pods = () => client.list(R.pods, "default", { labelSelector: "app=web" }).then((l) => l.items);
    const slices = () =>
      client.list(R.endpointslices, "default", { labelSelector: "kubernetes.io/service-name=web" }).then((
        l,
      ) => l.items);
    await eventually(
      "three pods and one slice",
      async () => (await pods()).length === 3 && (await slices()).length === 1,
      30_000,
    );

    const killedAt = Date.now();
    await active.stop("SIGKILL");
    const next = await eventually("the standby to hold the lease", async () => {
      const l = await client.get<KubeObject>(R.leases, "kube-system", "kube-controller-manager");
      return l.spec.holderIdentity === standby.identity ? l : undefined;
    }, 20_000);
    const tookOver = Date.now() - killedAt;
    assert.ok(tookOver < 15_000, `the standby took over after ${tookOver} ms`);
    assert.ok(next.spec.leaseTransitions >= 1);

    // The new leader works (a new namespace gets its ServiceAccount) and duplicates nothing.
    await client.create(R.namespaces, { metadata: { name: "after" } });
    await eventually(
      "the new leader to act",
      async () => !!(await client.tryGet(R.serviceaccounts, "after", "default")),
      20_000,
    );
    const rs = await client.get<KubeObject>(R.replicasets, "default", "web");
    await client.update(R.replicasets, { ...rs, spec: { ...rs.spec, replicas: 4 } });
    await eventually("four pods", async () => (await pods()).length === 4, 20_000);
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal((await pods()).length, 4, "no duplicate pods");
    assert.equal((await slices()).length, 1, "no duplicate endpoint slices");
    assert.match(standby.log(), /new leader elected: cm-b|new leader elected: cm-a/);
  } finally {
    for (const m of managers) await m.stop();
  }
});

Deno.test("when the leading scheduler process is killed, the standby binds a new pod within 15 s and no pod is bound twice", async () => {
  await using cp = await controlPlane();
  await using dir = await tempDir();
  const kubeconfig = `${dir.path}/kubeconfig`;
  await writeKubeconfig(kubeconfig, cp.url);
  const { client } = cp;
  for (const name of ["n1", "n2"]) await client.create(R.nodes, makeNode(name));
  const pod = (name: string): KubeObject => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { containers: [{ name: "app", image: "example/app" }] },
  });

  // Every binding, as a watch sees it: pod name -> the node names it was given, in order.
  const bindings = new Map<string, string[]>();
  const stopWatch = new AbortController();
  const from = (await client.list(R.pods, "default")).metadata.resourceVersion;
  const watching = (async () => {
    for await (
      const ev of client.watch(R.pods, "default", { resourceVersion: from, signal: stopWatch.signal })
    ) {
      const node = ev.object?.spec?.nodeName;
      if (ev.type === "ERROR" || !node) continue;
      const seen = bindings.get(ev.object.metadata.name!) ?? [];
      if (seen.at(-1) !== node) bindings.set(ev.object.metadata.name!, [...seen, node]);
    }
  })();

  const schedulers = [
    spawnComponent("scheduler", kubeconfig, "sched-a"),
    spawnComponent("scheduler", kubeconfig, "sched-b"),
  ];
  try {
    const leader = await eventually("a leader", async () => {
      const l = await client.tryGet<KubeObject>(R.leases, "kube-system", "kube-scheduler");
      return l?.spec?.holderIdentity || undefined;
    }, 60_000);
    const active = schedulers.find((s) => s.identity === leader)!;
    const standby = schedulers.find((s) => s.identity !== leader)!;
    const bound = async (name: string) =>
      (await client.get<KubeObject>(R.pods, "default", name)).spec.nodeName;
    /** The number of times each pod was reported Scheduled (an Event's `count` included). */
    const scheduledCounts = async () => {
      const counts = new Map<string, number>();
      for (const e of (await client.list(R.events, "default")).items) {
        if (e.reason !== "Scheduled") continue;
        counts.set(e.involvedObject?.name, (counts.get(e.involvedObject?.name) ?? 0) + (e.count ?? 1));
      }
      return counts;
    };

    const before = ["before-0", "before-1", "before-2"];
    for (const name of before) await client.create(R.pods, pod(name));
    await eventually("the leader to bind three pods and report them Scheduled", async () => {
      for (const name of before) if (!(await bound(name))) return false;
      const counts = await scheduledCounts();
      return before.every((name) => counts.has(name));
    }, 20_000);

    const killedAt = Date.now();
    await active.stop("SIGKILL");
    await client.create(R.pods, pod("after"));
    const node = await eventually("the standby to bind the new pod", () => bound("after"), 15_000);
    const tookOver = Date.now() - killedAt;
    assert.ok(tookOver < 15_000, `the new pod was bound ${tookOver} ms after the kill`);
    assert.ok(["n1", "n2"].includes(node));
    const lease = await client.get<KubeObject>(R.leases, "kube-system", "kube-scheduler");
    assert.equal(lease.spec.holderIdentity, standby.identity);
    assert.ok(lease.spec.leaseTransitions >= 1);

    // No pod bound twice: one node per pod in the watch, one Scheduled event per pod.
    await eventually("the watch to see every binding", () => bindings.size === 4 || undefined, 5_000);
    for (const [name, nodes] of bindings) {
      assert.equal(nodes.length, 1, `${name} was bound to ${nodes.join(", ")}`);
    }
    const counts = await eventually("the new pod's Scheduled event", async () => {
      const counts = await scheduledCounts();
      return counts.has("after") ? counts : undefined;
    }, 5_000);
    for (const name of [...before, "after"]) {
      assert.equal(counts.get(name), 1, `${name} was reported Scheduled ${counts.get(name)} times`);
    }
    assert.match(standby.log(), /scheduler: sched-[ab] talking to/);
  } finally {
    stopWatch.abort();
    await watching;
    for (const s of schedulers) await s.stop();
  }
});
