/**
 * The node agent under a real, secured `./skiff up` (HTTPS, authentication, RBAC with the node
 * authorizer, admission with ServiceAccount token mounting): the node acts with its own
 * credential, as upstream's kubelet does. Its Node gets a pod CIDR from the node IPAM controller,
 * a Wasm HTTP Deployment rolls out and answers on its pod IPs, `kubectl logs` reaches the node's
 * HTTPS endpoint through the API server while callers without the API server's token are
 * refused, a Wasm pod reads its projected ServiceAccount token and that token authenticates as
 * its ServiceAccount, the node's credential cannot read a Secret of a pod on another node, and a
 * second node gets a distinct pod CIDR.
 * @module
 */
import assert from "node:assert/strict";
import { Client, R } from "../control/api/client.ts";
import { ApiError } from "../control/api/status.ts";
import type { KubeObject } from "../control/api/types.ts";
import { kubeconfigCredentials, rewriteKubeconfigToken } from "../cli/node.ts";
import { writeKubeconfig } from "../cli/kubeconfig.ts";
import { controlPlaneSecurity, ensureClusterPki } from "../cli/pki.ts";
import { startControlPlane } from "../control/mod.ts";
import { NodeCredential, requestNodeCredential } from "../node/registration/credential.ts";
import { ipAvailable } from "../node/cni/ip.ts";
import { fixturePrerequisites } from "./fixtures/build.ts";
import { pushFixture } from "./fixtures/push.ts";
import {
  type ClusterProcess,
  eventually,
  KUBECTL,
  type Prerequisite,
  startClusterProcess,
  tempDir,
  testWith,
} from "./harness.ts";
import { DOCKER_REGISTRY, OPENSSL, startRegistry } from "./registry.ts";
import { wasmDeployment } from "./network_harness.ts";

const TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/** What the test needs: root with iproute2 (the node's bridge and netns), kubectl, the registry, the fixtures. */
const PREREQUISITES: Prerequisite[] = [
  {
    name: "root with iproute2",
    available: () => Deno.uid() === 0 && ipAvailable(),
    hint: "run as root on Linux with iproute2 (apt-get install iproute2)",
  },
  KUBECTL,
  DOCKER_REGISTRY,
  ...fixturePrerequisites("http_sm"),
  ...fixturePrerequisites("hello_c"),
];

/** A Pod manifest for a Wasm component. */
function wasmPod(
  name: string,
  image: string,
  extra: Record<string, unknown>,
  container: Record<string, unknown>,
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

/** The credentials a test holds against the cluster. */
interface Creds {
  cluster: ClusterProcess;
  ca: string;
  admin: Client;
  /** The node agent's own credential (`system:node:<name>`), from `<data-dir>/node.kubeconfig`. */
  node: Client;
  nodeName: string;
}

/** A JSON request with `token`; resolves to status and body (never throws). */
async function call(
  c: Creds,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: KubeObject }> {
  using http = Deno.createHttpClient({ caCerts: [c.ca] });
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(c.cluster.url + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    client: http,
  });
  return { status: res.status, body: await res.json() };
}

/** Who a bearer token authenticates as (a SelfSubjectReview, `kubectl auth whoami`). */
async function whoami(
  c: Creds,
  token: string,
): Promise<{ username: string; extra?: Record<string, string[]> }> {
  const r = await call(c, token, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
    apiVersion: "authentication.k8s.io/v1",
    kind: "SelfSubjectReview",
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.status.userInfo;
}

/** What `fn` throws, as an ApiError. */
async function refusal(fn: () => Promise<unknown>): Promise<ApiError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error("the request was allowed");
}

const secure = (name: string, fn: (t: Deno.TestContext) => Promise<void>) =>
  testWith(PREREQUISITES, name, fn);

secure("under a secured ./skiff up the node agent runs Wasm pods with its own node credential", async (t) => {
  await using registry = await startRegistry();
  await using cluster = await startClusterProcess({ node: true, readyTimeoutMs: 90_000 });
  const ca = await Deno.readTextFile(`${cluster.dataDir}/pki/ca.crt`);
  const adminToken = (await Deno.readTextFile(`${cluster.dataDir}/pki/admin.token`)).trim();
  const nodeToken = kubeconfigCredentials(await Deno.readTextFile(`${cluster.dataDir}/node.kubeconfig`))
    .token!;
  using admin = new Client({ server: cluster.url, token: adminToken, caCerts: [ca] });
  using node = new Client({ server: cluster.url, token: nodeToken, caCerts: [ca] });
  const nodes = (await admin.list(R.nodes)).items;
  assert.equal(nodes.length, 1);
  const c: Creds = { cluster, ca, admin, node, nodeName: nodes[0].metadata.name! };
  const describe = async (name: string) => {
    const pod = await admin.tryGet(R.pods, "default", name);
    const events = (await admin.list(R.events, "default")).items.filter((e) =>
      e.involvedObject?.name === name
    )
      .map((e) => `${e.reason}: ${e.message}`);
    return `status: ${JSON.stringify(pod?.status)}\nevents:\n${events.join("\n")}\nnode log:\n${await Deno
      .readTextFile(`${cluster.dataDir}/logs/node.log`).catch(() => "")}`;
  };

  let ourCIDR = "";
  await t.step(
    "the node registered with its own credential and got its pod CIDR from the IPAM controller",
    async () => {
      const me = await whoami(c, nodeToken);
      assert.equal(me.username, `system:node:${c.nodeName}`);
      const n = await node.get(R.nodes, "", c.nodeName);
      ourCIDR = n.spec.podCIDR;
      assert.match(ourCIDR, /^198\.18\.\d+\.0\/22$/);
      assert.deepEqual(n.spec.podCIDRs, [ourCIDR]);
      const ready = n.status.conditions.find((x: { type: string }) => x.type === "Ready");
      assert.equal(ready.status, "True", ready.message);
      const claims = (await admin.list(R.leases, "kube-node-lease")).items.filter((l) =>
        l.metadata.name!.startsWith("skiff-podcidr-")
      );
      assert.deepEqual(claims, [], "no pod CIDR claims through Leases any more");
      assert.equal((await admin.get(R.runtimeclasses, "", "wasm")).handler, "wasm", "./skiff up made it");
    },
  );

  await t.step("a Wasm HTTP Deployment rolls out and its pods answer on their pod IPs", async () => {
    const image = (await pushFixture(registry.host, "http_sm")).reference;
    const deployment = wasmDeployment("web", image, { replicas: 2, greeting: "a secured node" });
    const applied = await cluster.kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(deployment) });
    assert.equal(applied.code, 0, applied.stderr);
    const rollout = await cluster.kubectl(["rollout", "status", "deployment/web", "--timeout=120s"], {
      timeoutMs: 130_000,
    });
    const pods = (await admin.list(R.pods, "default", { labelSelector: "app=web" })).items;
    if (rollout.code !== 0) {
      assert.fail(
        `${rollout.stderr}${rollout.stdout}\n${pods[0] ? await describe(pods[0].metadata.name!) : ""}`,
      );
    }
    assert.equal(pods.length, 2);
    const prefix = ourCIDR.split(".").slice(0, 2).join(".");
    for (const p of pods) {
      assert.ok(p.status.podIP.startsWith(`${prefix}.`), p.status.podIP);
      assert.ok(
        p.spec.volumes.some((v: { name: string }) => v.name.startsWith("kube-api-access-")),
        "admission mounts the token volume",
      );
      const res = await fetch(`http://${p.status.podIP}:8080/`, { signal: AbortSignal.timeout(5000) });
      assert.deepEqual([res.status, await res.text()], [200, "hello from a secured node\n"]);
    }
  });

  let podToken = "";
  let reader: KubeObject | undefined;
  await t.step(
    "a Wasm pod reads its projected ServiceAccount token, which authenticates as its account",
    async () => {
      await admin.create(R.serviceaccounts, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "robot", namespace: "default" },
      });
      await admin.create(R.secrets, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "mine", namespace: "default" },
        stringData: { name: "read through a watch by name" },
      });
      const image = (await pushFixture(registry.host, "hello_c")).reference;
      await admin.create(
        R.pods,
        wasmPod("reader", image, { restartPolicy: "Never", serviceAccountName: "robot" }, {
          env: [
            { name: "NAME", valueFrom: { secretKeyRef: { name: "mine", key: "name" } } },
            { name: "CAT", value: TOKEN_PATH },
          ],
        }),
      );
      reader = await eventually("the reader to finish", async () => {
        const p = await admin.get(R.pods, "default", "reader");
        return ["Succeeded", "Failed"].includes(p.status?.phase) ? p : undefined;
      }, 90_000).catch(async (e) => {
        throw new Error(`${e.message}\n${await describe("reader")}`);
      });
      assert.equal(reader.status.phase, "Succeeded", await describe("reader"));
      // kubectl logs: the API server calls the node's HTTPS endpoint with its own credential.
      const logs = await cluster.kubectl(["logs", "reader"]);
      assert.equal(logs.code, 0, logs.stderr);
      assert.match(logs.stdout, /^hello from C, read through a watch by name$/m);
      const m = logs.stdout.match(/^cat \/var\/run\/secrets\/kubernetes\.io\/serviceaccount\/token: (\S+)$/m);
      assert.ok(m, `the guest printed its token:\n${logs.stdout}`);
      podToken = m[1];
      const who = await whoami(c, podToken);
      assert.equal(who.username, "system:serviceaccount:default:robot");
      assert.deepEqual(who.extra?.["authentication.kubernetes.io/pod-name"], ["reader"]);
      assert.deepEqual(who.extra?.["authentication.kubernetes.io/node-name"], [c.nodeName]);
      // The rest of the volume, as the node wrote it.
      const volume = reader.spec.volumes.find((v: { name: string }) => v.name.startsWith("kube-api-access-"));
      const dir =
        `${cluster.dataDir}/node/kubelet/pods/${reader.metadata.uid}/volumes/kubernetes.io~projected/${volume.name}`;
      assert.equal(await Deno.readTextFile(`${dir}/token`), podToken);
      assert.equal(await Deno.readTextFile(`${dir}/ca.crt`), ca);
      assert.equal(await Deno.readTextFile(`${dir}/namespace`), "default");
    },
  );

  await t.step("the node's endpoint answers only the API server", async () => {
    const n = await admin.get(R.nodes, "", c.nodeName);
    const ip = n.status.addresses.find((a: { type: string }) => a.type === "InternalIP").address;
    const endpoint = `https://${ip}:${n.status.daemonEndpoints.kubeletEndpoint.Port}`;
    using http = Deno.createHttpClient({ caCerts: [ca] }); // its serving certificate is the cluster CA's
    const get = async (path: string, token?: string) => {
      const res = await fetch(endpoint + path, {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        client: http,
      });
      await res.body?.cancel();
      return res.status;
    };
    assert.equal(await get("/healthz"), 200);
    const logs = "/containerLogs/default/reader/app";
    assert.equal(await get(logs), 401, "no credential");
    assert.equal(await get("/pods"), 401);
    assert.equal(await get(logs, adminToken), 401, "the admin token is not the API server's");
    assert.equal(await get(logs, nodeToken), 403, "a node credential is not the API server's");
    assert.equal(await get(logs, podToken), 403, "nor is a ServiceAccount token");
    await assert.rejects(
      fetch(`http://${ip}:${n.status.daemonEndpoints.kubeletEndpoint.Port}/pods`),
      "HTTPS only",
    );
  });

  await t.step(
    "a node's credential reads the Secrets of its own pods, not those of another node's pods",
    async () => {
      // A second node joins with its own credential (as ./skiff node join would), and a pod is bound to it.
      const issued = await call(c, adminToken, "POST", "/api/v1/nodes/other-node/token", {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: {},
      });
      assert.equal(issued.status, 201);
      using other = new Client({ server: cluster.url, token: issued.body.status.token, caCerts: [ca] });
      await other.create(R.nodes, {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: "other-node" },
        spec: {},
      });
      await admin.create(R.secrets, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "theirs", namespace: "default" },
        stringData: { k: "v" },
      });
      await admin.create(R.pods, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "elsewhere", namespace: "default" },
        spec: {
          nodeName: "other-node",
          runtimeClassName: "wasm",
          containers: [{ name: "app", image: "127.0.0.1:1/none:1" }],
          volumes: [{ name: "s", secret: { secretName: "theirs" } }],
        },
      });
      // Our node's agent read `mine` (the reader's env) by name; so may its credential.
      assert.equal((await node.get(R.secrets, "default", "mine")).metadata.name, "mine");
      // The other node's credential: its own pod's Secret yes, a Secret of a pod on our node no.
      assert.equal(
        (await eventually(
          "the other node to read its pod's Secret",
          () => other.get(R.secrets, "default", "theirs"),
        ))
          .metadata.name,
        "theirs",
      );
      const denied = await refusal(() => other.get(R.secrets, "default", "mine"));
      assert.equal(denied.code, 403);
      assert.match(
        denied.message,
        /secrets "mine" is forbidden: User "system:node:other-node" cannot get resource "secrets".*no relationship found between node 'other-node' and this object/,
      );
      assert.equal((await refusal(() => other.list(R.secrets, "default"))).code, 403, "nor list them");
      assert.equal((await refusal(() => other.list(R.nodes))).code, 403, "nor list Nodes");
      assert.equal(
        (await refusal(() => other.get(R.nodes, "", c.nodeName))).code,
        403,
        "nor read another Node",
      );
    },
  );

  await t.step(
    "the IPAM controller gives the second node a distinct pod CIDR, avoiding a block a node holds",
    async () => {
      const theirs = await eventually(
        "the other node's pod CIDR",
        async () => (await admin.get(R.nodes, "", "other-node")).spec?.podCIDR as string | undefined,
      );
      assert.match(theirs, /^198\.18\.\d+\.0\/22$/);
      assert.notEqual(theirs, ourCIDR);
      // A node holding a block set by an admin (as simulated nodes do): the controller skips it.
      const held = ["198.18.0.0/22", "198.18.4.0/22", "198.18.8.0/22"].find((b) =>
        b !== ourCIDR && b !== theirs
      )!;
      await admin.create(R.nodes, {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: "held" },
        spec: { podCIDR: held, podCIDRs: [held] },
      });
      await admin.create(R.nodes, { apiVersion: "v1", kind: "Node", metadata: { name: "third" }, spec: {} });
      const third = await eventually(
        "the third node's pod CIDR",
        async () => (await admin.get(R.nodes, "", "third")).spec?.podCIDR as string | undefined,
      );
      assert.equal(new Set([ourCIDR, theirs, held, third]).size, 4, [ourCIDR, theirs, held, third].join(" "));
    },
  );

  await t.step("the node renews its own credential, and only its own", async () => {
    const renewed = await call(c, nodeToken, "POST", `/api/v1/nodes/${c.nodeName}/token`, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: {},
    });
    assert.equal(renewed.status, 201, JSON.stringify(renewed.body));
    assert.equal((await whoami(c, renewed.body.status.token)).username, `system:node:${c.nodeName}`);
    const other = await call(c, nodeToken, "POST", "/api/v1/nodes/other-node/token", {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: {},
    });
    assert.equal(other.status, 403);
  });

  await t.step("the node log shows none of the requests a node may not make", async () => {
    // (A watch of one Secret may be refused for the milliseconds before the authorizer's graph
    // sees the pod bound; the informer retries. Requests beyond a node's rights never pass.)
    const log = await Deno.readTextFile(`${cluster.dataDir}/logs/node.log`);
    assert.doesNotMatch(
      log,
      /forbidden.*(at the cluster scope|resource "runtimeclasses"|resource "leases"|resource "nodes")/,
      log,
    );
  });
});

testWith(
  [OPENSSL],
  "a node renews its credential with itself at 80 % of its lifetime, under RBAC, and its kubeconfig follows",
  async () => {
    await using dir = await tempDir("skiff-node-renew-");
    const pki = await ensureClusterPki(dir.path);
    const cp = await startControlPlane({
      kvPath: `${dir.path}/state.kv`,
      port: 0,
      compactionIntervalMs: 0,
      ...controlPlaneSecurity(pki),
      rbac: true,
    });
    try {
      using admin = new Client({ server: cp.url, token: pki.adminToken, caCerts: [pki.caCert] });
      // A short-lived credential (10 minutes, the shortest), as `./skiff up` or a join would get it.
      const first = (await (await admin.request("POST", "/api/v1/nodes/n1/token", {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: 600 },
      })).json()).status.token as string;
      const kubeconfig = `${dir.path}/node.kubeconfig`;
      await writeKubeconfig(kubeconfig, cp.url, { caCert: pki.caCert, token: first, user: "system:node:n1" });
      let clock = Date.now();
      const cred: NodeCredential = new NodeCredential(first, {
        request: () => requestNodeCredential(client, "n1"),
        onRenewed: (issued) => rewriteKubeconfigToken(kubeconfig, issued.token),
        now: () => clock,
        log: () => {},
      });
      using client = new Client({ server: cp.url, token: () => cred.token, caCerts: [pki.caCert] });
      assert.equal(await cred.renewIfDue(), false, "not yet");
      clock += 481_000; // 80 % of 600 s
      assert.equal(await cred.renewIfDue(), true);
      assert.notEqual(cred.token, first);
      const who = await (await client.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
        apiVersion: "authentication.k8s.io/v1",
        kind: "SelfSubjectReview",
      })).json();
      assert.equal(who.status.userInfo.username, "system:node:n1", "the client presents the new credential");
      assert.equal(kubeconfigCredentials(await Deno.readTextFile(kubeconfig)).token, cred.token);
      assert.ok(cred.renewAt! > clock + 20 * 24 * 3600_000, "the new one lives 30 days");
      // Renewing is asking for its own name only.
      const other = await refusal(() => requestNodeCredential(client, "n2"));
      assert.equal(other.code, 403);
    } finally {
      await cp.close();
    }
  },
);
