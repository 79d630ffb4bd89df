/**
 * The workload controllers (Deployment, ReplicaSet, DaemonSet, StatefulSet, Job, CronJob, TTL
 * after finished) against the real in-process API server, with the scheduler, the controller
 * manager's other controllers (garbage collector) and simulated nodes that report bound pods
 * Running and Ready. A small "kubelet" in the Job tests finishes pods with the outcome a test
 * scripts. Deployments are driven with kubectl v1.32 where the issue asks for it.
 * @module
 */
import assert from "node:assert/strict";
import { Client, R } from "../control/api/client.ts";
import { eventRecorder } from "../control/api/events.ts";
import { Informer, InformerFactory } from "../control/api/informer.ts";
import type { KubeObject } from "../control/api/types.ts";
import type { Controller, ControllerContext } from "../control/controllers/controller.ts";
import { jobController, ttlAfterFinishedController } from "../control/controllers/job/mod.ts";
import { startControllerManager } from "../control/controllers/manager.ts";
import { startScheduler } from "../control/scheduler/mod.ts";
import { ensureLocalPathStorage } from "../control/api/storage.ts";
import { NodeSimulator } from "../node/simulated/mod.ts";
import { eventually, kubectlTest, startCluster } from "./harness.ts";

interface Env extends AsyncDisposable {
  client: Client;
  sim: NodeSimulator;
  kubectl(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }>;
}

/**
 * A cluster (harness: KV file, kubeconfig), the controller manager without its Job controller,
 * our Job and TTL controllers with a 200 ms pod back-off, the scheduler and `nodes` simulated nodes.
 */
async function startEnv(nodes = 2): Promise<Env> {
  const cluster = await startCluster();
  const client = new Client({ server: cluster.url });
  const ac = new AbortController();
  const manager = startControllerManager({
    client,
    signal: ac.signal,
    options: { leaderElect: false, controllers: ["*", "-job-controller"] },
  });
  const scheduler = startScheduler({
    client,
    signal: ac.signal,
    leaderElection: false,
    initialBackoffMs: 100,
    maxBackoffMs: 500,
  });
  const informers = new InformerFactory(client);
  const recorders = [eventRecorder(client, "job-controller")];
  const ctx: ControllerContext = {
    client,
    informers,
    recorder: () => recorders[0],
    now: Date.now,
    options: {},
  };
  const own: Controller[] = [
    jobController(ctx, { podFailureBackoffMs: 200, maxPodFailureBackoffMs: 1000 }),
    ttlAfterFinishedController(ctx),
  ];
  await informers.start();
  const running = own.map((c) => c.run(ac.signal));
  const sim = new NodeSimulator(client, { count: nodes, leaseIntervalMs: 500, readyDelayMs: 50 });
  await sim.start();
  await manager.ready;
  return {
    client,
    sim,
    kubectl: (args, stdin) => cluster.kubectl(args, { stdin }),
    async [Symbol.asyncDispose]() {
      ac.abort();
      await sim.stop();
      await Promise.all(running);
      await informers.stop();
      await recorders[0].flush();
      await scheduler.done;
      await manager.done;
      await cluster.close();
    },
  };
}

const ok = (r: { code: number; stdout: string; stderr: string }) => {
  if (r.code !== 0) throw new Error(`kubectl failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout;
};

const podsOf = async (client: Client, selector: string) =>
  (await client.list(R.pods, "default", { labelSelector: selector })).items;

const events = async (client: Client, name: string) =>
  (await client.list(R.events, "default")).items.filter((e) => e.involvedObject?.name === name);

const deploymentYaml = (image: string, replicas = 3) => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  strategy:
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: ${image}
`;

kubectlTest(
  "a Deployment rolls out, updates, rolls back, scales, pauses, restarts and deletes with kubectl",
  async () => {
    await using env = await startEnv(2);
    const { client, kubectl } = env;
    ok(await kubectl(["apply", "-f", "-"], deploymentYaml("registry.local/web:1")));
    const status = ok(await kubectl(["rollout", "status", "deployment/web", "--timeout=60s"]));
    assert.match(status, /deployment "web" successfully rolled out/);
    let d = await client.get(R.deployments, "default", "web");
    assert.equal(d.metadata.annotations?.["deployment.kubernetes.io/revision"], "1");
    assert.equal(d.status.availableReplicas, 3);
    assert.equal(
      d.status.conditions.find((c: { type: string }) => c.type === "Progressing").reason,
      "NewReplicaSetAvailable",
    );
    assert.equal(
      d.status.conditions.find((c: { type: string }) => c.type === "Available").reason,
      "MinimumReplicasAvailable",
    );
    const [rs1] = (await client.list(R.replicasets, "default")).items;
    const hash = rs1.metadata.labels!["pod-template-hash"];
    assert.equal(rs1.metadata.name, `web-${hash}`);
    const pods1 = await podsOf(client, "app=web");
    assert.equal(pods1.length, 3);
    for (const p of pods1) {
      assert.match(
        p.metadata.name!,
        new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`),
      );
    }

    ok(await kubectl(["set", "image", "deployment/web", "web=registry.local/web:2"]));
    ok(await kubectl(["annotate", "deployment/web", "kubernetes.io/change-cause=upgrade to 2"]));
    assert.match(
      ok(await kubectl(["rollout", "status", "deployment/web", "--timeout=60s"])),
      /successfully rolled out/,
    );
    d = await client.get(R.deployments, "default", "web");
    assert.equal(d.metadata.annotations?.["deployment.kubernetes.io/revision"], "2");
    const images = (await podsOf(client, "app=web")).filter((p) => !p.metadata.deletionTimestamp).map((p) =>
      p.spec.containers[0].image
    );
    assert.deepEqual(images, ["registry.local/web:2", "registry.local/web:2", "registry.local/web:2"]);
    const history = ok(await kubectl(["rollout", "history", "deployment/web"]));
    assert.match(history, /^1\s+<none>$/m);
    assert.match(history, /^2\s+upgrade to 2$/m);
    const scaling = (await events(client, "web")).filter((e) => e.reason === "ScalingReplicaSet").map((e) =>
      e.message
    );
    assert.ok(scaling.includes(`Scaled up replica set web-${hash} to 3`), scaling.join("\n"));
    assert.ok(
      scaling.some((m) => new RegExp(`^Scaled down replica set web-${hash} to 2 from 3$`).test(m)),
      scaling.join("\n"),
    );

    ok(await kubectl(["rollout", "undo", "deployment/web"]));
    assert.match(
      ok(await kubectl(["rollout", "status", "deployment/web", "--timeout=60s"])),
      /successfully rolled out/,
    );
    d = await client.get(R.deployments, "default", "web");
    assert.equal(d.spec.template.spec.containers[0].image, "registry.local/web:1");
    assert.equal(d.metadata.annotations?.["deployment.kubernetes.io/revision"], "3");
    const back = await client.get(R.replicasets, "default", rs1.metadata.name!);
    assert.equal(back.spec.replicas, 3);
    assert.equal(back.metadata.annotations?.["deployment.kubernetes.io/revision-history"], "1");
    ok(await kubectl(["rollout", "undo", "deployment/web", "--to-revision=2"]));
    assert.match(
      ok(await kubectl(["rollout", "status", "deployment/web", "--timeout=60s"])),
      /successfully rolled out/,
    );
    d = await client.get(R.deployments, "default", "web");
    assert.equal(d.spec.template.spec.containers[0].image, "registry.local/web:2");

    ok(await kubectl(["scale", "deployment/web", "--replicas=5"]));
    await eventually(
      "5 available replicas",
      async () => (await client.get(R.deployments, "default", "web")).status.availableReplicas === 5,
    );
    assert.equal((await podsOf(client, "app=web")).filter((p) => !p.metadata.deletionTimestamp).length, 5);

    ok(await kubectl(["rollout", "pause", "deployment/web"]));
    ok(await kubectl(["set", "image", "deployment/web", "web=registry.local/web:3"]));
    await eventually("the paused condition", async () => {
      const cur = await client.get(R.deployments, "default", "web");
      return cur.status.conditions.find((c: { type: string }) => c.type === "Progressing")?.reason ===
        "DeploymentPaused";
    });
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(
      (await podsOf(client, "app=web")).every((p) => p.spec.containers[0].image !== "registry.local/web:3"),
    );
    ok(await kubectl(["rollout", "resume", "deployment/web"]));
    assert.match(
      ok(await kubectl(["rollout", "status", "deployment/web", "--timeout=60s"])),
      /successfully rolled out/,
    );

    const before = new Set((await podsOf(client, "app=web")).map((p) => p.metadata.name));
    ok(await kubectl(["rollout", "restart", "deployment/web"]));
    assert.match(
      ok(await kubectl(["rollout", "status", "deployment/web", "--timeout=60s"])),
      /successfully rolled out/,
    );
    const after = (await podsOf(client, "app=web")).filter((p) => !p.metadata.deletionTimestamp);
    assert.equal(after.length, 5);
    assert.ok(after.every((p) => !before.has(p.metadata.name)));

    ok(await kubectl(["delete", "deployment/web", "--timeout=60s"]));
    await eventually(
      "the ReplicaSets and pods to go",
      async () =>
        (await client.list(R.replicasets, "default")).items.length === 0 &&
        (await podsOf(client, "app=web")).length === 0,
    );
  },
);

kubectlTest("kubectl rollout status fails once a Deployment exceeds its progress deadline", async () => {
  await using env = await startEnv(1);
  const { client, kubectl } = env;
  const yaml = deploymentYaml("registry.local/web:1", 2).replace(
    "    spec:\n      containers:",
    '    spec:\n      nodeSelector: {nowhere: "true"}\n      containers:',
  )
    .replace("  replicas: 2", "  replicas: 2\n  progressDeadlineSeconds: 2");
  ok(await kubectl(["apply", "-f", "-"], yaml));
  const r = await kubectl(["rollout", "status", "deployment/web", "--timeout=60s"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /deployment "web" exceeded its progress deadline/);
  const d = await client.get(R.deployments, "default", "web");
  const p = d.status.conditions.find((c: { type: string }) => c.type === "Progressing");
  assert.equal(p.status, "False");
  assert.equal(p.reason, "ProgressDeadlineExceeded");
  assert.match(p.message, /^ReplicaSet "web-[a-z0-9]+" has timed out progressing\.$/);
  assert.equal(d.status.conditions.find((c: { type: string }) => c.type === "Available").status, "False");
});

const container = [{ name: "c", image: "registry.local/app:1" }];

Deno.test("a ReplicaSet creates exactly its replicas, adopts matching orphans and releases relabelled pods", async () => {
  await using env = await startEnv(2);
  const { client } = env;
  const orphan = await client.create<KubeObject>(R.pods, {
    metadata: { name: "stray", namespace: "default", labels: { app: "rs" } },
    spec: { containers: container },
  });
  await client.create(R.replicasets, {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "rs", namespace: "default" },
    spec: {
      replicas: 30,
      selector: { matchLabels: { app: "rs" } },
      template: { metadata: { labels: { app: "rs" } }, spec: { containers: container } },
    },
  });
  const rs = await eventually("30 ready replicas", async () => {
    const cur = await client.get(R.replicasets, "default", "rs");
    return cur.status?.readyReplicas === 30 && cur.status.observedGeneration === cur.metadata.generation
      ? cur
      : undefined;
  });
  const pods = await podsOf(client, "app=rs");
  assert.equal(pods.length, 30, "no duplicates while creates were in flight");
  const adopted = pods.find((p) => p.metadata.name === "stray")!;
  assert.equal(adopted.metadata.uid, orphan.metadata.uid);
  assert.deepEqual(
    adopted.metadata.ownerReferences?.map((r) => [r.kind, r.uid, r.controller, r.blockOwnerDeletion]),
    [["ReplicaSet", rs.metadata.uid, true, true]],
  );
  const created = await eventually("29 SuccessfulCreate events", async () => {
    const evs = (await events(client, "rs")).filter((e) => e.reason === "SuccessfulCreate");
    return evs.length >= 29 ? evs : undefined;
  });
  assert.equal(created.length, 29);
  assert.match(created[0].message, /^Created pod: rs-[bcdfghjklmnpqrstvwxz2456789]{5}$/);

  const victim = pods.find((p) => p.metadata.name !== "stray")!;
  await client.patch(R.pods, "default", victim.metadata.name!, { metadata: { labels: { app: "other" } } });
  await eventually("the relabelled pod to be released and replaced", async () => {
    const p = await client.get(R.pods, "default", victim.metadata.name!);
    return !p.metadata.ownerReferences?.length && (await podsOf(client, "app=rs")).length === 30;
  });
  await client.patch(R.replicasets, "default", "rs", { spec: { replicas: 4 } });
  await eventually("the scale-down to 4", async () => (await podsOf(client, "app=rs")).length === 4);
  await eventually(
    "a SuccessfulDelete event",
    async () =>
      (await events(client, "rs")).some((e) =>
        e.reason === "SuccessfulDelete" && /^Deleted pod: /.test(e.message)
      ),
  );
});

Deno.test("a Recreate Deployment removes every old pod before starting new ones", async () => {
  await using env = await startEnv(1);
  const { client } = env;
  const spec = (image: string) => ({
    replicas: 3,
    strategy: { type: "Recreate" },
    selector: { matchLabels: { app: "rc" } },
    template: { metadata: { labels: { app: "rc" } }, spec: { containers: [{ name: "c", image }] } },
  });
  await client.create(R.deployments, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "rc", namespace: "default" },
    spec: spec("a:1"),
  });
  await eventually(
    "3 available",
    async () => (await client.get(R.deployments, "default", "rc")).status?.availableReplicas === 3,
  );
  const seen: string[] = [];
  const pods = new Informer(client, R.pods, { namespace: "default", labelSelector: "app=rc" });
  let overlap = false;
  const check = () => {
    const images = new Set(pods.list().map((p) => p.spec.containers[0].image));
    if (images.has("a:1") && images.has("a:2")) overlap = true;
  };
  pods.addHandler({ onAdd: (p) => (seen.push(p.spec.containers[0].image), check()), onUpdate: check });
  pods.start();
  await pods.synced();
  await client.patch(R.deployments, "default", "rc", {
    spec: { template: { spec: { containers: [{ name: "c", image: "a:2" }] } } },
  }, "strategic");
  await eventually("the new pods to be available", async () => {
    const d = await client.get(R.deployments, "default", "rc");
    return d.status?.observedGeneration === d.metadata.generation && d.status.updatedReplicas === 3 &&
      d.status.availableReplicas === 3 && d.status.replicas === 3;
  });
  await pods.stop();
  assert.equal(overlap, false, "old and new pods never existed together");
  assert.equal(seen.filter((i) => i === "a:2").length, 3);
});

Deno.test("a DaemonSet runs one pod per eligible node, follows node labels and rolls out by revision hash", async () => {
  await using env = await startEnv(3);
  const { client, kubectl } = env;
  await client.patch(R.nodes, "", "sim-0", { metadata: { labels: { edge: "true" } } });
  await client.patch(R.nodes, "", "sim-1", { metadata: { labels: { edge: "true" } } });
  await client.create(R.daemonsets, {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "agent", namespace: "default" },
    spec: {
      selector: { matchLabels: { app: "agent" } },
      template: {
        metadata: { labels: { app: "agent" } },
        spec: { nodeSelector: { edge: "true" }, containers: container },
      },
    },
  });
  const placed = async (n: number) => {
    const pods = (await podsOf(client, "app=agent")).filter((p) =>
      !p.metadata.deletionTimestamp && p.spec.nodeName
    );
    return pods.length === n ? pods : undefined;
  };
  const two = await eventually("pods on the two edge nodes", () => placed(2));
  assert.deepEqual(two.map((p) => p.spec.nodeName).sort(), ["sim-0", "sim-1"]);
  for (const p of two) {
    assert.ok(p.spec.tolerations.some((t: { key: string }) => t.key === "node.kubernetes.io/unschedulable"));
    assert.equal(
      p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]
        .matchFields[0].values[0],
      p.spec.nodeName,
    );
  }
  assert.match(
    ok(await kubectl(["rollout", "status", "ds/agent", "--timeout=60s"])),
    /daemon set "agent" successfully rolled out/,
  );
  await client.patch(R.nodes, "", "sim-2", { metadata: { labels: { edge: "true" } } });
  await eventually("a pod on the newly labelled node", () => placed(3));
  await client.patch(R.nodes, "", "sim-0", { metadata: { labels: { edge: null } } });
  await eventually(
    "the pod on the unlabelled node to go",
    async () => (await placed(2))?.every((p) => p.spec.nodeName !== "sim-0"),
  );

  const oldHash = (await podsOf(client, "app=agent"))[0].metadata.labels!["controller-revision-hash"];
  await client.patch(R.daemonsets, "default", "agent", {
    spec: { template: { spec: { containers: [{ name: "c", image: "registry.local/app:2" }] } } },
  }, "strategic");
  assert.match(
    ok(await kubectl(["rollout", "status", "ds/agent", "--timeout=60s"])),
    /successfully rolled out/,
  );
  const ds = await client.get(R.daemonsets, "default", "agent");
  assert.deepEqual(
    [
      ds.status.desiredNumberScheduled,
      ds.status.currentNumberScheduled,
      ds.status.updatedNumberScheduled,
      ds.status.numberAvailable,
      ds.status.numberMisscheduled,
    ],
    [2, 2, 2, 2, 0],
  );
  const pods = (await podsOf(client, "app=agent")).filter((p) => !p.metadata.deletionTimestamp);
  assert.ok(
    pods.every((p) =>
      p.metadata.labels!["controller-revision-hash"] !== oldHash &&
      p.spec.containers[0].image === "registry.local/app:2"
    ),
  );
  const revisions = (await client.list(R.controllerrevisions, "default")).items;
  assert.equal(revisions.length, 2);
  assert.deepEqual(revisions.map((r) => r.revision).sort(), [1, 2]);
});

Deno.test("a StatefulSet creates pods in ordinal order, deletes in reverse, keeps claims and rolls by partition", async () => {
  await using env = await startEnv(2);
  const { client, kubectl } = env;
  const order: string[] = [];
  const watch = new Informer(client, R.pods, { namespace: "default", labelSelector: "app=db" });
  watch.addHandler({
    onAdd: (p) => order.push(`+${p.metadata.name}`),
    onDelete: (p) => order.push(`-${p.metadata.name}`),
  });
  watch.start();
  await watch.synced();
  // The default StorageClass `./skiff up` creates: WaitForFirstConsumer, so the claims do not
  // hold the pods back (VolumeBinding) on simulated nodes that provision nothing.
  await ensureLocalPathStorage(client);
  try {
    await client.create(R.statefulsets, {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "db", namespace: "default" },
      spec: {
        replicas: 3,
        serviceName: "db",
        selector: { matchLabels: { app: "db" } },
        template: { metadata: { labels: { app: "db" } }, spec: { containers: container } },
        volumeClaimTemplates: [{
          metadata: { name: "data" },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        }],
      },
    });
    assert.match(
      ok(await kubectl(["rollout", "status", "sts/db", "--timeout=60s"])),
      /roll out complete: 3 new pods have been updated/,
    );
    assert.deepEqual(order, ["+db-0", "+db-1", "+db-2"]);
    const p1 = await client.get(R.pods, "default", "db-1");
    assert.equal(p1.spec.hostname, "db-1");
    assert.equal(p1.spec.subdomain, "db");
    assert.equal(p1.metadata.labels!["statefulset.kubernetes.io/pod-name"], "db-1");
    assert.equal(p1.metadata.labels!["apps.kubernetes.io/pod-index"], "1");
    assert.equal(
      p1.spec.volumes.find((v: { name: string }) => v.name === "data").persistentVolumeClaim.claimName,
      "data-db-1",
    );
    const claims = (await client.list(R.persistentvolumeclaims, "default")).items.map((c) => c.metadata.name)
      .sort();
    assert.deepEqual(claims, ["data-db-0", "data-db-1", "data-db-2"]);
    await eventually(
      "the SuccessfulCreate event of db-0",
      async () =>
        (await events(client, "db")).some((e) =>
          e.reason === "SuccessfulCreate" && e.message === "create Pod db-0 in StatefulSet db successful"
        ),
    );

    // rolling update above the partition only, highest ordinal first
    await client.patch(R.statefulsets, "default", "db", {
      spec: {
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 1 } },
        template: { spec: { containers: [{ name: "c", image: "registry.local/app:2" }] } },
      },
    }, "strategic");
    order.length = 0;
    assert.match(
      ok(await kubectl(["rollout", "status", "sts/db", "--timeout=60s"])),
      /partitioned roll out complete: 2 new pods have been updated/,
    );
    assert.deepEqual(order, ["-db-2", "+db-2", "-db-1", "+db-1"]);
    const set = await client.get(R.statefulsets, "default", "db");
    assert.notEqual(set.status.currentRevision, set.status.updateRevision);
    assert.equal(
      (await client.get(R.pods, "default", "db-0")).spec.containers[0].image,
      "registry.local/app:1",
    );
    assert.equal(
      (await client.get(R.pods, "default", "db-2")).metadata.labels!["controller-revision-hash"],
      set.status.updateRevision,
    );

    order.length = 0;
    await client.patch(R.statefulsets, "default", "db", { spec: { replicas: 1 } });
    await eventually(
      "the scale-down to 1",
      async () => (await client.get(R.statefulsets, "default", "db")).status?.replicas === 1,
    );
    assert.deepEqual(order, ["-db-2", "-db-1"]);
    assert.equal(
      (await client.list(R.persistentvolumeclaims, "default")).items.length,
      3,
      "claims outlive their pods",
    );
  } finally {
    await watch.stop();
  }
});

/**
 * A stand-in for the kubelet's end of a Job: once a simulated node reports a pod Running, its
 * containers "exit" with the outcome `outcome(pod, n)` gives (n counts pods started so far).
 */
function finishPods(
  client: Client,
  selector: string,
  outcome: (pod: KubeObject, n: number) => "Succeeded" | "Failed" | undefined,
) {
  const pods = new Informer(client, R.pods, { namespace: "default", labelSelector: selector });
  const decided = new Map<string, "Succeeded" | "Failed" | undefined>();
  let n = 0;
  const finish = async (pod: KubeObject) => {
    if (pod.status?.phase !== "Running" || pod.metadata.deletionTimestamp) return;
    if (!decided.has(pod.metadata.uid!)) decided.set(pod.metadata.uid!, outcome(pod, n++));
    const phase = decided.get(pod.metadata.uid!);
    if (!phase) return;
    const at = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const exitCode = phase === "Succeeded" ? 0 : 1;
    await client.updateStatus(R.pods, {
      ...pod,
      status: {
        ...pod.status,
        phase,
        conditions: (pod.status.conditions ?? []).map((c: { type: string }) =>
          c.type === "Ready" || c.type === "ContainersReady"
            ? { ...c, status: "False", lastTransitionTime: at }
            : c
        ),
        containerStatuses: (pod.spec.containers as { name: string; image: string }[]).map((c) => ({
          name: c.name,
          image: c.image,
          ready: false,
          restartCount: 0,
          state: {
            terminated: { exitCode, reason: phase === "Succeeded" ? "Completed" : "Error", finishedAt: at },
          },
        })),
      },
    }).catch(() => {/* a newer version will come through the informer */});
  };
  pods.addHandler({ onAdd: (p) => void finish(p), onUpdate: (_, p) => void finish(p) });
  pods.start();
  return { [Symbol.asyncDispose]: () => pods.stop() };
}

const conditionOf = (obj: KubeObject, type: string) =>
  (obj.status?.conditions ?? []).find((c: { type: string }) => c.type === type);

Deno.test("a Job retries failed pods with back-off and completes, then its TTL deletes it", async () => {
  await using env = await startEnv(2);
  const { client } = env;
  await using _kubelet = finishPods(client, "app=pi", (_pod, n) => (n < 2 ? "Failed" : "Succeeded"));
  await client.create(R.jobs, {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "pi", namespace: "default" },
    spec: {
      completions: 3,
      parallelism: 2,
      backoffLimit: 4,
      ttlSecondsAfterFinished: 3,
      template: {
        metadata: { labels: { app: "pi" } },
        spec: { restartPolicy: "Never", containers: container },
      },
    },
  });
  const done = await eventually("the Job to complete", async () => {
    const j = await client.get(R.jobs, "default", "pi");
    return conditionOf(j, "Complete")?.status === "True" ? j : undefined;
  });
  assert.equal(done.status.succeeded, 3);
  assert.equal(done.status.failed, 2);
  assert.equal(done.status.active, 0);
  assert.deepEqual(done.status.uncountedTerminatedPods, { succeeded: [], failed: [] });
  assert.ok(done.status.startTime && done.status.completionTime);
  assert.equal(conditionOf(done, "SuccessCriteriaMet")?.reason, "CompletionsReached");
  assert.equal(conditionOf(done, "Complete")?.message, "Reached expected number of succeeded pods");
  const pods = await podsOf(client, "app=pi");
  assert.equal(pods.length, 5);
  assert.ok(
    pods.every((p) => !p.metadata.finalizers?.includes("batch.kubernetes.io/job-tracking")),
    "tracking finalizers removed",
  );
  await eventually(
    "the Completed event",
    async () =>
      (await events(client, "pi")).some((e) => e.reason === "Completed" && e.message === "Job completed"),
  );
  await eventually(
    "the TTL controller to delete the Job and the GC its pods",
    async () =>
      !(await client.tryGet(R.jobs, "default", "pi")) && (await podsOf(client, "app=pi")).length === 0,
  );
});

Deno.test("a Job fails with BackoffLimitExceeded, and another with DeadlineExceeded", async () => {
  await using env = await startEnv(1);
  const { client } = env;
  await using _kubelet = finishPods(client, "app=flaky", () => "Failed");
  const job = (name: string, spec: Record<string, unknown>) =>
    client.create(R.jobs, {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name, namespace: "default" },
      spec: {
        ...spec,
        template: {
          metadata: { labels: { app: name === "flaky" ? "flaky" : "slow" } },
          spec: { restartPolicy: "Never", containers: container },
        },
      },
    });
  await job("flaky", { backoffLimit: 1 });
  await job("slow", { activeDeadlineSeconds: 2, parallelism: 2, completions: 4 });
  const failed = await eventually("flaky to fail", async () => {
    const j = await client.get(R.jobs, "default", "flaky");
    return conditionOf(j, "Failed")?.status === "True" ? j : undefined;
  });
  assert.equal(conditionOf(failed, "Failed").reason, "BackoffLimitExceeded");
  assert.equal(conditionOf(failed, "FailureTarget").reason, "BackoffLimitExceeded");
  assert.equal(failed.status.failed, 2);
  await eventually(
    "the BackoffLimitExceeded event",
    async () =>
      (await events(client, "flaky")).some((e) =>
        e.reason === "BackoffLimitExceeded" && e.message === "Job has reached the specified backoff limit"
      ),
  );
  const slow = await eventually("slow to hit its deadline", async () => {
    const j = await client.get(R.jobs, "default", "slow");
    if (conditionOf(j, "Failed")?.status === "True") return j;
    // The timeout message then tells what the Job and its pods looked like.
    const pods = (await podsOf(client, "app=slow")).map((p) =>
      `${p.metadata.name} ${p.status?.phase} deleting=${!!p.metadata.deletionTimestamp} ` +
      `finalizers=${p.metadata.finalizers ?? []}`
    );
    throw new Error(`status ${JSON.stringify(j.status)}; pods ${pods.join(", ")}`);
  });
  assert.equal(conditionOf(slow, "Failed").reason, "DeadlineExceeded");
  assert.equal(conditionOf(slow, "Failed").message, "Job was active longer than specified deadline");
  assert.equal(slow.status.active, 0);
  assert.equal(slow.status.failed, 2, "the two running pods were deleted and counted as failed");
  await eventually("slow's pods to be gone", async () => (await podsOf(client, "app=slow")).length === 0);
});

Deno.test("an Indexed Job runs one successful pod per completion index", async () => {
  await using env = await startEnv(2);
  const { client } = env;
  await using _kubelet = finishPods(
    client,
    "app=idx",
    (pod) =>
      pod.metadata.annotations?.["batch.kubernetes.io/job-completion-index"] === "1" && !failedOnce++
        ? "Failed"
        : "Succeeded",
  );
  let failedOnce = 0;
  await client.create(R.jobs, {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "idx", namespace: "default" },
    spec: {
      completionMode: "Indexed",
      completions: 3,
      parallelism: 3,
      template: {
        metadata: { labels: { app: "idx" } },
        spec: { restartPolicy: "Never", containers: container },
      },
    },
  });
  const done = await eventually("the Job to complete", async () => {
    const j = await client.get(R.jobs, "default", "idx");
    return conditionOf(j, "Complete")?.status === "True" ? j : undefined;
  });
  assert.equal(done.status.completedIndexes, "0-2");
  assert.equal(done.status.succeeded, 3);
  assert.equal(done.status.failed, 1);
  const pods = await podsOf(client, "app=idx");
  for (const p of pods) {
    const ix = p.metadata.annotations!["batch.kubernetes.io/job-completion-index"];
    assert.match(p.metadata.name!, new RegExp(`^idx-${ix}-[a-z0-9]{5}$`));
    assert.equal(p.spec.hostname, `idx-${ix}`);
    assert.equal(
      p.spec.containers[0].env.find((e: { name: string }) => e.name === "JOB_COMPLETION_INDEX").valueFrom
        .fieldRef.fieldPath,
      "metadata.annotations['batch.kubernetes.io/job-completion-index']",
    );
  }
  assert.equal(
    pods.filter((p) => p.metadata.annotations!["batch.kubernetes.io/job-completion-index"] === "1").length,
    2,
  );
});

Deno.test("a CronJob fires on its schedule, names Jobs by scheduled minute and records them", async () => {
  await using env = await startEnv(1);
  const { client } = env;
  await using _kubelet = finishPods(client, "app=tick", () => "Succeeded");
  const cj = await client.create<KubeObject>(R.cronjobs, {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "tick", namespace: "default" },
    spec: {
      schedule: "@every 2s",
      timeZone: "Etc/UTC",
      concurrencyPolicy: "Forbid",
      successfulJobsHistoryLimit: 1,
      jobTemplate: {
        spec: {
          template: {
            metadata: { labels: { app: "tick" } },
            spec: { restartPolicy: "Never", containers: container },
          },
        },
      },
    },
  });
  const fired = await eventually("a Job from the CronJob", async () => {
    const jobs = (await client.list(R.jobs, "default")).items;
    return jobs.length ? jobs[0] : undefined;
  });
  const scheduled = fired.metadata.annotations!["batch.kubernetes.io/cronjob-scheduled-timestamp"];
  assert.match(scheduled, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(fired.metadata.name, `tick-${Math.floor(Date.parse(scheduled) / 60_000)}`);
  assert.equal(fired.metadata.ownerReferences?.[0].uid, cj.metadata.uid);
  const seen = await eventually("the completed Job to be seen and the success recorded", async () => {
    const cur = await client.get(R.cronjobs, "default", "tick");
    return cur.status?.lastSuccessfulTime && cur.status.lastScheduleTime ? cur : undefined;
  });
  assert.ok(Date.parse(seen.status.lastScheduleTime) >= Date.parse(scheduled));
  await eventually("the SuccessfulCreate and SawCompletedJob events", async () => {
    const evs = await events(client, "tick");
    return evs.some((e) =>
      e.reason === "SuccessfulCreate" && e.message === `Created job ${fired.metadata.name}`
    ) &&
      evs.some((e) =>
        e.reason === "SawCompletedJob" &&
        e.message === `Saw completed job: ${fired.metadata.name}, condition: Complete`
      );
  });
  await client.patch(R.cronjobs, "default", "tick", { spec: { suspend: true } });
  await new Promise((r) => setTimeout(r, 500));
  const count = (await client.list(R.jobs, "default")).items.length;
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(
    (await client.list(R.jobs, "default")).items.length,
    count,
    "a suspended CronJob starts nothing",
  );
  assert.ok(count <= 2, "history is trimmed to successfulJobsHistoryLimit (plus one running)");
});
