/**
 * Ingress end to end on a real `./skiff up` (HTTPS API, RBAC, the node's own credential, the
 * Ingress controller's own ServiceAccount): a Wasm HTTP component and a busybox httpd container
 * behind Services, one Ingress routing by host and by path (Prefix and Exact), TLS from a
 * `kubernetes.io/tls` Secret chosen by SNI, 503 for a backend without endpoints, 404 for an
 * unknown host, and `status.loadBalancer` written by the controller. The node's credential may not
 * read the Secrets no pod of it uses (the TLS Secret among them), while TLS keeps working.
 * A WebSocket upgrade and a streamed response body go through the Ingress to a Deno server on the
 * node's bridge gateway (a selector-less Service with its own EndpointSlice). The API server owns
 * `system:node-proxier`; the Ingress controller's account renews its own token, and no other.
 * @module
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import type { KubeObject } from "../control/api/types.ts";
import { CRUN } from "../node/cri/oci/testing.ts";
import { pushFixture } from "./fixtures/push.ts";
import { BUSYBOX_STATIC, busyboxImage, pushImage } from "./fixtures/oci/images.ts";
import { type ClusterProcess, eventually, startClusterProcess, testWith } from "./harness.ts";
import { NETWORK_PREREQUISITES, service, sh, wasmDeployment } from "./network_harness.ts";
import { ipToString, parseCidr } from "../control/api/cidr.ts";
import { renewIngressToken } from "../cli/ingress_credential.ts";
import { kubeconfigCredentials } from "../cli/node.ts";
import { startRegistry } from "./registry.ts";

/** curl from the host; resolves to the HTTP code (0: no answer) and the body. */
async function curl(url: string, extra: string[] = []): Promise<{ code: number; body: string }> {
  const r = await sh(["curl", "-s", "--max-time", "5", "-w", "\n%{http_code}", ...extra, url], 10_000);
  const i = r.stdout.lastIndexOf("\n");
  return { code: Number(r.stdout.slice(i + 1)) || 0, body: r.stdout.slice(0, Math.max(0, i)) };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, j) =>
    timer = setTimeout(() => j(new Error(`timed out waiting for ${what}`)), ms)
  );
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

async function apply(c: ClusterProcess, ...objs: KubeObject[]): Promise<void> {
  const r = await c.kubectl(["apply", "-f", "-"], { stdin: objs.map((o) => stringify(o)).join("---\n") });
  assert.equal(r.code, 0, r.stderr);
}

/** A self-signed certificate for `host` (openssl), as PEM. */
async function selfSigned(
  dir: string,
  host: string,
  n = 1,
): Promise<{ cert: string; key: string; certPath: string }> {
  const certPath = `${dir}/${host}-${n}.crt`;
  const keyPath = `${dir}/${host}-${n}.key`;
  const r = await sh([
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "1",
    "-subj",
    `/CN=${host}`,
    "-addext",
    `subjectAltName=DNS:${host}`,
    "-keyout",
    keyPath,
    "-out",
    certPath,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return { cert: await Deno.readTextFile(certPath), key: await Deno.readTextFile(keyPath), certPath };
}

const ingress = (spec: Record<string, unknown>): KubeObject => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { name: "web", namespace: "default" },
  spec: { ingressClassName: "skiff", ...spec },
});

const path = (p: string, svc: string, pathType = "Prefix") => ({
  path: p,
  pathType,
  backend: { service: { name: svc, port: { number: 80 } } },
});

testWith(
  [...NETWORK_PREREQUISITES, CRUN, BUSYBOX_STATIC],
  "Ingress routes by host and path to a Wasm and a container Service, with TLS by SNI, under its own identity",
  async () => {
    await using registry = await startRegistry();
    const wasm = (await pushFixture(registry.host, "http_sm")).reference;
    const busybox = (await pushImage(registry.host, "busybox", "1", await busyboxImage())).reference;
    await using cluster = await startClusterProcess({
      node: true,
      readyTimeoutMs: 90_000,
      args: ["--ingress-http-port", "0", "--ingress-https-port", "0"],
    });
    const tls = await selfSigned(cluster.dataDir, "secure.test");
    const container: KubeObject = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "ctr", namespace: "default" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "ctr" } },
        template: {
          metadata: { labels: { app: "ctr" } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: "httpd", image: busybox, ports: [{ name: "http", containerPort: 8080 }] }],
          },
        },
      },
    };
    await apply(
      cluster,
      wasmDeployment("wasm", wasm, { greeting: "wasm" }),
      service("wasm", { selector: { app: "wasm" }, ports: [{ port: 80, targetPort: "http" }] }),
      container,
      service("ctr", { selector: { app: "ctr" }, ports: [{ port: 80, targetPort: "http" }] }),
      service("empty", { selector: { app: "nothing" }, ports: [{ port: 80, targetPort: 8080 }] }),
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "other" } },
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "private", namespace: "other" },
        stringData: { password: "s3cret" },
      },
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "secure-tls", namespace: "default" },
        type: "kubernetes.io/tls",
        stringData: { "tls.crt": tls.cert, "tls.key": tls.key },
      },
      ingress({
        tls: [{ hosts: ["secure.test"], secretName: "secure-tls" }],
        rules: [
          {
            host: "app.test",
            http: { paths: [path("/", "ctr"), path("/wasm", "wasm"), path("/exact", "wasm", "Exact")] },
          },
          { host: "secure.test", http: { paths: [path("/", "wasm")] } },
          { host: "empty.test", http: { paths: [path("/", "empty")] } },
        ],
      }),
    );

    // status.loadBalancer: the node's address, with the ports (not 80/443) the controller listens on.
    const lb = await eventually("the Ingress's status.loadBalancer", async () => {
      const r = await cluster.kubectl(["get", "ingress", "web", "-o", "json"]);
      const entry = JSON.parse(r.stdout).status?.loadBalancer?.ingress?.[0];
      return entry?.ip && entry.ports?.length === 2 ? entry : undefined;
    }, 30_000);
    assert.equal(lb.ip, "127.0.0.1");
    const [http, https] = lb.ports.map((p: { port: number }) => p.port);
    for (const d of ["deployment/wasm", "deployment/ctr"]) {
      const r = await cluster.kubectl(["rollout", "status", d, "--timeout=90s"], { timeoutMs: 100_000 });
      if (r.code !== 0) {
        const pods = await cluster.kubectl(["describe", "pods"]);
        const log = await Deno.readTextFile(`${cluster.dataDir}/logs/node.log`).catch(() => "");
        assert.fail(`${d} did not roll out: ${r.stderr}\n${pods.stdout}\nnode.log:\n${log.slice(-4000)}`);
      }
    }

    const at = (host: string, p: string) => curl(`http://127.0.0.1:${http}${p}`, ["-H", `Host: ${host}`]);
    await eventually(
      "the Wasm backend through Ingress",
      async () => (await at("app.test", "/wasm")).code === 200,
      30_000,
    );
    // busybox has no readiness probe: Ready comes before httpd listens.
    await eventually(
      "the container backend through Ingress",
      async () => (await at("app.test", "/index.html")).code === 200,
      30_000,
    );
    assert.deepEqual(await at("app.test", "/wasm/deeper"), { code: 200, body: "hello from wasm\n" });
    // The path goes to the backend unchanged (no rewrite), as upstream.
    assert.deepEqual(await at("app.test", "/index.html"), { code: 200, body: "hello from busybox\n" });
    assert.deepEqual(await at("app.test", "/exact"), { code: 200, body: "hello from wasm\n" });
    const fromBusybox = /404 Not Found/; // busybox httpd's own 404 page: the request reached the container
    assert.match(
      (await at("app.test", "/exact/more")).body,
      fromBusybox,
      "an Exact path matches only itself",
    );
    assert.match((await at("app.test", "/wasmish")).body, fromBusybox, "Prefix matches whole path elements");
    const unknown = await at("unknown.test", "/wasm");
    assert.equal(unknown.code, 404, "no rule and no default backend");
    assert.doesNotMatch(unknown.body, fromBusybox);
    // curl gives up after 5 s: a 503 is an answer, not a hang.
    assert.equal((await at("empty.test", "/")).code, 503, "a backend without endpoints answers 503 at once");

    // TLS: the certificate of the Secret the Ingress names for this SNI name verifies.
    const secure = await curl(`https://secure.test:${https}/`, [
      "--resolve",
      `secure.test:${https}:127.0.0.1`,
      "--cacert",
      tls.certPath,
    ]);
    assert.deepEqual(secure, { code: 200, body: "hello from wasm\n" });

    // Identities: the node's credential reads no Secret its pods do not use, in any namespace;
    // the Ingress controller's account reads TLS Secrets, and acts as itself.
    const node = ["--kubeconfig", `${cluster.dataDir}/node.kubeconfig`];
    for (const [ns, name] of [["other", "private"], ["default", "secure-tls"]]) {
      const r = await sh(["kubectl", ...node, "-n", ns, "get", "secret", name], 30_000);
      assert.notEqual(r.code, 0, `the node read Secret ${ns}/${name}`);
      assert.match(r.stderr, /forbidden/i);
    }
    const listAll = await sh(["kubectl", ...node, "get", "secrets", "-A"], 30_000);
    assert.match(listAll.stderr, /forbidden/i, "the node may not list Secrets");
    const ing = ["--kubeconfig", `${cluster.dataDir}/ingress.kubeconfig`];
    const who = await sh([
      "kubectl",
      ...ing,
      "auth",
      "whoami",
      "-o",
      "jsonpath={.status.userInfo.username}",
    ]);
    assert.equal(who.stdout, "system:serviceaccount:skiff-system:ingress-controller", who.stderr);
    assert.equal(
      (await sh(["kubectl", ...ing, "auth", "can-i", "list", "secrets", "-A"])).stdout.trim(),
      "yes",
    );
    assert.equal((await sh(["kubectl", ...ing, "auth", "can-i", "create", "pods"])).stdout.trim(), "no");
    assert.equal(
      (await sh(["kubectl", ...node, "auth", "can-i", "list", "endpointslices.discovery.k8s.io", "-A"]))
        .stdout.trim(),
      "yes",
    );
    assert.equal(
      (await sh(["kubectl", ...node, "auth", "can-i", "list", "networkpolicies.networking.k8s.io", "-A"]))
        .stdout.trim(),
      "yes",
    );
    assert.equal(
      (await sh(["kubectl", ...node, "auth", "can-i", "list", "ingresses.networking.k8s.io", "-A"])).stdout
        .trim(),
      "no",
    );
    // A renewed certificate is served without a restart.
    const tls2 = await selfSigned(cluster.dataDir, "secure.test", 2);
    await apply(cluster, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "secure-tls", namespace: "default" },
      type: "kubernetes.io/tls",
      stringData: { "tls.crt": tls2.cert, "tls.key": tls2.key },
    });
    await eventually(
      "the renewed certificate",
      async () =>
        (await curl(`https://secure.test:${https}/`, [
          "--resolve",
          `secure.test:${https}:127.0.0.1`,
          "--cacert",
          tls2.certPath,
        ]))
          .code === 200,
      15_000,
    );

    // system:node-proxier is the API server's default role (autoupdate), bound to system:kube-proxy
    // as upstream (the nodes get only what their add-ons read, system:skiff-node-network).
    const proxier = JSON.parse(
      (await cluster.kubectl(["get", "clusterrole", "system:node-proxier", "-o", "json"])).stdout,
    );
    assert.equal(proxier.metadata.annotations?.["rbac.authorization.kubernetes.io/autoupdate"], "true");
    const canProxy = await cluster.kubectl([
      "auth",
      "can-i",
      "list",
      "endpointslices.discovery.k8s.io",
      "--as",
      "system:kube-proxy",
    ]);
    assert.equal(canProxy.stdout.trim(), "yes", canProxy.stderr);

    // The Ingress controller's account renews its own token, as every node agent does, and may mint
    // tokens of no other account.
    const own = await sh(["kubectl", ...ing, "-n", "skiff-system", "create", "token", "ingress-controller"]);
    assert.equal(own.code, 0, own.stderr);
    const other = await sh(["kubectl", ...ing, "-n", "skiff-system", "create", "token", "default"]);
    assert.notEqual(other.code, 0, "the Ingress account minted a token of another account");
    assert.match(other.stderr, /forbidden/i);
    const copy = `${cluster.dataDir}/ingress-renewed.kubeconfig`;
    await Deno.copyFile(`${cluster.dataDir}/ingress.kubeconfig`, copy);
    const before = kubeconfigCredentials(await Deno.readTextFile(copy), cluster.dataDir);
    const renewed = await renewIngressToken(copy, {
      server: before.server!,
      caCert: before.caCert,
      token: before.token!,
    });
    assert.notEqual(renewed, before.token);
    assert.equal(kubeconfigCredentials(await Deno.readTextFile(copy), cluster.dataDir).token, renewed);
    const whoRenewed = await sh([
      "kubectl",
      "--kubeconfig",
      copy,
      "auth",
      "whoami",
      "-o",
      "jsonpath={.status.userInfo.username}",
    ]);
    assert.equal(
      whoRenewed.stdout,
      "system:serviceaccount:skiff-system:ingress-controller",
      whoRenewed.stderr,
    );

    // WebSockets and streamed bodies, to a backend on the node's bridge gateway.
    const node0 = JSON.parse((await cluster.kubectl(["get", "nodes", "-o", "json"])).stdout).items[0];
    const gateway = ipToString(parseCidr(node0.spec.podCIDR).base + 1);
    const release = Promise.withResolvers<void>();
    const enc = new TextEncoder();
    const backend = Deno.serve({ hostname: gateway, port: 0, onListen: () => {} }, (req) => {
      if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
        const { socket, response } = Deno.upgradeWebSocket(req);
        socket.onmessage = (e) => socket.send(`echo:${e.data}`);
        return response;
      }
      if (new URL(req.url).pathname === "/live/stream") {
        return new Response(
          new ReadableStream({
            async start(c) {
              c.enqueue(enc.encode("first\n"));
              await release.promise;
              c.enqueue(enc.encode("second\n"));
              c.close();
            },
          }),
        );
      }
      return new Response("live\n");
    });
    const aborted = new AbortController();
    let ws: WebSocket | undefined;
    try {
      await apply(
        cluster,
        service("echo", { ports: [{ port: 80, targetPort: backend.addr.port }] }),
        {
          apiVersion: "discovery.k8s.io/v1",
          kind: "EndpointSlice",
          metadata: {
            name: "echo-host",
            namespace: "default",
            labels: {
              "kubernetes.io/service-name": "echo",
              "endpointslice.kubernetes.io/managed-by": "ingress-test",
            },
          },
          addressType: "IPv4",
          ports: [{ port: backend.addr.port, protocol: "TCP" }],
          endpoints: [{ addresses: [gateway], conditions: { ready: true } }],
        },
        {
          ...ingress({ rules: [{ http: { paths: [path("/live", "echo")] } }] }),
          metadata: { name: "live", namespace: "default" },
        },
      );
      await eventually(
        "the host backend through Ingress",
        async () => (await curl(`http://127.0.0.1:${http}/live`)).body === "live\n",
        30_000,
      );

      const socket = ws = new WebSocket(`ws://127.0.0.1:${http}/live/ws`);
      const messages: string[] = [];
      const gotEcho = Promise.withResolvers<void>();
      socket.onmessage = (e: MessageEvent) => {
        messages.push(String(e.data));
        if (messages.length === 2) gotEcho.resolve();
      };
      const closed = new Promise<void>((r) => socket.onclose = () => r());
      await withTimeout(
        new Promise<void>((r, j) => {
          socket.onopen = () => r();
          socket.onerror = () => j(new Error("the WebSocket upgrade through the Ingress failed"));
        }),
        10_000,
        "the WebSocket upgrade through the Ingress",
      );
      socket.send("ping");
      socket.send("pong");
      await withTimeout(gotEcho.promise, 10_000, "the WebSocket echo through the Ingress");
      assert.deepEqual(messages, ["echo:ping", "echo:pong"]);
      socket.close();
      await withTimeout(closed, 10_000, "the WebSocket close");

      // A proxy that buffers answers neither the headers nor the first chunk before the backend ends.
      const res = await withTimeout(
        fetch(`http://127.0.0.1:${http}/live/stream`, { signal: aborted.signal }),
        10_000,
        "the streamed response's headers before the backend finished",
      );
      assert.equal(res.status, 200);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      // The backend holds its second chunk back: the first must arrive on its own, not buffered.
      const first = await withTimeout(reader.read(), 10_000, "the first chunk before the backend finished");
      assert.equal(first.value, "first\n");
      release.resolve();
      let rest = "";
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += r.value;
      assert.equal(rest, "second\n");
    } finally {
      release.resolve();
      aborted.abort();
      ws?.close();
      await withTimeout(backend.shutdown(), 10_000, "the host backend to shut down");
    }
  },
);
