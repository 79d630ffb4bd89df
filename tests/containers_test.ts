/**
 * OCI containers end to end: a real control plane (with the exec, attach, port-forward and log
 * connect handlers), scheduler and controllers in this process, a real node agent running crun
 * through conmon in its own mount namespace next to the Wasm runtime, images built during the
 * run from the host's busybox-static and pushed to a real registry, and kubectl v1.32.
 * @module
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { Client, R } from "../control/api/client.ts";
import type { KubeObject } from "../control/api/types.ts";
import { listNetns } from "../node/cni/netns.ts";
import { CRUN, freeRange, OCI_ROOT } from "../node/cri/oci/testing.ts";
import {
  ensureRuntimeClass,
  type NodeAgent,
  netnsPrefixFor,
  nodeRuntime,
  type NodeRuntimeSettings,
  OCI_CONDITION,
  startNodeAgent,
} from "../node/mod.ts";
import { fixturePrerequisites } from "./fixtures/build.ts";
import { BUSYBOX_STATIC, busyboxImage, hostileImage, pushImage } from "./fixtures/oci/images.ts";
import { pushFixture } from "./fixtures/push.ts";
import {
  eventually,
  KUBECTL,
  type KubectlResult,
  recordWaitingReasons,
  runKubectl,
  testWith,
} from "./harness.ts";
import { DOCKER_REGISTRY, type TestRegistry } from "./registry.ts";
import { startTestControlPlane } from "./test_control_plane.ts";

export const CONTAINER_PREREQUISITES = [OCI_ROOT, CRUN, KUBECTL, DOCKER_REGISTRY, BUSYBOX_STATIC];

/** A cluster with one node running both runtimes. */
export interface ContainerCluster extends AsyncDisposable {
  url: string;
  dataDir: string;
  kubeconfig: string;
  client: Client;
  registry: TestRegistry;
  agent: NodeAgent;
  /** The busybox image (httpd on 8080), pushed. */
  busybox: string;
  kubectl(args: string[], opts?: { stdin?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** Applies manifests with kubectl. */
  apply(...objects: KubeObject[]): Promise<void>;
  restartAgent(): Promise<NodeAgent>;
  close(): Promise<void>;
}

let clusters = 0;

export async function startContainerCluster(
  opts: { runtime?: NodeRuntimeSettings; controllers?: boolean } = {},
): Promise<ContainerCluster> {
  const base = await startTestControlPlane("skiff-ctr-test-", {
    controllers: opts.controllers === false ? ["node-ipam-controller"] : ["*"],
  });
  const { client, dataDir, kubeconfig, registry } = base;
  await ensureRuntimeClass(client, "wasm");
  await ensureRuntimeClass(client, "oci");
  const bridge = `skctr${Deno.pid % 1000}x${clusters++}`;
  // A range no interface of this machine uses (other clusters may run beside this one).
  const podCIDR = await freeRange();
  const agentOptions = () => ({
    podCIDR,
    server: base.url,
    name: "node-1",
    dataDir: `${dataDir}/node`,
    port: 0,
    bridge,
    backoff: { baseMs: 300, capMs: 2000 },
    leaseIntervalMs: 2000,
    runtime: nodeRuntime({ wasm: { deadlineMs: 1500 }, ...opts.runtime }),
  });
  let agent: NodeAgent;
  let busybox: string;
  try {
    busybox = (await pushImage(registry.host, "test/busybox", "1.35", await busyboxImage())).reference;
    agent = await startNodeAgent(agentOptions());
  } catch (e) {
    await base.close();
    throw e;
  }
  const run = (args: string[], o: { stdin?: string; timeoutMs?: number } = {}) =>
    runKubectl(kubeconfig, dataDir, args, { stdin: o.stdin, timeoutMs: o.timeoutMs ?? 60_000 });
  let closed: Promise<void> | undefined;
  const cluster: ContainerCluster = {
    url: base.url,
    dataDir,
    kubeconfig,
    client,
    registry,
    agent,
    busybox,
    kubectl: run,
    async apply(...objects) {
      const r = await run(["apply", "-f", "-"], {
        // Every string quoted: kubectl reads YAML 1.1, where a bare `n` or `on` is a boolean.
        stdin: objects.map((o) =>
          stringify(o, { defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN" })
        ).join("---\n"),
      });
      assert.equal(r.code, 0, r.stderr);
    },
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

/** A Pod of busybox containers. */
export function pod(
  name: string,
  containers: Record<string, unknown>[],
  spec: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { test: name } },
    spec: { terminationGracePeriodSeconds: 2, ...spec, containers },
  };
}

async function describe(c: ContainerCluster, name: string): Promise<string> {
  const p = await c.client.tryGet(R.pods, "default", name);
  const events = (await c.client.list(R.events, "default")).items.filter((e) =>
    e.involvedObject?.name === name
  )
    .map((e) => `${e.type} ${e.reason}: ${e.message}`);
  return `status: ${JSON.stringify(p?.status, null, 1)}\nevents:\n${events.join("\n")}`;
}

/** Waits for the pod's phase; the error shows its status and events. */
export async function waitPhase(
  c: ContainerCluster,
  name: string,
  phases: string[],
  timeoutMs = 60_000,
): Promise<KubeObject> {
  try {
    return await eventually(`pod ${name} to be ${phases.join(" or ")}`, async () => {
      const p = await c.client.tryGet(R.pods, "default", name);
      return p && phases.includes(p.status?.phase) ? p : undefined;
    }, timeoutMs);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${await describe(c, name)}`);
  }
}

async function waitReady(c: ContainerCluster, name: string): Promise<KubeObject> {
  try {
    return await eventually(`pod ${name} to be Ready`, async () => {
      const p = await c.client.tryGet(R.pods, "default", name);
      return p?.status?.conditions?.some((x: { type: string; status: string }) =>
          x.type === "Ready" && x.status === "True"
        )
        ? p
        : undefined;
    });
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${await describe(c, name)}`);
  }
}

async function get(url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}

const test = (name: string, fn: () => Promise<void>) => {
  if (import.meta.main) return;
  testWith(CONTAINER_PREREQUISITES, name, fn);
};

test("a Deployment of busybox httpd answers on its pod IPs, from the host and from a Wasm pod", async () => {
  await using c = await startContainerCluster();
  const wasmReady = !fixturePrerequisites("http_sm").some((p) => !p.available());
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default" },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{
            name: "httpd",
            image: c.busybox,
            ports: [{ containerPort: 8080 }],
            readinessProbe: { httpGet: { path: "/", port: 8080 }, periodSeconds: 1 },
            livenessProbe: { exec: { command: ["sh", "-c", "test -f /www/index.html"] }, periodSeconds: 1 },
          }],
        },
      },
    },
  };
  await c.apply(deployment as KubeObject);
  const rollout = await c.kubectl(["rollout", "status", "deployment/web", "--timeout=90s"], {
    timeoutMs: 100_000,
  });
  assert.equal(rollout.code, 0, rollout.stderr + rollout.stdout);
  const pods = (await c.client.list(R.pods, "default", { labelSelector: "app=web" })).items;
  assert.equal(pods.length, 2);
  const ips = pods.map((p) => p.status.podIP as string);
  assert.equal(new Set(ips).size, 2);
  for (const p of pods) {
    assert.match(p.status.podIP, /^198\.18\./);
    assert.match(p.status.containerStatuses[0].containerID, /^crun:\/\//);
    assert.match(p.status.containerStatuses[0].imageID, /test\/busybox@sha256:[0-9a-f]{64}$/);
    assert.deepEqual(await get(`http://${p.status.podIP}:8080/`), {
      status: 200,
      body: "hello from busybox\n",
    });
  }
  // From a WebAssembly pod, through its outgoing HTTP.
  if (wasmReady) {
    const image = (await pushFixture(c.registry.host, "http_sm")).reference;
    await c.apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "client", namespace: "default" },
      spec: {
        runtimeClassName: "wasm",
        containers: [{ name: "c", image, ports: [{ containerPort: 8080 }] }],
      },
    });
    const wasm = await waitReady(c, "client");
    const r = await eventually("the Wasm pod to reach a container pod", async () => {
      const res = await get(
        `http://${wasm.status.podIP}:8080/fetch?url=${encodeURIComponent(`http://${ips[0]}:8080/`)}`,
      );
      return res.status === 200 ? res : undefined;
    });
    assert.equal(r.body, "hello from busybox\n");
  }
  // The exec liveness probe keeps passing: no restarts.
  await new Promise((r) => setTimeout(r, 2500));
  const after = (await c.client.list(R.pods, "default", { labelSelector: "app=web" })).items;
  assert.deepEqual(after.map((p) => p.status.containerStatuses[0].restartCount), [0, 0]);
});

test("kubectl exec -it runs a shell and returns the exit status; exec without a terminal; attach", async () => {
  await using c = await startContainerCluster({ controllers: false });
  await c.apply(pod("shell", [{
    name: "main",
    image: c.busybox,
    command: ["sh", "-c", "echo started; while read line; do echo got: $line; done"],
    stdin: true,
    env: [{ name: "WHO", value: "skiff" }],
  }]));
  await waitPhase(c, "shell", ["Running"]);
  // Not interactive: stdout, stderr and the exit code come back.
  const plain = await c.kubectl(["exec", "shell", "--", "sh", "-c", "echo out $WHO; echo err >&2; exit 3"]);
  assert.equal(plain.code, 3, plain.stderr);
  assert.equal(plain.stdout, "out skiff\n");
  assert.match(plain.stderr, /err/);
  const input = await c.kubectl(["exec", "-i", "shell", "--", "tr", "a-z", "A-Z"], { stdin: "shout\n" });
  assert.equal(input.code, 0, input.stderr);
  assert.equal(input.stdout, "SHOUT\n");

  // Interactive, with a terminal (kubectl itself runs in one, under `script`).
  const line = [
    "/usr/bin/kubectl",
    "--kubeconfig",
    c.kubeconfig,
    "--cache-dir",
    `${c.dataDir}/kube-cache`,
    "exec",
    "-it",
    "shell",
    "--",
    "sh",
  ].join(" ");
  const child = new Deno.Command("/usr/bin/script", {
    args: ["-qfec", line, "/dev/null"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { TERM: "xterm", COLUMNS: "120", LINES: "40" },
  }).spawn();
  const w = child.stdin.getWriter();
  const enc = new TextEncoder();
  let out = "";
  const reading = (async () => {
    for await (const chunk of child.stdout) out += new TextDecoder().decode(chunk);
  })();
  await eventually("the prompt", () => Promise.resolve(/# $/m.test(out) || out.includes("# ")), 20_000);
  await w.write(enc.encode("tty; echo hello-$WHO; exit 7\n"));
  const status = await child.status;
  await reading;
  await w.close().catch(() => {});
  await child.stderr.cancel().catch(() => {});
  assert.match(out, /\/dev\/pts\/\d+/, out);
  assert.match(out, /hello-skiff/, out);
  assert.equal(status.code, 7, out);

  // attach: what is written reaches the main process; its output comes back.
  const attach = new Deno.Command("/usr/bin/kubectl", {
    args: ["--kubeconfig", c.kubeconfig, "--cache-dir", `${c.dataDir}/kube-cache`, "attach", "-i", "shell"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const aw = attach.stdin.getWriter();
  let seen = "";
  const aread = (async () => {
    for await (const chunk of attach.stdout) {
      seen += new TextDecoder().decode(chunk);
      if (seen.includes("got: ping")) break;
    }
  })();
  await new Promise((r) => setTimeout(r, 1000));
  await aw.write(enc.encode("ping\n"));
  await Promise.race([aread, new Promise((r) => setTimeout(r, 15_000))]);
  attach.kill("SIGTERM");
  await attach.status;
  await aw.close().catch(() => {});
  await attach.stdout.cancel().catch(() => {});
  await attach.stderr.cancel().catch(() => {});
  assert.match(seen, /got: ping/);
  const logs = await c.kubectl(["logs", "shell"]);
  assert.match(logs.stdout, /started\ngot: ping/);
});

/** A loopback port nothing listens on now (a random one could be taken by an ephemeral port). */
function freeLocalPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

test("kubectl port-forward reaches a container port through the API server and the node", async () => {
  await using c = await startContainerCluster({ controllers: false });
  await c.apply(pod("pf", [{ name: "httpd", image: c.busybox, ports: [{ containerPort: 8080 }] }]));
  await waitPhase(c, "pf", ["Running"]);
  const local = freeLocalPort();
  const child = new Deno.Command("/usr/bin/kubectl", {
    args: [
      "--kubeconfig",
      c.kubeconfig,
      "--cache-dir",
      `${c.dataDir}/kube-cache`,
      "port-forward",
      "pod/pf",
      `${local}:8080`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    const answers = await eventually("the forwarded port", async () => {
      const r = await get(`http://127.0.0.1:${local}/`).catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    }, 30_000);
    assert.equal(answers.body, "hello from busybox\n");
    // Several connections, one after the other and at once.
    const many = await Promise.all(Array.from({ length: 5 }, () => get(`http://127.0.0.1:${local}/`)));
    assert.ok(many.every((r) => r.body === "hello from busybox\n"));
    // A port nobody listens on: the connection fails, kubectl reports the node's error.
    const none = await c.kubectl(["port-forward", "pod/pf", `${freeLocalPort()}:9999`], { timeoutMs: 5000 });
    assert.notEqual(none.code, 0);
  } catch (e) {
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
    const out = await child.output();
    throw new Error(`${(e as Error).message}\nkubectl port-forward: ${new TextDecoder().decode(out.stderr)}`);
  }
  child.kill("SIGTERM");
  await child.status;
  await child.stdout.cancel().catch(() => {});
  await child.stderr.cancel().catch(() => {});
});

test("kubectl logs, logs -f and --previous follow a restarting container", async () => {
  await using c = await startContainerCluster({ controllers: false });
  await c.apply(pod("talker", [{
    name: "t",
    image: c.busybox,
    command: [
      "sh",
      "-c",
      "echo run at $(date +%s); i=0; while [ $i -lt 3 ]; do echo line $i; i=$((i+1)); sleep 0.3; done; exit 2",
    ],
  }]));
  const restarted = await eventually("a restart", async () => {
    const p = await c.client.get(R.pods, "default", "talker");
    return p.status?.containerStatuses?.[0]?.restartCount >= 1 ? p : undefined;
  });
  assert.equal(restarted.status.containerStatuses[0].lastState.terminated.exitCode, 2);
  assert.equal(restarted.status.containerStatuses[0].lastState.terminated.reason, "Error");
  const previous = await c.kubectl(["logs", "talker", "--previous"]);
  assert.equal(previous.code, 0, previous.stderr);
  assert.match(previous.stdout, /^run at \d+\nline 0\nline 1\nline 2\n$/);
  const follow = await c.kubectl(["logs", "-f", "talker"], { timeoutMs: 30_000 });
  assert.equal(follow.code, 0, follow.stderr);
  assert.match(follow.stdout, /line 2\n$/);
  const events = (await c.client.list(R.events, "default")).items.map((e) => e.reason);
  assert.ok(events.includes("BackOff") || events.includes("Started"), events.join(","));
});

test("limits and securityContext: OOMKilled, killed after the grace period, read-only root, runAsNonRoot", async () => {
  await using c = await startContainerCluster({ controllers: false });
  await c.apply(
    pod("oom", [{
      name: "m",
      image: c.busybox,
      command: ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"],
      resources: { limits: { memory: "32Mi" } },
    }], { restartPolicy: "Never" }),
    pod("stubborn", [{
      name: "s",
      image: c.busybox,
      command: ["sh", "-c", "trap '' TERM; echo up; while true; do sleep 0.2; done"],
    }], {
      terminationGracePeriodSeconds: 3,
    }),
    pod("readonly", [{
      name: "r",
      image: c.busybox,
      command: ["sh", "-c", "touch /root-write 2>&1; echo rc=$?"],
      securityContext: { readOnlyRootFilesystem: true },
    }], { restartPolicy: "Never" }),
    pod("nonroot", [{ name: "n", image: c.busybox, securityContext: { runAsNonRoot: true } }]),
  );
  const oom = await waitPhase(c, "oom", ["Failed", "Succeeded"]);
  const term = oom.status.containerStatuses[0].state.terminated;
  assert.equal(term.reason, "OOMKilled");
  assert.equal(term.exitCode, 137);

  const ro = await waitPhase(c, "readonly", ["Succeeded", "Failed"]);
  assert.equal(ro.status.phase, "Succeeded");
  const roLog = (await c.kubectl(["logs", "readonly"])).stdout;
  assert.match(roLog, /Read-only file system/);
  assert.match(roLog, /rc=1/);

  const nonroot = await eventually("CreateContainerConfigError", async () => {
    const s = (await c.client.get(R.pods, "default", "nonroot")).status?.containerStatuses?.[0];
    return s?.state?.waiting?.reason === "CreateContainerConfigError" ? s.state.waiting : undefined;
  });
  assert.match(nonroot.message, /container has runAsNonRoot and image will run as root/);

  await waitPhase(c, "stubborn", ["Running"]);
  await eventually(
    "stubborn to print",
    async () => (await c.kubectl(["logs", "stubborn"])).stdout.includes("up"),
  );
  const t0 = Date.now();
  const del = await c.kubectl(["delete", "pod", "stubborn", "--wait=true"], { timeoutMs: 60_000 });
  const took = Date.now() - t0;
  assert.equal(del.code, 0, del.stderr);
  assert.ok(took >= 2800, `deleted after ${took} ms, before its 3 s grace period`);
  assert.ok(took < 15_000, `deleted after ${took} ms`);
});

test("bad and hostile images: ErrImagePull then ImagePullBackOff, and a path-escaping layer is refused", async () => {
  await using c = await startContainerCluster({ controllers: false });
  const evil = await pushImage(c.registry.host, "test/evil", "1", await hostileImage("escape"));
  // ErrImagePull lasts only until the next sync: record every waiting reason through a watch.
  const recorded = recordWaitingReasons(c.client, "default", "missing");
  await c.apply(
    pod("missing", [{ name: "x", image: `${c.registry.host}/test/does-not-exist:1` }]),
    pod("evil", [{ name: "x", image: evil.reference }]),
  );
  try {
    await eventually(
      "ErrImagePull then ImagePullBackOff",
      () => recorded.reasons.has("ErrImagePull") && recorded.reasons.has("ImagePullBackOff"),
      30_000,
    );
  } finally {
    await recorded.stop();
  }
  const evilStatus = await eventually("the hostile image to be refused", async () => {
    const s = (await c.client.get(R.pods, "default", "evil")).status?.containerStatuses?.[0];
    return ["ErrImagePull", "ImagePullBackOff"].includes(s?.state?.waiting?.reason) && s.state.waiting.message
      ? s.state.waiting
      : undefined;
  });
  const events = (await c.client.list(R.events, "default")).items.filter((e) =>
    e.involvedObject?.name === "evil"
  );
  assert.ok(
    events.some((e) => /escapes the root/.test(e.message ?? "")) ||
      /escapes the root/.test(evilStatus.message),
    JSON.stringify(events.map((e) => e.message)),
  );
  assert.throws(() => Deno.statSync(`${c.dataDir}/node/images/escaped-by-skiff-test`));
});

test("a mixed pod: a Wasm component and a busybox sidecar share the pod IP and a volume", async () => {
  if (fixturePrerequisites("http_sm").some((p) => !p.available())) return;
  await using c = await startContainerCluster({ controllers: false });
  const wasm = (await pushFixture(c.registry.host, "http_sm")).reference;
  await c.apply(pod("mixed", [
    {
      name: "app",
      image: wasm,
      ports: [{ containerPort: 8080 }],
      volumeMounts: [{ name: "shared", mountPath: "/shared" }],
    },
    {
      name: "sidecar",
      image: c.busybox,
      command: ["sh", "-c", "echo from-sidecar > /shared/note; httpd -f -p 9090 -h /shared"],
      volumeMounts: [{ name: "shared", mountPath: "/shared" }],
    },
  ], { volumes: [{ name: "shared", emptyDir: {} }] }));
  const p = await waitReady(c, "mixed");
  const ip = p.status.podIP;
  assert.match(
    p.status.containerStatuses.find((s: { name: string }) => s.name === "app").containerID,
    /^wasm:\/\//,
  );
  assert.match(
    p.status.containerStatuses.find((s: { name: string }) => s.name === "sidecar").containerID,
    /^crun:\/\//,
  );
  assert.equal(
    (await eventually("the component", () => get(`http://${ip}:8080/`).catch(() => undefined))).body,
    "hello from wasm\n",
  );
  assert.equal(
    (await eventually("the sidecar", () => get(`http://${ip}:9090/note`).catch(() => undefined))).body,
    "from-sidecar\n",
  );
  const ex = await c.kubectl([
    "exec",
    "mixed",
    "-c",
    "sidecar",
    "--",
    "wget",
    "-q",
    "-O-",
    `http://${ip}:8080/`,
  ]);
  assert.equal(ex.code, 0, ex.stderr);
  assert.equal(ex.stdout, "hello from wasm\n");
  const refused = await c.kubectl(["exec", "mixed", "-c", "app", "--", "true"]);
  assert.notEqual(refused.code, 0);
});

test("a restarted agent re-adopts running containers instead of starting them again", async () => {
  await using c = await startContainerCluster({ controllers: false });
  await c.apply(
    pod("keeper", [{ name: "k", image: c.busybox }]),
    pod("goner", [{ name: "g", image: c.busybox }]),
  );
  const before = await Promise.all(["keeper", "goner"].map((n) => waitPhase(c, n, ["Running"])));
  const ids = before.map((p) => p.status.containerStatuses[0].containerID);
  for (const p of before) {
    await eventually(
      "httpd",
      () => get(`http://${p.status.podIP}:8080/`).then((r) => r.status === 200).catch(() => false),
    );
  }
  await c.agent.stop({ keepPods: true });
  assert.equal(
    (await get(`http://${before[0].status.podIP}:8080/`)).status,
    200,
    "containers outlive the agent",
  );
  await c.client.delete(R.pods, "default", "goner");
  await c.restartAgent();
  await eventually(
    "goner to be cleaned up",
    async () => !(await c.client.tryGet(R.pods, "default", "goner")),
  );
  await assert.rejects(() => get(`http://${before[1].status.podIP}:8080/`, 1000));
  await new Promise((r) => setTimeout(r, 1000));
  const keeper = await c.client.get(R.pods, "default", "keeper");
  assert.equal(keeper.status.containerStatuses[0].containerID, ids[0], "the same container");
  assert.equal(keeper.status.containerStatuses[0].restartCount, 0);
  assert.equal((await get(`http://${keeper.status.podIP}:8080/`)).status, 200);
  const ex = await c.kubectl(["exec", "keeper", "--", "echo", "still here"]);
  assert.equal(ex.stdout, "still here\n", ex.stderr);
});

test("init containers run in order before the app, which restarts with back-off when it crashes", async () => {
  await using c = await startContainerCluster({ controllers: false });
  await c.apply(pod("inits", [{
    name: "app",
    image: c.busybox,
    command: ["sh", "-c", "cat /work/order; exit 1"],
    volumeMounts: [{ name: "work", mountPath: "/work" }],
  }], {
    volumes: [{ name: "work", emptyDir: {} }],
    initContainers: [
      {
        name: "one",
        image: c.busybox,
        command: ["sh", "-c", "echo one >> /work/order"],
        volumeMounts: [{ name: "work", mountPath: "/work" }],
      },
      {
        name: "two",
        image: c.busybox,
        command: ["sh", "-c", "echo two >> /work/order"],
        volumeMounts: [{ name: "work", mountPath: "/work" }],
      },
    ],
  }));
  const looping = await eventually("CrashLoopBackOff", async () => {
    const p = await c.client.get(R.pods, "default", "inits");
    const s = p.status?.containerStatuses?.[0];
    return s?.state?.waiting?.reason === "CrashLoopBackOff" && s.restartCount >= 2 ? p : undefined;
  });
  assert.deepEqual(
    looping.status.initContainerStatuses.map((s: { state: { terminated?: { reason: string } } }) =>
      s.state.terminated?.reason
    ),
    [
      "Completed",
      "Completed",
    ],
  );
  assert.equal((await c.kubectl(["logs", "inits", "--previous"])).stdout, "one\ntwo\n");
});

test("a node without crun reports why and keeps running WebAssembly pods", async () => {
  if (fixturePrerequisites("hello_qjs").some((p) => !p.available())) return;
  await using c = await startContainerCluster({ controllers: false, runtime: { disableOci: true } });
  const node = await c.client.get(R.nodes, "", "node-1");
  const cond = node.status.conditions.find((x: { type: string }) => x.type === OCI_CONDITION);
  assert.equal(cond?.status, "True");
  assert.match(cond.message, /disabled|not installed/);
  assert.deepEqual(node.status.runtimeHandlers.map((h: { name: string }) => h.name), ["wasm"]);
  const image = (await pushFixture(c.registry.host, "hello_qjs")).reference;
  await c.apply({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "w", namespace: "default" },
    spec: { runtimeClassName: "wasm", restartPolicy: "Never", containers: [{ name: "c", image }] },
  });
  assert.equal((await waitPhase(c, "w", ["Succeeded", "Failed"])).status.phase, "Succeeded");
  // A container image cannot run here: the pod says so.
  await c.apply(pod("box", [{ name: "b", image: c.busybox }]));
  const refusal = await eventually(
    "the container image to be refused",
    async () =>
      (await c.client.list(R.events, "default")).items.find((e) =>
        e.involvedObject?.name === "box" && e.reason === "Failed" &&
        /Failed to pull image/.test(e.message ?? "")
      ),
  );
  assert.match(refusal.message, /is an OCI container image, not a WebAssembly component/);
});

test("a hostPort is published on the node's address while the pod runs, and unpublished when it goes", async () => {
  await using c = await startContainerCluster({ controllers: false });
  // A port of this test only (other clusters may run on this machine at the same time).
  const hostPort = 20_000 + (Deno.pid % 10_000);
  await c.apply(pod("hostport", [{
    name: "httpd",
    image: c.busybox,
    ports: [{ containerPort: 8080, hostPort }],
  }], { terminationGracePeriodSeconds: 1 }));
  const p = await waitReady(c, "hostport");
  assert.match(p.status.podIP, /^198\.18\./);
  const node = await c.client.get(R.nodes, "", "node-1");
  const address = node.status.addresses.find((a: { type: string }) => a.type === "InternalIP").address;
  const url = `http://${address}:${hostPort}/`;
  const res = await eventually(`${url} to answer`, async () => await get(url).catch(() => undefined), 15_000);
  assert.deepEqual(res, { status: 200, body: "hello from busybox\n" });
  const del = await c.kubectl(["delete", "pod", "hostport", "--wait=true", "--timeout=20s"]);
  assert.equal(del.code, 0, del.stderr);
  await eventually(`${url} to stop answering`, async () => {
    try {
      await get(url, 1000);
      return undefined;
    } catch {
      return true;
    }
  }, 10_000);
});

test("grpc probes: startup, readiness and liveness follow a pod's gRPC health service", async () => {
  await using c = await startContainerCluster({ controllers: false });
  const grpc = (service: string, more: Record<string, unknown> = {}) => ({
    grpc: { port: 50051, ...(service ? { service } : {}) },
    periodSeconds: 1,
    ...more,
  });
  await c.apply(pod("grpc", [{
    name: "app",
    image: c.busybox,
    command: ["sleep", "3600"],
    // The health server starts after the container (below): the startup probe waits for it.
    startupProbe: grpc("", { failureThreshold: 120 }),
    readinessProbe: grpc(""),
    livenessProbe: grpc("live", { failureThreshold: 2 }),
  }], { terminationGracePeriodSeconds: 1 }));
  const running = await waitPhase(c, "grpc", ["Running"]);
  const podIP: string = running.status.podIP;

  // The pod's app: a gRPC health server in the pod's network namespace, at the pod IP.
  const prefix = netnsPrefixFor(`${c.dataDir}/node`);
  const netns = await eventually(`the network namespace holding ${podIP}`, async () => {
    for (const ns of listNetns(prefix)) {
      const out = await new Deno.Command("ip", { args: ["-n", ns, "-j", "addr", "show"] }).output();
      if (new TextDecoder().decode(out.stdout).includes(`"${podIP}"`)) return ns;
    }
    return undefined;
  });
  await using server = await startGrpcHealthServer(netns, 50051);
  await server.line((l) => l === "listening");

  const ready = (status: string) =>
    eventually(`pod grpc Ready=${status}`, async () => {
      const p = await c.client.get(R.pods, "default", "grpc");
      return p.status?.conditions?.some((x: { type: string; status: string }) =>
          x.type === "Ready" && x.status === status
        )
        ? p
        : undefined;
    }, 30_000);
  await ready("True");
  const call = JSON.parse(await server.line((l) => l.includes('"service":""')));
  assert.deepEqual(call, { path: "/grpc.health.v1.Health/Check", service: "", userAgent: "kube-probe/1.32" });

  const events = async (reason: string) =>
    (await c.client.list(R.events, "default")).items
      .filter((e) => e.involvedObject?.name === "grpc" && e.reason === reason)
      .map((e) => e.message as string);
  await server.set("-", 2); // NOT_SERVING
  await ready("False");
  const notServing = 'service unhealthy (responded with "NOT_SERVING")';
  assert.ok((await events("Unhealthy")).includes(`Readiness probe failed: ${notServing}`));
  await server.set("-", 1);
  await ready("True");

  // A liveness failure restarts the container; the server keeps running in the pod's namespace.
  await server.set("live", 2);
  const restarted = await eventually("the container restarted by its liveness probe", async () => {
    const p = await c.client.get(R.pods, "default", "grpc");
    return p.status?.containerStatuses?.[0]?.restartCount >= 1 ? p : undefined;
  }, 30_000);
  await server.set("live", 1);
  assert.ok((await events("Killing")).includes("Container app failed liveness probe, will be restarted"));
  assert.ok((await events("Unhealthy")).includes(`Liveness probe failed: ${notServing}`));
  assert.equal(restarted.status.containerStatuses[0].lastState?.terminated?.reason, "Error");
  await ready("True");
});

/**
 * The gRPC health server fixture, run in network namespace `netns` and started again whenever
 * it ends (see the fixture: Deno's `node:http2` server can crash); its answers live in a file.
 * The loop and its server are killed on dispose.
 */
async function startGrpcHealthServer(netns: string, port: number) {
  const dir = await Deno.makeTempDir({ prefix: "skiff-grpc-" });
  const statusFile = `${dir}/statuses.json`;
  const statuses: Record<string, number> = {};
  await Deno.writeTextFile(statusFile, "{}");
  // nsenter, setsid and sh exec one another: the loop's pid leads its own process group.
  const child = new Deno.Command("nsenter", {
    args: [
      `--net=/run/netns/${netns}`,
      "--",
      "setsid",
      "sh",
      "-c",
      'while :; do "$@"; sleep 0.2; done',
      "sh",
      Deno.execPath(),
      "run",
      "-A",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      new URL("./fixtures/grpc_health_server.ts", import.meta.url).pathname,
      String(port),
      statusFile,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines: string[] = [];
  const reading = (async () => {
    let pending = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
        lines.push(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    }
  })();
  return {
    /** The first printed line that `match` accepts. */
    line: (match: (l: string) => boolean) =>
      eventually("the gRPC health server's output", () => Promise.resolve(lines.find(match)), 20_000),
    /** Sets what the server answers for `service` ("-": its own). */
    async set(service: string, status: number) {
      statuses[service === "-" ? "" : service] = status;
      await Deno.writeTextFile(`${statusFile}.tmp`, JSON.stringify(statuses));
      await Deno.rename(`${statusFile}.tmp`, statusFile);
    },
    async [Symbol.asyncDispose]() {
      try {
        Deno.kill(-child.pid, "SIGKILL");
      } catch { /* gone */ }
      await child.status;
      await reading.catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

test("lifecycle hooks: postStart before Running, preStop before a stop, a failed postStart", async () => {
  await using c = await startContainerCluster({ controllers: false });
  const dir = await Deno.makeTempDir({ prefix: "skiff-hooks-" });
  try {
    const write = (file: string) => ({ exec: { command: ["sh", "-c", `hostname > /hooks/${file}`] } });
    await c.apply(pod("hooks", [{
      name: "app",
      image: c.busybox,
      volumeMounts: [{ name: "hooks", mountPath: "/hooks" }],
      lifecycle: { postStart: write("post-start"), preStop: write("pre-stop") },
    }], { volumes: [{ name: "hooks", hostPath: { path: dir, type: "Directory" } }] }));
    await waitPhase(c, "hooks", ["Running"]);
    assert.equal(await Deno.readTextFile(`${dir}/post-start`), "hooks\n");
    await assert.rejects(Deno.stat(`${dir}/pre-stop`), Deno.errors.NotFound);
    const del = await c.kubectl(["delete", "pod", "hooks", "--wait=true", "--timeout=30s"]);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/pre-stop`), "hooks\n");

    await c.apply(pod("hookfail", [{
      name: "app",
      image: c.busybox,
      lifecycle: { postStart: { exec: { command: ["sh", "-c", "echo no >&2; exit 3"] } } },
    }], { terminationGracePeriodSeconds: 1 }));
    const events = async (reason: string) =>
      (await c.client.list(R.events, "default")).items
        .filter((e) => e.involvedObject?.name === "hookfail" && e.reason === reason)
        .map((e) => e.message as string);
    const failed = await eventually("a FailedPostStartHook event", async () =>
      (await events("FailedPostStartHook"))[0]);
    const p = await c.client.get(R.pods, "default", "hookfail");
    assert.equal(
      failed,
      `Exec lifecycle hook ([sh -c echo no >&2; exit 3]) for Container "app" in Pod ` +
        `"hookfail_default(${p.metadata.uid})" failed - error: command 'sh -c echo no >&2; exit 3' exited ` +
        `with 3: no\n, message: "no\\n"`,
    );
    assert.ok((await events("Killing")).includes("FailedPostStartHook"));
    // Killed and restarted with back-off, as a crashing container.
    await eventually("the container restarted after its failed postStart", async () => {
      const s = (await c.client.get(R.pods, "default", "hookfail")).status?.containerStatuses?.[0];
      return s?.restartCount >= 1 ? s : undefined;
    }, 30_000);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

test("a sidecar starts before the next init container, runs beside the app and restarts", async () => {
  await using c = await startContainerCluster({ controllers: false });
  const shared = [{ name: "shared", mountPath: "/shared" }];
  const sh = (script: string) => ["sh", "-c", script];
  await c.apply(pod("sidecar", [{
    name: "app",
    image: c.busybox,
    command: sh("test -f /shared/setup && sleep 3"),
    volumeMounts: shared,
  }], {
    restartPolicy: "Never",
    terminationGracePeriodSeconds: 1,
    volumes: [{ name: "shared", emptyDir: {} }],
    initContainers: [
      {
        name: "proxy",
        image: c.busybox,
        restartPolicy: "Always",
        command: sh("sleep 1; touch /shared/up; exec sleep 3600"),
        startupProbe: { exec: { command: sh("test -f /shared/up") }, periodSeconds: 1 },
        volumeMounts: shared,
      },
      // Runs only once the sidecar has started: its file is there.
      {
        name: "setup",
        image: c.busybox,
        command: sh("test -f /shared/up && touch /shared/setup"),
        volumeMounts: shared,
      },
    ],
  }));
  const running = await waitPhase(c, "sidecar", ["Running", "Succeeded", "Failed"]);
  assert.equal(running.status.phase, "Running");
  const proxy = running.status.initContainerStatuses.find((s: { name: string }) => s.name === "proxy");
  assert.ok(proxy.state.running, JSON.stringify(proxy));
  assert.equal(proxy.started, true);
  const setup = running.status.initContainerStatuses.find((s: { name: string }) => s.name === "setup");
  assert.equal(setup.state.terminated?.exitCode, 0, JSON.stringify(setup));
  // The app's end ends the pod; the sidecar is stopped, not counted.
  const done = await waitPhase(c, "sidecar", ["Succeeded", "Failed"]);
  assert.equal(done.status.phase, "Succeeded", JSON.stringify(done.status));

  // A sidecar that exits is started again while the app keeps running, even with restartPolicy Never.
  await c.apply(pod("flaky", [{ name: "app", image: c.busybox, command: sh("exec sleep 3600") }], {
    restartPolicy: "Never",
    terminationGracePeriodSeconds: 1,
    initContainers: [
      { name: "proxy", image: c.busybox, restartPolicy: "Always", command: sh("sleep 1; exit 1") },
    ],
  }));
  const restarted = await eventually("the sidecar started again", async () => {
    const p = await c.client.get(R.pods, "default", "flaky");
    return p.status?.initContainerStatuses?.[0]?.restartCount >= 1 ? p : undefined;
  }, 30_000);
  assert.equal(restarted.status.phase, "Running");
  assert.ok(restarted.status.containerStatuses[0].state.running);
});

test("activeDeadlineSeconds stops a pod active past its deadline: Failed, DeadlineExceeded", async () => {
  await using c = await startContainerCluster({ controllers: false });
  await c.apply(pod("deadline", [{ name: "app", image: c.busybox, command: ["sleep", "3600"] }], {
    activeDeadlineSeconds: 3,
    terminationGracePeriodSeconds: 1,
  }));
  const running = await waitPhase(c, "deadline", ["Running"]);
  const failed = await waitPhase(c, "deadline", ["Failed"], 30_000);
  assert.equal(failed.status.reason, "DeadlineExceeded");
  assert.equal(failed.status.message, "Pod was active on the node longer than the specified deadline");
  assert.ok(failed.status.containerStatuses[0].state.terminated, JSON.stringify(failed.status));
  // Not before its deadline, counted from the pod's start time.
  const ended = Date.parse(failed.status.containerStatuses[0].state.terminated.finishedAt);
  assert.ok(ended - Date.parse(running.status.startTime) >= 3000, JSON.stringify(failed.status));
  const events = (await c.client.list(R.events, "default")).items
    .filter((e) => e.involvedObject?.name === "deadline" && e.reason === "DeadlineExceeded");
  assert.equal(events[0]?.message, "Pod was active on the node longer than the specified deadline");
});

test("kubectl debug adds an ephemeral container to a running pod: it runs once, logs, attaches", async () => {
  await using c = await startContainerCluster({ controllers: false });
  await c.apply(pod("target", [{ name: "app", image: c.busybox }], { terminationGracePeriodSeconds: 1 }));
  await waitReady(c, "target");
  const debug = await c.kubectl([
    "debug",
    "target",
    `--image=${c.busybox}`,
    "--container=debugger",
    "--target=app",
    "--",
    "sh",
    "-c",
    "echo debugging from $(hostname); exit 3",
  ]);
  assert.equal(debug.code, 0, debug.stderr);
  const ended = await eventually("the ephemeral container to end", async () => {
    const p = await c.client.get(R.pods, "default", "target");
    return p.status?.ephemeralContainerStatuses?.[0]?.state?.terminated ? p : undefined;
  }, 30_000);
  const status = ended.status.ephemeralContainerStatuses[0];
  assert.equal(status.name, "debugger");
  assert.equal(status.state.terminated.exitCode, 3);
  assert.equal(status.restartCount, 0);
  assert.equal(ended.spec.ephemeralContainers[0].targetContainerName, "app");
  // The pod keeps running and stays Ready; the ephemeral container is not started again.
  assert.equal(ended.status.phase, "Running");
  const logs = await c.kubectl(["logs", "target", "-c", "debugger"]);
  assert.equal(logs.stdout, "debugging from target\n", logs.stderr);

  // Interactive: kubectl debug -i attaches to the new container's stdin and output.
  const interactive = await c.kubectl(
    ["debug", "-i", "target", `--image=${c.busybox}`, "--container=shell", "--", "sh"],
    { stdin: "echo hello from the shell\nexit 0\n" },
  );
  assert.equal(interactive.code, 0, interactive.stderr);
  assert.match(interactive.stdout, /hello from the shell/);

  // Changing an ephemeral container is refused, as upstream.
  const patch = JSON.stringify({ spec: { ephemeralContainers: [{ name: "debugger", image: "other" }] } });
  const changed = await c.kubectl([
    "patch",
    "pod",
    "target",
    "--subresource=ephemeralcontainers",
    "--type=strategic",
    "-p",
    patch,
  ]);
  assert.notEqual(changed.code, 0);
  assert.match(changed.stderr, /existing ephemeral containers "debugger" may not be changed/);
});

test("kubectl drain evicts a node's pods within their disruption budget; uncordon", async () => {
  await using c = await startContainerCluster();
  const r = await c.kubectl(["create", "deployment", "web", `--image=${c.busybox}`, "--replicas=2"]);
  assert.equal(r.code, 0, r.stderr);
  await c.apply(pod("solo", [{ name: "app", image: c.busybox }], { terminationGracePeriodSeconds: 1 }));
  const running = async () =>
    (await c.client.list(R.pods, "default")).items.filter((p) => p.status?.phase === "Running");
  await eventually("3 pods running", async () => (await running()).length === 3 ? true : undefined, 60_000);

  // An eviction whose name is not the URL's is refused.
  const body = await Deno.makeTempFile({ suffix: ".json" });
  const metadata = { name: "other", namespace: "default" };
  const eviction = { apiVersion: "policy/v1", kind: "Eviction", metadata };
  await Deno.writeTextFile(body, JSON.stringify(eviction));
  const url = "/api/v1/namespaces/default/pods/solo/eviction";
  const wrong = await c.kubectl(["create", "--raw", url, "-f", body]);
  await Deno.remove(body);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /name in URL does not match name in Eviction object/);

  // A budget lets one of the Deployment's 2 pods go at a time.
  const pdb = await c.kubectl(["create", "pdb", "web", "--selector=app=web", "--max-unavailable=1"]);
  assert.equal(pdb.code, 0, pdb.stderr);
  const jsonpath = "jsonpath={.status.disruptionsAllowed}";
  const allowed = async () => (await c.kubectl(["get", "pdb", "web", "-o", jsonpath])).stdout;
  await eventually("the budget to allow 1", async () => await allowed() === "1" || undefined, 30_000);
  const drainArgs = ["drain", "node-1", "--ignore-daemonsets", "--force", "--grace-period=1"];
  const blocked = await c.kubectl([...drainArgs, "--timeout=12s"], { timeoutMs: 60_000 });
  assert.notEqual(blocked.code, 0, blocked.stdout);
  assert.match(blocked.stderr, /Cannot evict pod as it would violate the pod's disruption budget/);
  assert.match(blocked.stdout, /evicting pod default\/solo/);
  // The evicted pod's replacement cannot run (the node is cordoned): no disruption is left.
  await eventually("the budget to allow none", async () => await allowed() === "0" || undefined, 30_000);
  const table = await c.kubectl(["get", "pdb", "web"]);
  const header = /^NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE\n/;
  assert.match(table.stdout, header);
  assert.match(table.stdout, /\nweb\s+N\/A\s+1\s+0\s/);

  assert.equal((await c.kubectl(["delete", "pdb", "web"])).code, 0);
  const drain = await c.kubectl([...drainArgs, "--timeout=90s"], { timeoutMs: 120_000 });
  assert.equal(drain.code, 0, drain.stderr);
  assert.match(drain.stdout, /node\/node-1 drained/);
  const node = await c.client.get(R.nodes, "", "node-1");
  assert.equal(node.spec.unschedulable, true);
  assert.equal(await c.client.tryGet(R.pods, "default", "solo"), null, "an unmanaged pod is gone");
  // The Deployment's replacements wait: the only node is cordoned.
  const pending = await eventually("2 replacements pending", async () => {
    const pods = (await c.client.list(R.pods, "default")).items;
    return pods.length === 2 && pods.every((p) => !p.spec?.nodeName) ? pods : undefined;
  }, 30_000);
  assert.equal(pending.length, 2);

  const uncordon = await c.kubectl(["uncordon", "node-1"]);
  assert.equal(uncordon.code, 0, uncordon.stderr);
  await eventually("2 pods running again", async () => (await running()).length === 2 || undefined, 60_000);
});

test("kubectl cp copies a file into a container and back out (tar over exec)", async () => {
  await using c = await startContainerCluster({ controllers: false });
  await c.apply(pod("cp", [{ name: "app", image: c.busybox }], { terminationGracePeriodSeconds: 1 }));
  await waitReady(c, "cp");
  const dir = await Deno.makeTempDir({ prefix: "skiff-cp-" });
  try {
    // 200 KB of random bytes (getRandomValues gives 64 KiB at a time).
    const bytes = new Uint8Array(200_000);
    for (let i = 0; i < bytes.length; i += 65_536) crypto.getRandomValues(bytes.subarray(i, i + 65_536));
    await Deno.writeFile(`${dir}/in.bin`, bytes);
    const up = await c.kubectl(["cp", `${dir}/in.bin`, "default/cp:/tmp/in.bin", "-c", "app"]);
    assert.equal(up.code, 0, up.stderr);
    const sum = await c.kubectl(["exec", "cp", "--", "md5sum", "/tmp/in.bin"]);
    assert.equal(sum.code, 0, sum.stderr);
    const local = await new Deno.Command("md5sum", { args: [`${dir}/in.bin`] }).output();
    assert.equal(sum.stdout.split(" ")[0], new TextDecoder().decode(local.stdout).split(" ")[0]);
    const down = await c.kubectl(["cp", "default/cp:/tmp/in.bin", `${dir}/out.bin`, "-c", "app"]);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await Deno.readFile(`${dir}/out.bin`), bytes);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
