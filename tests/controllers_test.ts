/**
 * The infrastructure controllers against the real in-process API server, with simulated nodes
 * and the scheduler: garbage collection (Background, Foreground, Orphan, dangling owners),
 * namespace deletion, node heartbeats and taint-based eviction, endpoints following readiness,
 * default ServiceAccounts and pod GC.
 * @module
 */
import assert from "node:assert/strict";
import { Client, R } from "../control/api/client.ts";
import { isApiError } from "../control/api/status.ts";
import type { KubeObject } from "../control/api/types.ts";
import { type ControllerManagerOptions, startControllerManager } from "../control/controllers/manager.ts";
import { startControlPlane } from "../control/mod.ts";
import { startScheduler } from "../control/scheduler/mod.ts";
import { NodeSimulator, type SimulatorOptions } from "../node/simulated/mod.ts";
import { eventually, kubectlTest, startCluster } from "./harness.ts";

interface Env extends AsyncDisposable {
  client: Client;
  url: string;
  sim: NodeSimulator | null;
  kubectl?: (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;
}

interface EnvOptions {
  nodes?: number;
  sim?: Partial<SimulatorOptions>;
  manager?: ControllerManagerOptions;
  scheduler?: boolean;
  /** Use the harness cluster (with kubectl) instead of an in-memory KV. */
  harness?: boolean;
  /** The in-memory API server's DefaultTolerationSeconds (`--default-*-toleration-seconds`). */
  tolerationSeconds?: { notReady: number; unreachable: number };
}

const FAST: ControllerManagerOptions = {
  leaderElect: false,
  nodeMonitorGracePeriodMs: 2_000,
  nodeLifecycle: { monitorPeriodMs: 200, startupGracePeriodMs: 2_000, evictionRate: 10 },
  podGC: { gcCheckPeriodMs: 200, quarantineMs: 500 },
  namespace: { pollMs: 200 },
};

async function startEnv(opts: EnvOptions = {}): Promise<Env> {
  const cleanups: (() => Promise<void>)[] = [];
  let url: string;
  let kubectl: Env["kubectl"];
  if (opts.harness) {
    const cluster = await startCluster();
    cleanups.push(() => cluster.close());
    url = cluster.url;
    kubectl = (args) => cluster.kubectl(args);
  } else {
    const kv = await Deno.openKv(":memory:");
    const cp = await startControlPlane({ kv, port: 0, defaultTolerationSeconds: opts.tolerationSeconds });
    cleanups.push(async () => {
      await cp.close();
      kv.close();
    });
    url = cp.url;
  }
  const client = new Client({ server: url });
  const ac = new AbortController();
  const manager = startControllerManager({
    client,
    signal: ac.signal,
    options: { ...FAST, ...opts.manager },
  });
  cleanups.push(() => manager.done);
  if (opts.scheduler !== false) {
    const s = startScheduler({ client, signal: ac.signal, leaderElection: false });
    cleanups.push(() => s.done);
  }
  let sim: NodeSimulator | null = null;
  if (opts.nodes) {
    sim = new NodeSimulator(client, { count: opts.nodes, leaseIntervalMs: 300, ...opts.sim });
    await sim.start();
    const s = sim;
    cleanups.push(() => s.stop());
  }
  return {
    client,
    url,
    sim,
    kubectl,
    async [Symbol.asyncDispose]() {
      ac.abort();
      for (const c of cleanups.reverse()) await c();
    },
  };
}

const pod = (name: string, ns = "default", extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: ns, labels: { app: "web" } },
  spec: {
    terminationGracePeriodSeconds: 30,
    containers: [{ name: "app", image: "example/app", ports: [{ name: "http", containerPort: 8080 }] }],
  },
  ...extra,
});

const ownerRef = (owner: KubeObject, block = true) => ({
  apiVersion: owner.apiVersion ?? "v1",
  kind: owner.kind ?? "ConfigMap",
  name: owner.metadata.name!,
  uid: owner.metadata.uid!,
  blockOwnerDeletion: block,
});

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

const gone = async (client: Client, r: typeof R.pods, ns: string, name: string) =>
  !(await client.tryGet(r, ns, name));

Deno.test("the garbage collector deletes the dependents of an owner deleted in the background", async () => {
  await using env = await startEnv({ nodes: 1 });
  const { client } = env;
  const owner = await client.create<KubeObject>(R.configmaps, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "owner", namespace: "default" },
  });
  await client.create(
    R.pods,
    pod("dep-a", "default", {
      metadata: { name: "dep-a", namespace: "default", ownerReferences: [ownerRef(owner)] },
    }),
  );
  await client.create(R.configmaps, {
    metadata: { name: "dep-b", namespace: "default", ownerReferences: [ownerRef(owner, false)] },
  });
  await client.delete(R.configmaps, "default", "owner", { propagationPolicy: "Background" });
  await eventually(
    "the dependents to go",
    async () =>
      await gone(client, R.pods, "default", "dep-a") && await gone(client, R.configmaps, "default", "dep-b"),
  );
});

Deno.test("the garbage collector deletes objects whose owner never existed or was replaced", async () => {
  await using env = await startEnv({ scheduler: false });
  const { client } = env;
  const ghost = {
    apiVersion: "v1",
    kind: "ConfigMap",
    name: "ghost",
    uid: "00000000-0000-0000-0000-000000000000",
  };
  await client.create(R.configmaps, {
    metadata: { name: "orphaned", namespace: "default", ownerReferences: [ghost] },
  });
  const real = await client.create<KubeObject>(R.configmaps, {
    metadata: { name: "real", namespace: "default" },
  });
  // One real owner and one dangling: the object stays and loses the dangling reference.
  await client.create(R.configmaps, {
    metadata: { name: "half", namespace: "default", ownerReferences: [ghost, ownerRef(real, false)] },
  });
  // An owner of that name exists, but it is another object (another uid): dangling too.
  await client.create(R.configmaps, {
    metadata: {
      name: "stale",
      namespace: "default",
      ownerReferences: [{ ...ownerRef(real), uid: "11111111-1111-1111-1111-111111111111" }],
    },
  });
  await eventually("the orphaned object to go", () => gone(client, R.configmaps, "default", "orphaned"));
  await eventually("the object with a stale uid to go", () => gone(client, R.configmaps, "default", "stale"));
  assert.ok(await client.tryGet(R.configmaps, "default", "real"), "the owner itself stays");
  const half: KubeObject = await eventually("the dangling reference to be dropped", async () => {
    const o = await client.get(R.configmaps, "default", "half");
    return o.metadata.ownerReferences?.length === 1 ? o : undefined;
  });
  assert.equal(half.metadata.ownerReferences![0].uid, real.metadata.uid);
});

Deno.test("foreground deletion removes blocking dependents, deepest first, before the owner", async () => {
  await using env = await startEnv({ nodes: 1 });
  const { client } = env;
  const root = await client.create<KubeObject>(R.configmaps, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "root", namespace: "default" },
  });
  const mid = await client.create<KubeObject>(R.configmaps, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "mid", namespace: "default", ownerReferences: [ownerRef(root)] },
  });
  await client.create(
    R.pods,
    pod("leaf", "default", {
      metadata: { name: "leaf", namespace: "default", ownerReferences: [ownerRef(mid)] },
    }),
  );
  await eventually(
    "the leaf pod to run",
    async () => (await client.get(R.pods, "default", "leaf")).status?.phase === "Running",
  );

  const order: string[] = [];
  const watchAbort = new AbortController();
  const watching = (async () => {
    for await (const ev of client.watch(R.configmaps, "default", { signal: watchAbort.signal })) {
      if (ev.type === "DELETED") order.push(ev.object.metadata.name!);
    }
  })();
  const podWatch = (async () => {
    for await (const ev of client.watch(R.pods, "default", { signal: watchAbort.signal })) {
      if (ev.type === "DELETED") order.push(ev.object.metadata.name!);
    }
  })();
  try {
    const answer = await client.delete(R.configmaps, "default", "root", { propagationPolicy: "Foreground" });
    assert.ok(answer.metadata.finalizers?.includes("foregroundDeletion"));
    assert.ok((await client.get(R.configmaps, "default", "root")).metadata.deletionTimestamp);
    await eventually("root to go", () => gone(client, R.configmaps, "default", "root"));
    await eventually("the watch to see all three deletions", () => Promise.resolve(order.length >= 3));
  } finally {
    watchAbort.abort();
    await Promise.all([watching, podWatch]);
  }
  assert.deepEqual(order.filter((n) => ["root", "mid", "leaf"].includes(n)), ["leaf", "mid", "root"]);
});

Deno.test("orphan deletion removes the owner and strips its references from the dependents", async () => {
  await using env = await startEnv({ scheduler: false });
  const { client } = env;
  const owner = await client.create<KubeObject>(R.configmaps, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "owner", namespace: "default" },
  });
  const other = await client.create<KubeObject>(R.configmaps, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "other", namespace: "default" },
  });
  await client.create(R.configmaps, {
    metadata: { name: "a", namespace: "default", ownerReferences: [ownerRef(owner)] },
  });
  await client.create(R.configmaps, {
    metadata: { name: "b", namespace: "default", ownerReferences: [ownerRef(owner), ownerRef(other)] },
  });
  await client.delete(R.configmaps, "default", "owner", { propagationPolicy: "Orphan" });
  await eventually("the owner to go", () => gone(client, R.configmaps, "default", "owner"));
  const a = await client.get(R.configmaps, "default", "a");
  const b = await client.get(R.configmaps, "default", "b");
  assert.deepEqual(a.metadata.ownerReferences ?? [], []);
  assert.deepEqual(b.metadata.ownerReferences!.map((r) => r.name), ["other"]);
});

kubectlTest("kubectl delete deployment removes its ReplicaSet and pods", async () => {
  await using env = await startEnv({ nodes: 2, harness: true });
  const { client } = env;
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default" },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "app", image: "example/app" }] },
      },
    },
  };
  await client.create(R.deployments, deployment);
  await eventually("three running pods", async () => {
    const pods = (await client.list(R.pods, "default", { labelSelector: "app=web" })).items;
    return pods.filter((p) => p.status?.phase === "Running").length === 3;
  }, 30_000);
  const r = await env.kubectl!(["delete", "deployment", "web", "--timeout=60s"]);
  assert.equal(r.code, 0, r.stderr);
  await eventually(
    "the ReplicaSet and pods to go",
    async () =>
      (await client.list(R.replicasets, "default")).items.length === 0 &&
      (await client.list(R.pods, "default", { labelSelector: "app=web" })).items.length === 0,
    30_000,
  );
});

kubectlTest("kubectl delete ns empties the namespace and reports the deletion conditions", async () => {
  await using env = await startEnv({ nodes: 1, harness: true });
  const { client } = env;
  await client.create(R.namespaces, { metadata: { name: "team" } });
  await client.create(R.configmaps, { metadata: { name: "cfg", namespace: "team" } });
  await client.create(R.services, {
    metadata: { name: "web", namespace: "team" },
    spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: "http" }] },
  });
  for (const n of ["p1", "p2"]) await client.create(R.pods, pod(n, "team"));
  await eventually(
    "pods running and the default ServiceAccount",
    async () =>
      (await client.list(R.pods, "team")).items.every((p) => p.status?.phase === "Running") &&
      !!(await client.tryGet(R.serviceaccounts, "team", "default")),
  );

  const seen: KubeObject[] = [];
  const ac = new AbortController();
  const watching = (async () => {
    for await (
      const ev of client.watch(R.namespaces, undefined, {
        fieldSelector: "metadata.name=team",
        signal: ac.signal,
      })
    ) {
      seen.push(ev.object);
    }
  })();
  try {
    const r = await env.kubectl!(["delete", "ns", "team", "--timeout=60s"]);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    ac.abort();
    await watching;
  }
  assert.equal(await client.tryGet(R.namespaces, "", "team"), null);
  for (const res of [R.pods, R.configmaps, R.services, R.serviceaccounts, R.endpoints, R.endpointslices]) {
    assert.deepEqual((await client.list(res, "team")).items.map((o) => o.metadata.name), [], res.plural);
  }
  const types = new Set(
    seen.flatMap((ns) => (ns.status?.conditions ?? []).map((c: { type: string }) => c.type)),
  );
  for (
    const t of [
      "NamespaceDeletionDiscoveryFailure",
      "NamespaceDeletionContentFailure",
      "NamespaceContentRemaining",
    ]
  ) {
    assert.ok(types.has(t), `${t} was reported`);
  }
});

Deno.test("a node that stops heartbeating goes Unknown, is tainted, and its pods are recreated elsewhere", async () => {
  // The API server gives every pod 1 s not-ready/unreachable tolerations instead of 300 s.
  await using env = await startEnv({ nodes: 2, tolerationSeconds: { notReady: 1, unreachable: 1 } });
  const { client, sim } = env;
  await client.create(R.replicasets, {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "web", namespace: "default" },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "app", image: "example/app" }] },
      },
    },
  });
  const running = await eventually("four running pods", async () => {
    const pods = (await client.list(R.pods, "default", { labelSelector: "app=web" })).items;
    return pods.filter((p) => p.status?.phase === "Running").length === 4 ? pods : undefined;
  }, 30_000);
  for (const p of running) {
    assert.deepEqual(
      p.spec.tolerations.map((t: { key: string; tolerationSeconds: number }) => [t.key, t.tolerationSeconds]),
      [["node.kubernetes.io/not-ready", 1], ["node.kubernetes.io/unreachable", 1]],
    );
  }
  const victim = running[0].spec.nodeName as string;
  const survivor = sim!.names.find((n) => n !== victim)!;
  const onVictim = running.filter((p) => p.spec.nodeName === victim).map((p) => p.metadata.name!);
  sim!.pause(victim);

  const node = await eventually("the node to go Unknown and be tainted", async () => {
    const n = await client.get(R.nodes, "", victim);
    const ready = n.status.conditions.find((c: { type: string }) => c.type === "Ready");
    const tainted = (n.spec.taints ?? []).some((t: { key: string; effect: string }) =>
      t.key === "node.kubernetes.io/unreachable" && t.effect === "NoExecute"
    );
    return ready.status === "Unknown" && tainted ? n : undefined;
  });
  const ready = node.status.conditions.find((c: { type: string }) => c.type === "Ready");
  assert.equal(ready.reason, "NodeStatusUnknown");
  assert.equal(ready.message, "Kubelet stopped posting node status.");

  await eventually("four running pods on the surviving node, the old ones terminating", async () => {
    const pods = (await client.list(R.pods, "default", { labelSelector: "app=web" })).items;
    const live = pods.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === "Running");
    const evicted = pods.filter((p) => onVictim.includes(p.metadata.name!));
    return live.length === 4 && live.every((p) => p.spec.nodeName === survivor) &&
      evicted.every((p) => p.metadata.deletionTimestamp);
  }, 30_000);
  const events = (await client.list(R.events, "default")).items;
  assert.ok(
    events.some((e) =>
      e.reason === "TaintManagerEviction" && e.message === `Marking for deletion Pod default/${onVictim[0]}`
    ),
  );
  const evicted = await client.get(R.pods, "default", onVictim[0]);
  assert.ok(
    evicted.status.conditions.some((c: { type: string; reason: string }) =>
      c.type === "DisruptionTarget" && c.reason === "DeletionByTaintManager"
    ),
  );

  // The kubelet comes back: it finishes the evicted pods and the taints go.
  sim!.resume(victim);
  await eventually("the node to be Ready and untainted again", async () => {
    const n = await client.get(R.nodes, "", victim);
    const r = n.status.conditions.find((c: { type: string }) => c.type === "Ready");
    return r.status === "True" && !(n.spec.taints ?? []).length;
  });
  await eventually("the evicted pods to be gone", async () => {
    for (const name of onVictim) if (!(await gone(client, R.pods, "default", name))) return false;
    return true;
  });
});

Deno.test("endpoints and endpoint slices follow pod readiness and named ports", async () => {
  // The pods are bound by hand to a node that does not exist: keep pod GC from collecting them.
  await using env = await startEnv({
    scheduler: false,
    manager: { controllers: ["*", "-pod-garbage-collector-controller"] },
  });
  const { client } = env;
  await client.create(R.services, {
    metadata: { name: "web", namespace: "default", labels: { team: "a" } },
    spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
  });
  // Two pods whose "http" ports differ, bound to a node by hand, statuses posted as a kubelet would.
  const mk = async (name: string, port: number, ip: string) => {
    const p = pod(name);
    p.spec.containers[0].ports = [{ name: "http", containerPort: port }];
    p.spec.nodeName = "n1";
    const created = await client.create(R.pods, p);
    await client.updateStatus(R.pods, {
      ...created,
      status: {
        phase: "Running",
        podIP: ip,
        podIPs: [{ ip }],
        conditions: [{ type: "Ready", status: "False", lastTransitionTime: now() }],
      },
    });
  };
  await mk("a", 8080, "198.18.1.2");
  await mk("b", 9090, "198.18.1.3");
  const notReady: KubeObject = await eventually("not-ready addresses", async () => {
    const ep = await client.tryGet(R.endpoints, "default", "web");
    return ep?.subsets?.length === 2 &&
        ep.subsets.every((s: { notReadyAddresses?: unknown[] }) => s.notReadyAddresses?.length === 1)
      ? ep
      : undefined;
  });
  assert.deepEqual(notReady.subsets.map((s: { ports: { port: number }[] }) => s.ports[0].port).sort(), [
    8080,
    9090,
  ]);
  assert.equal(notReady.metadata.labels?.team, "a");
  assert.ok(notReady.metadata.annotations?.["endpoints.kubernetes.io/last-change-trigger-time"]);

  const a = await client.get(R.pods, "default", "a");
  await client.updateStatus(R.pods, {
    ...a,
    status: { ...a.status, conditions: [{ type: "Ready", status: "True", lastTransitionTime: now() }] },
  });
  await eventually("a ready address for a", async () => {
    const ep = await client.get(R.endpoints, "default", "web");
    return ep.subsets.some((s: { addresses?: { ip: string }[] }) => s.addresses?.[0]?.ip === "198.18.1.2");
  });
  const slices = await eventually("slices with conditions", async () => {
    const items =
      (await client.list(R.endpointslices, "default", { labelSelector: "kubernetes.io/service-name=web" }))
        .items;
    const ready = items.flatMap((s) => s.endpoints ?? []).filter((e: { conditions: { ready: boolean } }) =>
      e.conditions.ready
    );
    return items.length === 2 && ready.length === 1 ? items : undefined;
  });
  for (const s of slices) {
    assert.equal(
      s.metadata.labels?.["endpointslice.kubernetes.io/managed-by"],
      "endpointslice-controller.k8s.io",
    );
    assert.equal(s.metadata.ownerReferences?.[0].kind, "Service");
  }

  // A terminating pod stays in the slices as terminating, and leaves the Endpoints.
  await client.delete(R.pods, "default", "b");
  await eventually("b to be terminating in slices and gone from Endpoints", async () => {
    const ep = await client.get(R.endpoints, "default", "web");
    const items =
      (await client.list(R.endpointslices, "default", { labelSelector: "kubernetes.io/service-name=web" }))
        .items;
    const b = items.flatMap((s) => s.endpoints ?? []).find((e: { targetRef: { name: string } }) =>
      e.targetRef.name === "b"
    );
    return ep.subsets.length === 1 && b?.conditions.terminating === true && b.conditions.ready === false;
  });

  await client.delete(R.services, "default", "web");
  await eventually(
    "Endpoints and slices to go with the Service",
    async () =>
      !(await client.tryGet(R.endpoints, "default", "web")) &&
      (await client.list(R.endpointslices, "default", { labelSelector: "kubernetes.io/service-name=web" }))
          .items.length === 0,
  );
});

Deno.test("every namespace gets a default ServiceAccount, re-created when deleted", async () => {
  await using env = await startEnv({ scheduler: false });
  const { client } = env;
  await client.create(R.namespaces, { metadata: { name: "apps" } });
  await eventually(
    "the default ServiceAccount",
    () => client.tryGet(R.serviceaccounts, "apps", "default").then((s) => s ?? undefined),
  );
  await client.delete(R.serviceaccounts, "apps", "default");
  await eventually(
    "it to come back",
    () => client.tryGet(R.serviceaccounts, "apps", "default").then((s) => s ?? undefined),
  );
});

Deno.test("pod GC force-deletes pods bound to a node that no longer exists, and the node's lease goes with it", async () => {
  await using env = await startEnv({ nodes: 1 });
  const { client, sim } = env;
  const name = sim!.names[0];
  await client.create(R.pods, pod("stranded"));
  await eventually(
    "the pod to run",
    async () => (await client.get(R.pods, "default", "stranded")).status?.phase === "Running",
  );
  sim!.pause(name);
  await client.delete(R.nodes, "", name);
  await eventually("the pod to be force-deleted", () => gone(client, R.pods, "default", "stranded"));
  await eventually("the lease to be collected", () => gone(client, R.leases, "kube-node-lease", name));
});

Deno.test("a pod without a toleration for unreachable is evicted at once, one tolerating it forever stays", async () => {
  await using env = await startEnv({ nodes: 2 });
  const { client, sim } = env;
  const node = sim!.names[0];
  const bound = (name: string, tolerations: unknown[]) => {
    const p = pod(name);
    p.spec.nodeName = node;
    p.spec.tolerations = tolerations;
    return client.create(R.pods, p);
  };
  await bound("forever", [{
    key: "node.kubernetes.io/unreachable",
    operator: "Exists",
    effect: "NoExecute",
  }]);
  await bound("short", [{
    key: "node.kubernetes.io/unreachable",
    operator: "Exists",
    effect: "NoExecute",
    tolerationSeconds: 0,
  }]);
  await eventually(
    "both to run",
    async () =>
      (await client.list(R.pods, "default")).items.filter((p) => p.status?.phase === "Running").length === 2,
  );
  sim!.pause(node);
  await eventually(
    "short to be evicted",
    async () => !!(await client.get(R.pods, "default", "short")).metadata.deletionTimestamp,
  );
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await client.get(R.pods, "default", "forever")).metadata.deletionTimestamp, undefined);
  try {
    await client.delete(R.pods, "default", "forever", { gracePeriodSeconds: 0 });
    await client.delete(R.pods, "default", "short", { gracePeriodSeconds: 0 });
  } catch (e) {
    if (!isApiError(e, 404)) throw e;
  }
});
