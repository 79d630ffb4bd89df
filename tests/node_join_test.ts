/**
 * A node joined with `./skiff node join` serves the cluster's network with no manual step: a real
 * `./skiff up --no-node` (HTTPS, RBAC, the node authorizer), a bootstrap token, the join command,
 * then the `./skiff node` command the join prints. The joined node's service proxy, cluster DNS and
 * NetworkPolicy enforcement act with its own credential (their reads come from the group
 * `system:nodes`, no binding names the node), and its Ingress controller with the ServiceAccount
 * token the join requested with the node credential. In process: the join reports a cluster that
 * does not let nodes mint that token, the node credential mints tokens of that account only, and
 * a lapsed Ingress token is renewed with the node's credential.
 * @module
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import type { KubeObject } from "../control/api/types.ts";
import { ipToString, parseCidr } from "../control/api/cidr.ts";
import { pushFixture } from "./fixtures/push.ts";
import { type ClusterProcess, eventually, ROOT, startClusterProcess, tempDir, testWith } from "./harness.ts";
import {
  type ClientPod,
  createClientPod,
  NETWORK_PREREQUISITES,
  service,
  wasmDeployment,
} from "./network_harness.ts";
import { OPENSSL, startRegistry } from "./registry.ts";
import { Client, R } from "../control/api/client.ts";
import { ApiError } from "../control/api/status.ts";
import { startControlPlane } from "../control/mod.ts";
import { isIngressControllerToken, renewIngressToken } from "../cli/ingress_credential.ts";
import { kubeconfigCredentials } from "../cli/node.ts";
import { joinNode } from "../cli/node_join.ts";
import { controlPlaneSecurity, ensureClusterPki } from "../cli/pki.ts";
import { ensureNetworkRbac } from "../node/proxy/rbac.ts";
import { localSubnets } from "../node/cni/ip.ts";
import { overlaps } from "../node/registration/pod_cidr.ts";

async function apply(c: ClusterProcess, ...objs: KubeObject[]): Promise<void> {
  const r = await c.kubectl(["apply", "-f", "-"], { stdin: objs.map((o) => stringify(o)).join("---\n") });
  assert.equal(r.code, 0, r.stderr);
}

async function run(
  cmd: string[],
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** `./skiff node ...` as a process; its stderr is kept; disposing stops it (SIGTERM, then SIGKILL). */
function startNode(args: string[]) {
  const child = new Deno.Command(`${ROOT}/skiff`, { args, stdin: "null", stdout: "null", stderr: "piped" })
    .spawn();
  let log = "";
  const reading = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (log += chunk) }),
  );
  let exited = false;
  const status = child.status.then((s) => (exited = true, s));
  return {
    log: () => log,
    exited: () => exited,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* exited */ }
      }, 30_000);
      await status;
      clearTimeout(timer);
      await reading.catch(() => {});
    },
  };
}

testWith(
  NETWORK_PREREQUISITES,
  "a node joined with ./skiff node join serves Services, DNS, NetworkPolicy and Ingress without manual steps",
  async () => {
    await using registry = await startRegistry();
    const image = (await pushFixture(registry.host, "http_sm")).reference;
    await using cluster = await startClusterProcess({ readyTimeoutMs: 90_000 });

    // A bootstrap token, as docs/security.md creates it.
    const [id, secret] = ["h6join", "0123456789abcdef"];
    await apply(cluster, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: `bootstrap-token-${id}`, namespace: "kube-system" },
      type: "bootstrap.kubernetes.io/token",
      stringData: {
        "token-id": id,
        "token-secret": secret,
        expiration: new Date(Date.now() + 3600_000).toISOString(),
        "usage-bootstrap-authentication": "true",
      },
    });
    const name = `joined-${Deno.pid % 10000}`;
    const nodeDir = `${cluster.dataDir}/joined`;
    const joined = await run([
      `${ROOT}/skiff`,
      "node",
      "join",
      "--server",
      cluster.url,
      "--certificate-authority",
      `${cluster.dataDir}/pki/ca.crt`,
      "--token",
      `${id}.${secret}`,
      "--name",
      name,
      "--data-dir",
      nodeDir,
    ]);
    assert.equal(joined.code, 0, joined.stderr);
    assert.doesNotMatch(joined.stderr, /warning/, joined.stderr);
    const command = joined.stdout.trim().split(/\s+/);
    assert.deepEqual(command.slice(0, 2), ["./skiff", "node"], joined.stdout);
    assert.ok(command.includes("--ingress-kubeconfig"), "the join hands the node its Ingress credential");
    const who = await run([
      "kubectl",
      "--kubeconfig",
      `${nodeDir}/ingress.kubeconfig`,
      "auth",
      "whoami",
      "-o",
      "jsonpath={.status.userInfo.username}",
    ]);
    assert.equal(who.stdout, "system:serviceaccount:skiff-system:ingress-controller", who.stderr);

    // Exactly the printed command, plus what keeps it apart from other nodes on this machine: its
    // own bridge, and a pod CIDR no other bridge here has (`./skiff up` leaves skiff0's to its own
    // node, which this cluster has not).
    const bridge = `skj${Deno.pid % 10000}`;
    const taken = await localSubnets();
    const podCIDRFlag = Array.from({ length: 64 }, (_, i) => `198.18.${252 - 4 * i}.0/22`)
      .find((b) => !taken.some((s) => overlaps(s, b)))!;
    await using node = startNode([
      ...command.slice(1),
      "--bridge",
      bridge,
      "--port",
      "0",
      "--ingress-http-port",
      "0",
      "--ingress-https-port",
      "0",
      "--pod-cidr",
      podCIDRFlag,
    ]);
    await eventually(
      "the joined node to register",
      async () => (await cluster.kubectl(["get", "node", name])).code === 0 || node.exited() && "exited",
      60_000,
      500,
    );
    assert.equal(node.exited(), false, node.log());
    const ready = await cluster.kubectl(["wait", `node/${name}`, "--for=condition=Ready", "--timeout=90s"], {
      timeoutMs: 100_000,
    });
    assert.equal(ready.code, 0, ready.stderr + node.log());

    // No binding names the node: its rights are every node's.
    const bindings = JSON.parse((await cluster.kubectl(["get", "clusterrolebindings", "-o", "json"])).stdout)
      .items as KubeObject[];
    assert.ok(
      !bindings.some((b) =>
        (b.subjects ?? []).some((s: { name: string }) => s.name === `system:node:${name}`)
      ),
      "a binding names the joined node",
    );

    await apply(
      cluster,
      wasmDeployment("backend", image, { greeting: "backend" }),
      service("backend", { selector: { app: "backend" }, ports: [{ port: 80, targetPort: "http" }] }),
      {
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: { name: "web", namespace: "default" },
        spec: {
          ingressClassName: "skiff",
          rules: [{
            http: {
              paths: [{
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: "backend", port: { number: 80 } } },
              }],
            },
          }],
        },
      },
    );
    const rollout = await cluster.kubectl(["rollout", "status", "deployment/backend", "--timeout=120s"], {
      timeoutMs: 130_000,
    });
    assert.equal(rollout.code, 0, rollout.stderr + node.log().slice(-4000));

    const n = JSON.parse((await cluster.kubectl(["get", "node", name, "-o", "json"])).stdout);
    const podCIDR: string = n.spec.podCIDR;
    const gateway = ipToString(parseCidr(podCIDR).base + 1);
    const clusterIP =
      JSON.parse((await cluster.kubectl(["get", "service", "backend", "-o", "json"])).stdout).spec.clusterIP;
    let client: ClientPod | undefined;
    try {
      client = await createClientPod({ bridge, podCIDR, gateway });
      const c = client;
      const greets = async (url: string) => {
        const r = await c.curl(url, [], 3);
        return r.code === 200 && r.body.startsWith("hello from backend");
      };
      // The service proxy (a cluster IP) and the cluster DNS (a Service name), on the joined node.
      await eventually(
        "the Service through its cluster IP",
        () => greets(`http://${clusterIP}/`),
        30_000,
        500,
      );
      await eventually(
        "the Service by name",
        () => greets("http://backend.default.svc.cluster.local/"),
        30_000,
        500,
      );

      // The Ingress controller, acting as its ServiceAccount: status written, traffic routed.
      const lb = await eventually("the Ingress's status.loadBalancer", async () => {
        const r = await cluster.kubectl(["get", "ingress", "web", "-o", "json"]);
        const entry = JSON.parse(r.stdout).status?.loadBalancer?.ingress?.[0];
        return entry?.ports?.length ? entry : undefined;
      }, 30_000);
      const http = lb.ports[0].port;
      await eventually(
        "the backend through the Ingress",
        async () => {
          const r = await run(["curl", "-s", "--max-time", "3", `http://127.0.0.1:${http}/`], 10_000);
          return r.stdout.startsWith("hello from backend");
        },
        30_000,
        500,
      );

      // NetworkPolicy: a default-deny for the backend blocks the client, by name as by address.
      await apply(cluster, {
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "deny", namespace: "default" },
        spec: { podSelector: { matchLabels: { app: "backend" } }, policyTypes: ["Ingress"] },
      });
      await eventually(
        "the policy to block the client",
        async () => !(await greets(`http://${clusterIP}/`)),
        30_000,
        500,
      );
      assert.equal(await greets("http://backend.default.svc.cluster.local/"), false);
      await cluster.kubectl(["delete", "networkpolicy", "deny"]);
      await eventually(
        "the client to be let through again",
        () => greets(`http://${clusterIP}/`),
        30_000,
        500,
      );
    } finally {
      await client?.close();
    }
    assert.equal(node.exited(), false, node.log());
    assert.doesNotMatch(
      node.log(),
      /forbidden.*(services|endpointslices|networkpolicies|namespaces|ingresses|ingressclasses)/i,
      node.log(),
    );
  },
);

testWith(
  [OPENSSL],
  "a join issues the Ingress controller's credential with the node's, which may mint that account's tokens and no other",
  async () => {
    await using dir = await tempDir("skiff-join-ingress-");
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
      // Before ./skiff up has set the network identities up, the join succeeds and says what is missing.
      await admin.create(R.secrets, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "bootstrap-token-abcdef", namespace: "kube-system" },
        type: "bootstrap.kubernetes.io/token",
        stringData: {
          "token-id": "abcdef",
          "token-secret": "0123456789abcdef",
          expiration: new Date(Date.now() + 3600_000).toISOString(),
          "usage-bootstrap-authentication": "true",
        },
      });
      const join = (nodeName: string) =>
        joinNode({
          server: cp.url,
          token: "abcdef.0123456789abcdef",
          caCert: pki.caCert,
          nodeName,
          out: `${dir.path}/${nodeName}.kubeconfig`,
          ingressOut: `${dir.path}/${nodeName}-ingress.kubeconfig`,
        });
      const early = await join("w0");
      assert.equal(early.ingressKubeconfig, undefined);
      assert.match(early.ingressError ?? "", /ingress-controller/);

      await ensureNetworkRbac(admin);
      const joined = await join("w1");
      assert.equal(joined.ingressError, undefined);
      const read = async (path: string) => kubeconfigCredentials(await Deno.readTextFile(path), dir.path);
      const ingress = await read(joined.ingressKubeconfig!);
      const nodeToken = (await read(`${dir.path}/w1.kubeconfig`)).token!;
      const whoami = async (token: string) => {
        using c = new Client({ server: cp.url, token, caCerts: [pki.caCert] });
        const r = await c.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
          apiVersion: "authentication.k8s.io/v1",
          kind: "SelfSubjectReview",
        });
        return (await r.json()).status.userInfo.username;
      };
      assert.equal(await whoami(ingress.token!), "system:serviceaccount:skiff-system:ingress-controller");
      assert.equal(isIngressControllerToken(ingress.token!), true);

      // The node may mint tokens of the Ingress controller's account, and of no other.
      using node = new Client({ server: cp.url, token: nodeToken, caCerts: [pki.caCert] });
      await admin.create(R.serviceaccounts, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "other", namespace: "skiff-system" },
      });
      for (const [ns, sa] of [["skiff-system", "other"], ["default", "default"]]) {
        await assert.rejects(
          node.request("POST", `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
            apiVersion: "authentication.k8s.io/v1",
            kind: "TokenRequest",
            spec: {},
          }),
          (e) => e instanceof ApiError && e.status.code === 403,
          `${ns}/${sa}`,
        );
      }

      // A token the API server no longer accepts is renewed with the node's credential.
      const path = `${dir.path}/renewed.kubeconfig`;
      await assert.rejects(renewIngressToken(path, { server: cp.url, caCert: pki.caCert, token: "lapsed" }));
      const renewed = await renewIngressToken(path, {
        server: cp.url,
        caCert: pki.caCert,
        token: "lapsed",
        nodeToken,
      });
      assert.equal(await whoami(renewed), "system:serviceaccount:skiff-system:ingress-controller");
      assert.equal((await read(path)).token, renewed);
    } finally {
      await cp.close();
    }
  },
);
