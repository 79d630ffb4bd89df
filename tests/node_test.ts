/**
 * The node agent end to end: a real control plane (with the pod log connect handler and the
 * RuntimeProbes admission step), the scheduler and the controller manager in this process (at
 * least its node IPAM controller, which gives the node its pod CIDR), the RuntimeClass `wasm` an
 * admin creates, the real node agent with its Wasm runtime, bridge and network namespaces, the
 * test registry with components built from source (tests/fixtures), and kubectl v1.32 against it
 * all. (tests/node_security_test.ts runs the node under a secured `./skiff up`.)
 * @module
 */
import assert from "node:assert/strict";
import { Client, R } from "../control/api/client.ts";
import type { KubeObject } from "../control/api/types.ts";
import { registerConnectHandlers } from "../control/apiserver/connect/mod.ts";
import type { ControllerManagerOptions } from "../control/controllers/manager.ts";
import { startControlPlane } from "../control/mod.ts";
import { nextFreeBlock } from "../control/controllers/nodeipam/mod.ts";
import { writeKubeconfig } from "../cli/kubeconfig.ts";
import { ipAvailable, localSubnets } from "../node/cni/ip.ts";
import { listNetns } from "../node/cni/netns.ts";
import {
  ensureRuntimeClass,
  netnsPrefixFor,
  type NodeAgent,
  startNodeAgent,
  wasmRuntime,
  type WasmRuntimeSettings,
} from "../node/mod.ts";
import type { ShimState } from "../node/cri/wasm/shim_protocol.ts";
import { fixturePrerequisites } from "./fixtures/build.ts";
import { pushFixture } from "./fixtures/push.ts";
import {
  eventually,
  KUBECTL,
  type KubectlResult,
  type Prerequisite,
  recordWaitingReasons,
  ROOT,
  runKubectl,
  testWith,
} from "./harness.ts";
import { startTestControlPlane } from "./test_control_plane.ts";
import { DOCKER_REGISTRY, startRegistry, type TestRegistry } from "./registry.ts";
import { wasmDeployment } from "./network_harness.ts";

/** Root with iproute2: the agent makes network namespaces and a bridge. */
export const NODE_PRIVILEGES: Prerequisite = {
  name: "root with iproute2",
  available: () => Deno.uid() === 0 && ipAvailable(),
  hint: "run as root on Linux with iproute2 (apt-get install iproute2)",
};

/** Everything the node tests need. */
export const NODE_PREREQUISITES: Prerequisite[] = [
  NODE_PRIVILEGES,
  KUBECTL,
  DOCKER_REGISTRY,
  ...fixturePrerequisites("http_sm"),
  ...fixturePrerequisites("hello_qjs"),
];

/** A cluster with one real node. */
export interface NodeCluster extends AsyncDisposable {
  url: string;
  dataDir: string;
  client: Client;
  registry: TestRegistry;
  agent: NodeAgent;
  kubectl(args: string[], stdin?: string, timeoutMs?: number): Promise<KubectlResult>;
  /** Starts another agent on the same data dir (after `agent.stop({ keepPods: true })`). */
  restartAgent(): Promise<NodeAgent>;
  close(): Promise<void>;
}

export interface NodeClusterOptions {
  /** Crash-loop back-off (default 300 ms doubling to 2 s, so tests run fast). */
  backoff?: { baseMs: number; capMs: number };
  runtime?: WasmRuntimeSettings;
  /** Also start every controller (Deployments, Jobs); without, only the node IPAM controller. Default true. */
  controllers?: boolean;
}

let clusters = 0;

/** Starts a control plane, scheduler, controllers, a registry and one node agent. */
export async function startNodeCluster(opts: NodeClusterOptions = {}): Promise<NodeCluster> {
  const bridge = `sktest${Deno.pid % 1000}x${clusters++}`;
  const base = await startTestControlPlane("skiff-node-test-", {
    controllers: opts.controllers === false ? ["node-ipam-controller"] : ["*"],
    // As ./skiff up: no pod CIDR clashing with a bridge already on this machine.
    nodeIpam: { reservedCIDRs: await localSubnets(bridge) },
  } as ControllerManagerOptions);
  const { client, dataDir, kubeconfig, registry } = base;
  // A cluster admin's step (./skiff up does it): nodes may not create RuntimeClasses.
  await ensureRuntimeClass(client, "wasm");
  const agentOptions = () => ({
    server: base.url,
    name: "node-1",
    dataDir: `${dataDir}/node`,
    port: 0,
    bridge,
    backoff: opts.backoff ?? { baseMs: 300, capMs: 2000 },
    leaseIntervalMs: 2000,
    runtime: wasmRuntime({ deadlineMs: 1500, ...opts.runtime }),
  });
  let agent: NodeAgent;
  try {
    agent = await startNodeAgent(agentOptions());
  } catch (e) {
    await base.close();
    throw e;
  }
  let closed: Promise<void> | undefined;
  const cluster: NodeCluster = {
    url: base.url,
    dataDir,
    client,
    registry,
    agent,
    kubectl: (args, stdin, timeoutMs = 60_000) => runKubectl(kubeconfig, dataDir, args, { stdin, timeoutMs }),
    async restartAgent() {
      cluster.agent = await startNodeAgent(agentOptions());
      return cluster.agent;
    },
    close: () =>
      closed ??= (async () => {
        try {
          await cluster.agent.stop();
        } finally {
          await base.close();
        }
      })(),
    [Symbol.asyncDispose]: () => cluster.close(),
  };
  return cluster;
}

/** The node's Plugin network: its allocations (these clusters never configure CNI binaries). */
function builtinIpam(agent: NodeAgent) {
  const network = agent.network;
  if (!("records" in network)) throw new Error("the node runs CNI binaries, not the network Plugins");
  return network;
}

/** After a failed test: kills what a node agent in `nodeDir` left running and removes its network. */
async function cleanUpNode(nodeDir: string, bridge: string): Promise<void> {
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(nodeDir)) {
        Deno.kill(Number(e.name), "SIGKILL");
      }
    } catch { /* gone */ }
  }
  for (const ns of listNetns(netnsPrefixFor(nodeDir))) {
    await new Deno.Command("ip", { args: ["netns", "del", ns], stderr: "null" }).output();
  }
  await new Deno.Command("ip", { args: ["link", "del", bridge], stderr: "null" }).output();
}

/** A Pod manifest for a Wasm component. */
export function wasmPod(
  name: string,
  image: string,
  extra: Record<string, unknown> = {},
  container: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      runtimeClassName: "wasm",
      terminationGracePeriodSeconds: 2,
      ...extra,
      containers: [{ name: "app", image, ...container }],
    },
  };
}

/** Waits until the pod's phase is one of `phases`; on timeout the error shows its status and events. */
export async function waitPhase(
  c: NodeCluster,
  name: string,
  phases: string[],
  ns = "default",
  timeoutMs = 60_000,
): Promise<KubeObject> {
  try {
    return await eventually(`pod ${name} to be ${phases.join(" or ")}`, async () => {
      const pod = await c.client.tryGet(R.pods, ns, name);
      return pod && phases.includes(pod.status?.phase) ? pod : undefined;
    }, timeoutMs);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${await describe(c, name, ns)}`);
  }
}

/** The pod's status and events, for failure messages. */
export async function describe(c: NodeCluster, name: string, ns = "default"): Promise<string> {
  const pod = await c.client.tryGet(R.pods, ns, name);
  const events = (await c.client.list(R.events, ns)).items
    .filter((e) => e.involvedObject?.name === name)
    .map((e) => `${e.type} ${e.reason}: ${e.message}`);
  return `status: ${JSON.stringify(pod?.status, null, 1)}\nevents:\n${events.join("\n")}`;
}

const node = (name: string, fn: () => Promise<void>) => testWith(NODE_PREREQUISITES, name, fn);

node("a pod of a command component runs to completion with its exit code and logs", async () => {
  await using c = await startNodeCluster({ controllers: false });
  const image = (await pushFixture(c.registry.host, "hello_qjs")).reference;
  await c.client.create(
    R.pods,
    wasmPod("hello", image, { restartPolicy: "Never" }, { env: [{ name: "NAME", value: "skiff" }] }),
  );
  const pod = await waitPhase(c, "hello", ["Succeeded", "Failed"]);
  assert.equal(pod.status.phase, "Succeeded", await describe(c, "hello"));
  const term = pod.status.containerStatuses[0].state.terminated;
  assert.equal(term.exitCode, 0);
  assert.equal(term.reason, "Completed");
  assert.match(pod.status.podIP, /^198\.18\./, "a finished pod keeps the IP it had");
  const logs = await c.kubectl(["logs", "hello"]);
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /hello from quickjs, skiff/);
  assert.match(logs.stdout, /a line on stderr/);
});

node(
  "a Job of a command component completes, a failing one ends Failed, and a missing image backs off",
  async () => {
    await using c = await startNodeCluster();
    const image = (await pushFixture(c.registry.host, "hello_qjs")).reference;
    const job = (name: string, env: Record<string, string>) => ({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name, namespace: "default" },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            runtimeClassName: "wasm",
            restartPolicy: "Never",
            terminationGracePeriodSeconds: 1,
            containers: [{
              name: "main",
              image,
              env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })),
            }],
          },
        },
      },
    });
    // The tag does not exist in a repository that does: the registry answers MANIFEST_UNKNOWN.
    const missing = image.replace(/:[^:/]+$/, ":no-such-tag");
    assert.notEqual(missing, image);
    const docs = [job("hello", { NAME: "job" }), job("fail", { EXIT_CODE: "3" }), wasmPod("ghost", missing)];
    // ErrImagePull lasts only until the next sync: record every waiting reason through a watch.
    const recorded = recordWaitingReasons(c.client, "default", "ghost");
    const reasons = recorded.reasons;
    const applied = await c.kubectl(["apply", "-f", "-"], docs.map((d) => JSON.stringify(d)).join("\n"));
    assert.equal(applied.code, 0, applied.stderr);

    // The missing image: ErrImagePull with the registry's message, then ImagePullBackOff quoting it.
    try {
      await eventually(
        "ErrImagePull then ImagePullBackOff",
        () => Promise.resolve(reasons.has("ErrImagePull") && reasons.has("ImagePullBackOff")),
        30_000,
      );
    } finally {
      await recorded.stop();
    }
    assert.match(reasons.get("ErrImagePull")!, /MANIFEST_UNKNOWN/);
    assert.equal(
      reasons.get("ImagePullBackOff"),
      `Back-off pulling image "${missing}": ErrImagePull: ${reasons.get("ErrImagePull")}`,
    );
    const ghost = await c.client.get(R.pods, "default", "ghost");
    assert.equal(ghost.status.phase, "Pending");
    const events = (await c.client.list(R.events, "default")).items
      .filter((e) => e.involvedObject?.name === "ghost")
      .map((e) => `${e.type} ${e.reason}: ${e.message}`);
    assert.ok(events.includes(`Normal BackOff: Back-off pulling image "${missing}"`), events.join("\n"));
    assert.ok(
      events.some((e) => e.startsWith(`Warning Failed: Failed to pull image "${missing}": `)),
      events.join("\n"),
    );

    // The Jobs.
    const complete = await c.kubectl(
      ["wait", "--for=condition=complete", "job/hello", "--timeout=60s"],
      undefined,
      70_000,
    );
    if (complete.code !== 0) {
      const pod = (await c.client.list(R.pods, "default", { labelSelector: "job-name=hello" })).items[0];
      assert.fail(`${complete.stderr}\n${pod ? await describe(c, pod.metadata.name!) : "no pod"}`);
    }
    const logs = await c.kubectl(["logs", "job/hello"]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /hello from quickjs, job/);
    const failed = await c.kubectl(
      ["wait", "--for=condition=failed", "job/fail", "--timeout=60s"],
      undefined,
      70_000,
    );
    assert.equal(failed.code, 0, failed.stderr);
    const failedJob = await c.client.get(R.jobs, "default", "fail");
    const condition = failedJob.status.conditions.find((x: { type: string }) => x.type === "Failed");
    assert.equal(condition.reason, "BackoffLimitExceeded");
    assert.equal(failedJob.status.failed, 1);
    const pods = (await c.client.list(R.pods, "default", { labelSelector: "job-name=fail" })).items;
    assert.equal(pods.length, 1, "backoffLimit 0: no second pod");
    assert.equal(pods[0].status.phase, "Failed");
    const terminated = pods[0].status.containerStatuses[0].state.terminated;
    assert.equal(terminated.exitCode, 3);
    assert.equal(terminated.reason, "Error");
  },
);

export { ROOT };

async function get(url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}

node(
  "a Deployment of an HTTP component answers on its pod IPs, and deleting a pod frees its IP",
  async () => {
    await using c = await startNodeCluster();
    const image = (await pushFixture(c.registry.host, "http_sm")).reference;
    const deployment = wasmDeployment("web", image, { replicas: 3, greeting: "deployment" });
    const applied = await c.kubectl(["apply", "-f", "-"], JSON.stringify(deployment));
    assert.equal(applied.code, 0, applied.stderr);
    const rollout = await c.kubectl(
      ["rollout", "status", "deployment/web", "--timeout=90s"],
      undefined,
      100_000,
    );
    assert.equal(rollout.code, 0, rollout.stderr + rollout.stdout);
    const pods = (await c.client.list(R.pods, "default", { labelSelector: "app=web" })).items;
    assert.equal(pods.length, 3);
    const ips = pods.map((p) => p.status.podIP as string);
    assert.equal(new Set(ips).size, 3);
    for (const ip of ips) {
      assert.ok(ip.startsWith("198.18."), ip);
      assert.deepEqual(await get(`http://${ip}:8080/`), { status: 200, body: "hello from deployment\n" });
    }
    for (const p of pods) {
      const ready = p.status.conditions.find((x: { type: string }) => x.type === "Ready");
      assert.equal(ready.status, "True");
      assert.match(p.status.containerStatuses[0].containerID, /^wasm:\/\//);
      assert.match(p.status.containerStatuses[0].imageID, /@sha256:/);
    }

    // Deleting a pod stops it and releases its address; the ReplicaSet replaces it.
    const victim = pods[0];
    const del = await c.kubectl(
      ["delete", "pod", victim.metadata.name!, "--wait=true", "--timeout=60s"],
      undefined,
      70_000,
    );
    assert.equal(del.code, 0, del.stderr);
    await assert.rejects(() => get(`http://${victim.status.podIP}:8080/`, 1000));
    const allocated = await builtinIpam(c.agent).allocations();
    assert.ok(![...allocated.keys()].includes(victim.status.podIP), "the IP is released");
    await eventually("a replacement pod", async () => {
      const now = (await c.client.list(R.pods, "default", { labelSelector: "app=web" })).items;
      return now.filter((p) =>
        p.status?.conditions?.some((x: { type: string; status: string }) =>
          x.type === "Ready" && x.status === "True"
        )
      ).length === 3;
    });
    const scaled = await c.kubectl(["delete", "deployment", "web", "--wait=true"]);
    assert.equal(scaled.code, 0, scaled.stderr);
    await eventually(
      "every pod to be gone",
      async () => (await c.client.list(R.pods, "default")).items.length === 0,
    );
    await eventually(
      "every address to be released",
      async () => (await builtinIpam(c.agent).allocations()).size === 0,
    );
    await eventually("the namespace's sandbox netns to be gone", () =>
      Promise.resolve(
        // This node's namespaces only: other clusters on the machine have their own.
        listNetns(netnsPrefixFor(`${c.dataDir}/node`)).every((n) => !n.endsWith("-default")),
      ));
  },
);

node("kubectl logs -f streams a running container's output until it exits", async () => {
  await using c = await startNodeCluster({ controllers: false });
  const image = (await pushFixture(c.registry.host, "hello_c")).reference;
  await c.client.create(
    R.pods,
    wasmPod("slow", image, { restartPolicy: "Never" }, { env: [{ name: "SLEEP_MS", value: "3000" }] }),
  );
  await waitPhase(c, "slow", ["Running", "Succeeded"]);
  const child = new Deno.Command("/usr/bin/kubectl", {
    args: ["--kubeconfig", `${c.dataDir}/kubeconfig`, "logs", "-f", "slow"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("hello from C")) seen += (await reader.read()).value ?? "";
  const phaseWhileStreaming = (await c.client.get(R.pods, "default", "slow")).status.phase;
  assert.equal(phaseWhileStreaming, "Running", "the first line arrived while the container still ran");
  for (let r = await reader.read(); !r.done; r = await reader.read()) seen += r.value;
  const status = await child.status;
  await child.stderr.cancel();
  assert.equal(status.code, 0);
  assert.match(seen, /slept 3000 ms/);
  assert.match(seen, /C writes to stderr/);

  // The other log options, through the API server to the node.
  const tail = await c.kubectl(["logs", "slow", "--tail=1"]);
  assert.equal(tail.stdout.trim().split("\n").length, 1);
  const stamped = await c.kubectl(["logs", "slow", "--timestamps", "--limit-bytes=200"]);
  assert.match(stamped.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z hello from C/);
  assert.ok(stamped.stdout.length <= 200);
  const since = await c.kubectl(["logs", "slow", "--since-time=2999-01-01T00:00:00Z"]);
  assert.equal(since.stdout, "");
  const wrong = await c.kubectl(["logs", "slow", "-c", "nope"]);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /container nope is not valid for pod slow/);
});

node("a crashing component goes to CrashLoopBackOff and recovers once its ConfigMap is fixed", async () => {
  await using c = await startNodeCluster({ controllers: false });
  const image = (await pushFixture(c.registry.host, "http_sm")).reference;
  await c.client.create(R.configmaps, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "mode", namespace: "default" },
    data: { MODE: "crash" },
  });
  await c.client.create(
    R.pods,
    wasmPod("crashy", image, {}, {
      ports: [{ containerPort: 8080 }],
      env: [{ name: "MODE", valueFrom: { configMapKeyRef: { name: "mode", key: "MODE" } } }],
      readinessProbe: { httpGet: { path: "/", port: 8080 }, periodSeconds: 1, timeoutSeconds: 1 },
    }),
  );
  const looping = await eventually("CrashLoopBackOff", async () => {
    const pod = await c.client.get(R.pods, "default", "crashy");
    const cs = pod.status?.containerStatuses?.[0];
    return cs?.state?.waiting?.reason === "CrashLoopBackOff" && cs.restartCount >= 2 ? cs : undefined;
  });
  assert.match(
    looping.state.waiting.message,
    /^back-off \d+(\.\d+)?(ms|s) restarting failed container=app pod=crashy_default\(/,
  );
  assert.equal(looping.lastState.terminated.reason, "Error");
  assert.notEqual(looping.lastState.terminated.exitCode, 0);
  const events = (await c.client.list(R.events, "default")).items.map((e) => e.reason);
  assert.ok(events.includes("BackOff"), events.join(","));
  const previous = await c.kubectl(["logs", "crashy", "--previous"]);
  assert.equal(previous.code, 0, `the previous instance's log is served: ${previous.stderr}`);

  await c.client.patch(R.configmaps, "default", "mode", { data: { MODE: "fine" } });
  const ready = await eventually("the pod to recover", async () => {
    const pod = await c.client.get(R.pods, "default", "crashy");
    const cs = pod.status?.containerStatuses?.[0];
    return cs?.ready && cs.state?.running ? pod : undefined;
  }, 60_000);
  const restarts = ready.status.containerStatuses[0].restartCount;
  assert.deepEqual(await get(`http://${ready.status.podIP}:8080/`), {
    status: 200,
    body: "hello from wasm\n",
  });
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(
    (await c.client.get(R.pods, "default", "crashy")).status.containerStatuses[0].restartCount,
    restarts,
    "it stays up",
  );
});

node("a failing liveness probe restarts the container", async () => {
  await using c = await startNodeCluster({ controllers: false });
  const image = (await pushFixture(c.registry.host, "http_sm")).reference;
  await c.client.create(
    R.pods,
    wasmPod("lively", image, {}, {
      ports: [{ containerPort: 8080, name: "http" }],
      livenessProbe: {
        httpGet: { path: "/sleep?ms=3000", port: "http" },
        periodSeconds: 1,
        timeoutSeconds: 1,
        failureThreshold: 2,
      },
    }),
  );
  const restarted = await eventually("a liveness restart", async () => {
    const pod = await c.client.get(R.pods, "default", "lively");
    return pod.status?.containerStatuses?.[0]?.restartCount >= 1 ? pod : undefined;
  });
  const events = (await c.client.list(R.events, "default")).items;
  const unhealthy = events.find((e) => e.reason === "Unhealthy");
  assert.match(
    unhealthy?.message ?? "",
    /^Liveness probe failed: Get "http:\/\/198\.18\.[0-9.]+:8080\/sleep\?ms=3000": context deadline exceeded/,
  );
  const killing = events.find((e) => e.reason === "Killing");
  assert.equal(killing?.message, "Container app failed liveness probe, will be restarted");
  assert.ok(
    restarted.status.containerStatuses[0].lastState.terminated,
    "the killed instance is the last state",
  );
});

node(
  "env, configMap and secret volumes reach the guest, and volume updates follow the ConfigMap",
  async () => {
    await using c = await startNodeCluster({ controllers: false });
    const image = (await pushFixture(c.registry.host, "hello_c")).reference;
    const qjs = (await pushFixture(c.registry.host, "hello_qjs")).reference;
    await c.client.create(R.configmaps, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cfg", namespace: "default" },
      data: { "in.txt": "first version\n", GREETING: "hi" },
    });
    await c.client.create(R.secrets, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "sec", namespace: "default" },
      data: { name: btoa("secret-name"), token: btoa("t0k3n") },
    });
    await c.client.create(
      R.pods,
      wasmPod("reader", image, {
        restartPolicy: "Always",
        volumes: [{ name: "data", configMap: { name: "cfg" } }],
      }, {
        env: [
          { name: "NAME", valueFrom: { secretKeyRef: { name: "sec", key: "name" } } },
          { name: "SLEEP_MS", value: "300" },
        ],
        args: ["--pod=$(POD_NAME)"],
        volumeMounts: [{ name: "data", mountPath: "/data" }],
      }),
    );
    const envPod = wasmPod("lister", qjs, {
      restartPolicy: "Never",
      volumes: [{ name: "config", configMap: { name: "cfg" } }, {
        name: "secret",
        secret: { secretName: "sec" },
      }, {
        name: "meta",
        downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] },
      }],
    }, {
      envFrom: [{ configMapRef: { name: "cfg" }, prefix: "CFG_" }],
      env: [{ name: "NAME", value: "$(CFG_GREETING)-there" }],
      volumeMounts: [{ name: "config", mountPath: "/config" }, { name: "secret", mountPath: "/secret" }, {
        name: "meta",
        mountPath: "/meta",
      }],
    });
    await c.client.create(R.pods, envPod);
    await waitPhase(c, "lister", ["Succeeded"]);
    const listed = (await c.kubectl(["logs", "lister"])).stdout;
    assert.match(listed, /hello from quickjs, hi-there/);
    // As on any kubelet, the atomic-writer entries (`..data`, `..<timestamp>`) are there too.
    assert.match(listed, /\/config: \.\.[0-9_.a-f]+,\.\.data,GREETING,in\.txt\n/);
    assert.match(listed, /\/secret: .*,name,token\n/);
    assert.match(listed, /\/meta: .*,labels\n/);

    const first = await eventually("the reader's output", async () => {
      const out = (await c.kubectl(["logs", "reader"])).stdout;
      return out.includes("read /data/in.txt") ? out : undefined;
    });
    assert.match(first, /hello from C, secret-name/);
    assert.match(first, /read \/data\/in.txt: first version/);
    assert.match(first, /cannot write \/data\/out.txt/, "configMap volumes are read-only");
    assert.match(first, /escape: (?!OPENED)/, "the guest cannot leave its volume");
    await c.client.patch(R.configmaps, "default", "cfg", { data: { "in.txt": "second version\n" } });
    await eventually("the updated file in a later run", async () => {
      const out = (await c.kubectl(["logs", "reader"])).stdout;
      return out.includes("read /data/in.txt: second version");
    }, 60_000);
  },
);

node("a pod needing a world the node lacks fails with a clear reason", async () => {
  await using c = await startNodeCluster({ controllers: false });
  const image = (await pushFixture(c.registry.host, "unsupported_qjs")).reference;
  await c.client.create(R.pods, wasmPod("alien", image, { restartPolicy: "Never" }));
  const waiting = await eventually("CreateContainerError", async () => {
    const cs = (await c.client.get(R.pods, "default", "alien")).status?.containerStatuses?.[0];
    return cs?.state?.waiting?.reason === "CreateContainerError" ? cs.state.waiting : undefined;
  });
  assert.match(waiting.message, /import/i, waiting.message);
});

node("exec probes on wasm pods are refused when the pod is created", async () => {
  await using c = await startNodeCluster({ controllers: false });
  const r = await c.kubectl(
    ["apply", "-f", "-"],
    JSON.stringify(
      wasmPod("execy", "127.0.0.1:1/x:1", {}, { livenessProbe: { exec: { command: ["true"] } } }),
    ),
  );
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /forbidden: RuntimeClass "wasm" \(handler "wasm"\) cannot run exec handlers: spec.containers\[0\].livenessProbe.exec/,
  );
});

async function createNamespace(c: NodeCluster, name: string) {
  await c.client.create(R.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
}

node(
  "a spinning guest and a memory bomb are killed while a neighbour in another namespace keeps answering",
  async () => {
    await using c = await startNodeCluster({ controllers: false, runtime: { deadlineMs: 1000 } });
    const image = (await pushFixture(c.registry.host, "http_sm")).reference;
    await createNamespace(c, "calm");
    await createNamespace(c, "wild");
    // The bomber gets a namespace (so a sandbox) of its own: in the spinner's, the spinner's
    // kills take it down before it can fill its memory.
    await createNamespace(c, "bomb");
    const neighbour = wasmPod("neighbour", image, {}, { ports: [{ containerPort: 8080 }] });
    neighbour.metadata.namespace = "calm";
    await c.client.create(R.pods, neighbour);
    const calm = await waitPhase(c, "neighbour", ["Running"], "calm");
    const url = `http://${calm.status.podIP}:8080/`;
    await eventually("the neighbour to answer", async () => (await get(url)).status === 200);

    // A bystander shares the wild namespace's sandbox process with the spinner.
    const bystander = wasmPod("bystander", image, {}, { ports: [{ containerPort: 8080 }] });
    bystander.metadata.namespace = "wild";
    await c.client.create(R.pods, bystander);
    const bystanderBefore = await waitPhase(c, "bystander", ["Running"], "wild");
    const bystanderUrl = `http://${bystanderBefore.status.podIP}:8080/`;
    await eventually("the bystander to answer", async () => (await get(bystanderUrl)).status === 200);
    const shim = `${c.dataDir}/node/runtime/groups/wild/shard-0/shim.json`;
    const bystanderId = (bystanderBefore.status.containerStatuses[0].containerID as string).replace(
      "wasm://",
      "",
    );
    // The shim writes its state file within 50 ms of a start (batched, shim_main.ts), which may
    // be after the pod shows Running: read it once it has the bystander.
    const sandboxBefore = await eventually("shard-0's state file to show the bystander running", async () => {
      const state = JSON.parse(await Deno.readTextFile(shim)) as ShimState;
      return state.containers[bystanderId]?.state === "running" && state;
    }, 10_000);
    assert.ok(sandboxBefore.sandboxPid, "shard-0's sandbox process");

    const probe = { httpGet: { path: "/", port: 8080 }, periodSeconds: 1, timeoutSeconds: 1 };
    for (
      const [name, mode, limits] of [["spinner", "spin", undefined], ["bomber", "bomb", {
        memory: "64Mi",
      }]] as const
    ) {
      const pod = wasmPod(name, image, {}, {
        ports: [{ containerPort: 8080 }],
        env: [{ name: "MODE", value: mode }],
        readinessProbe: probe,
        ...(limits ? { resources: { limits } } : {}),
      });
      pod.metadata.namespace = mode === "bomb" ? "bomb" : "wild";
      await c.client.create(R.pods, pod);
    }
    // Hammer the neighbour while the wild namespace misbehaves.
    let stop = false;
    const failures: string[] = [];
    let answered = 0;
    const hammer = (async () => {
      while (!stop) {
        try {
          const r = await get(url, 1500);
          if (r.status === 200) answered++;
          else failures.push(`status ${r.status}`);
        } catch (e) {
          failures.push((e as Error).message);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      const reasonOf = async (name: string, namespace = "wild") =>
        (await c.client.get(R.pods, namespace, name)).status?.containerStatuses?.[0]?.lastState?.terminated
          ?.reason;
      const bomber = eventually(
        "the bomber to be OOMKilled",
        async () => (await reasonOf("bomber", "bomb")) === "OOMKilled",
        60_000,
      ).catch(async (e) => {
        throw new Error(`${e.message}\n${await describe(c, "bomber", "bomb")}`);
      });
      const spinner = (async () => {
        await eventually(
          "the spinner to be killed as unresponsive",
          async () => (await reasonOf("spinner")) === "Unresponsive",
          60_000,
        );
        // Its sandbox process went down with it; the bystander was started again in a new one as
        // the same container, without a restart being counted (docs/isolation.md).
        await eventually("the spinner's sandbox process to be gone", async () => {
          try {
            return (await Deno.readTextFile(`/proc/${sandboxBefore.sandboxPid}/stat`)).includes(") Z");
          } catch {
            return true;
          }
        }, 20_000);
        try {
          await eventually(
            "the bystander to answer again",
            async () => (await get(bystanderUrl, 1000)).status === 200,
            20_000,
          );
          const after = (await c.client.get(R.pods, "wild", "bystander")).status.containerStatuses[0];
          assert.equal(after.restartCount, 0);
          assert.equal(after.containerID, bystanderBefore.status.containerStatuses[0].containerID);
          assert.ok(after.state.running);
        } catch (e) {
          throw new Error(`${(e as Error).message}\n${await describe(c, "bystander", "wild")}`);
        }
      })();
      await Promise.all([bomber, spinner]);
    } finally {
      stop = true;
      await hammer;
    }
    assert.deepEqual(
      failures,
      [],
      `the neighbour failed ${failures.length} of ${answered + failures.length} requests`,
    );
    assert.ok(answered > 20, `only ${answered} requests`);
    const after = await c.client.get(R.pods, "calm", "neighbour");
    assert.equal(after.status.containerStatuses[0].restartCount, 0);
  },
);

node("a restarted agent re-adopts its running pods instead of starting them again", async () => {
  // One container per sandbox process: the two pods live in two shards of their namespace.
  await using c = await startNodeCluster({ controllers: false, runtime: { maxContainersPerSandbox: 1 } });
  const image = (await pushFixture(c.registry.host, "http_sm")).reference;
  for (const name of ["a", "b"]) {
    await c.client.create(R.pods, wasmPod(name, image, {}, { ports: [{ containerPort: 8080 }] }));
  }
  const before = await Promise.all(["a", "b"].map((n) => waitPhase(c, n, ["Running"])));
  const ids = before.map((p) => p.status.containerStatuses[0].containerID);
  const shards = [...Deno.readDirSync(`${c.dataDir}/node/runtime/groups/default`)].map((e) => e.name).sort();
  assert.deepEqual(shards, ["shard-0", "shard-1"]);
  const ips = before.map((p) => p.status.podIP);
  for (const ip of ips) {
    await eventually("an answer", async () => (await get(`http://${ip}:8080/`)).status === 200);
  }

  await c.agent.stop({ keepPods: true });
  for (const ip of ips) {
    assert.equal((await get(`http://${ip}:8080/`)).status, 200, "pods run on while the agent is away");
  }
  await c.client.delete(R.pods, "default", "b"); // deleted while the agent is away
  await c.restartAgent();

  await eventually("b to be cleaned up", async () => !(await c.client.tryGet(R.pods, "default", "b")));
  await assert.rejects(() => get(`http://${ips[1]}:8080/`, 1000));
  const a = await c.client.get(R.pods, "default", "a");
  assert.equal(a.status.containerStatuses[0].containerID, ids[0], "the same container");
  assert.equal(a.status.containerStatuses[0].restartCount, 0);
  assert.equal(a.status.podIP, ips[0]);
  assert.equal((await get(`http://${ips[0]}:8080/`)).status, 200);
  const logs = await c.kubectl(["logs", "a"]);
  assert.equal(logs.code, 0, logs.stderr);
  const allocations = await builtinIpam(c.agent).allocations();
  assert.deepEqual([...allocations.keys()], [ips[0]], "b's address was released, a's kept");
});

node(
  "./skiff node killed with SIGKILL is replaced by one that adopts its pods; SIGTERM then cleans up",
  async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "skiff-node-crash-" });
    const cp = await startControlPlane({ kvPath: `${dataDir}/state.kv`, port: 0, compactionIntervalMs: 0 });
    registerConnectHandlers(cp.server);
    await writeKubeconfig(`${dataDir}/kubeconfig`, cp.url);
    const client = new Client({ server: cp.url });
    await ensureRuntimeClass(client, "wasm");
    const registry = await startRegistry();
    const bridge = `skcr${Deno.pid % 10000}`;
    // No controller manager here: the node is configured with its pod CIDR (the kubelet's flag).
    const podCIDR = nextFreeBlock("198.18.0.0/16", 22, await localSubnets(bridge))!;
    const nodeDir = `${dataDir}/node`;
    const spawn = () =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--config",
          `${ROOT}/deno.json`,
          `${ROOT}/cli/node.ts`,
          "--kubeconfig",
          `${dataDir}/kubeconfig`,
          "--name",
          "crash-node",
          "--data-dir",
          nodeDir,
          "--port",
          "0",
          "--bridge",
          bridge,
          "--pod-cidr",
          podCIDR,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
    const readySince = (t: number) =>
      eventually("the node to be Ready", async () => {
        const n = await client.tryGet(R.nodes, "", "crash-node");
        const ready = n?.status?.conditions?.find((c: { type: string }) => c.type === "Ready");
        return ready?.status === "True" && Date.parse(ready.lastHeartbeatTime) >= t - 1000 ? n : undefined;
      });
    let agent = spawn();
    try {
      await readySince(Date.now());
      const image = (await pushFixture(registry.host, "http_sm")).reference;
      const pod = wasmPod("survivor", image, { nodeName: "crash-node" }, {
        ports: [{ containerPort: 8080 }],
      });
      await client.create(R.pods, pod);
      const before = await eventually("the pod to run", async () => {
        const p = await client.get(R.pods, "default", "survivor");
        return p.status?.containerStatuses?.[0]?.ready ? p : undefined;
      });
      const url = `http://${before.status.podIP}:8080/`;
      await eventually("an answer", async () => (await get(url)).status === 200);

      agent.kill("SIGKILL");
      await agent.status;
      assert.equal((await get(url)).status, 200, "the pod outlives its agent");
      const restartedAt = Date.now();
      agent = spawn();
      await readySince(restartedAt);
      await new Promise((r) => setTimeout(r, 1500)); // a few syncs
      const after = await client.get(R.pods, "default", "survivor");
      assert.equal(
        after.status.containerStatuses[0].containerID,
        before.status.containerStatuses[0].containerID,
      );
      assert.equal(after.status.containerStatuses[0].restartCount, 0);
      assert.equal((await get(url)).status, 200);
      const logs = await runKubectl(`${dataDir}/kubeconfig`, dataDir, ["logs", "survivor"], {
        timeoutMs: 30_000,
      });
      assert.equal(logs.code, 0, logs.stderr);

      agent.kill("SIGTERM");
      assert.equal((await agent.status).code, 0);
      // (No request to the pod IP now: with the bridge gone it would be routed off this machine.)
      const links = new TextDecoder().decode(
        (await new Deno.Command("ip", { args: ["-o", "link", "show"] }).output()).stdout,
      );
      assert.ok(!links.includes(bridge), "the bridge is gone");
      const leftovers = [...Deno.readDirSync("/proc")].filter((e) => /^\d+$/.test(e.name)).filter((e) => {
        try {
          return Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(nodeDir);
        } catch {
          return false;
        }
      });
      assert.deepEqual(leftovers.map((e) => e.name), [], "no shim or sandbox process is left");
    } finally {
      try {
        agent.kill("SIGKILL");
      } catch { /* exited */ }
      await agent.status;
      await cleanUpNode(nodeDir, bridge);
      await registry.close();
      await cp.close();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
);

node(
  "a pod whose ConfigMap is missing waits with FailedMount and starts once the ConfigMap appears",
  async () => {
    await using c = await startNodeCluster({ controllers: false });
    const image = (await pushFixture(c.registry.host, "hello_qjs")).reference;
    await c.client.create(
      R.pods,
      wasmPod("patient", image, {
        restartPolicy: "Never",
        volumes: [{ name: "config", configMap: { name: "later" } }],
      }, {
        volumeMounts: [{ name: "config", mountPath: "/config" }],
      }),
    );
    const event = await eventually(
      "a FailedMount event",
      async () => (await c.client.list(R.events, "default")).items.find((e) => e.reason === "FailedMount"),
    );
    assert.equal(event.message, 'MountVolume.SetUp failed for volume "config" : configmap "later" not found');
    const pending = await c.client.get(R.pods, "default", "patient");
    assert.equal(pending.status.phase, "Pending");
    assert.equal(pending.status.containerStatuses[0].state.waiting.reason, "ContainerCreating");
    await c.client.create(R.configmaps, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "later", namespace: "default" },
      data: { "a.txt": "a" },
    });
    await waitPhase(c, "patient", ["Succeeded"], "default", 20_000);
    assert.match((await c.kubectl(["logs", "patient"])).stdout, /\/config: .*,a\.txt/);
  },
);
