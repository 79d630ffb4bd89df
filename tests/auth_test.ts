/**
 * Transport, identity and abuse protection, on a real API server over HTTPS (certificates from
 * cli/pki.ts, i.e. openssl), driven by kubectl v1.32 and @kubernetes/client-node: anonymous access,
 * static, ServiceAccount, bootstrap and node tokens, TokenRequest/TokenReview/SelfSubjectReview,
 * impersonation, the audit log, requests in flight and fuzzed input.
 */
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { parse } from "yaml";
import { writeKubeconfig } from "../cli/kubeconfig.ts";
import { joinNode } from "../cli/node_join.ts";
import { type ClusterPki, controlPlaneSecurity, ensureClusterPki } from "../cli/pki.ts";
import { JwtCodec } from "../control/apiserver/auth/jwt.ts";
import { generateSigningKey, loadSigningKeys } from "../control/apiserver/auth/keys.ts";
import { ServiceAccountTokens } from "../control/apiserver/auth/service_account.ts";
import type { Authorizer, UserInfo } from "../control/apiserver/context.ts";
import { type ControlPlane, type ControlPlaneOptions, startControlPlane } from "../control/mod.ts";
import { kubectlPath, kubectlTest, tempDir } from "./harness.ts";

const ALICE = "alice-token-0123456789";
const CAROL = "carol-token-0123456789";
const FLOOD = "flood-token-0123456789";

/** A secure cluster: PKI, HTTPS, authentication, audit lines in memory; an HTTP client trusting the CA. */
interface SecureCluster extends AsyncDisposable {
  cp: ControlPlane;
  pki: ClusterPki;
  dir: string;
  kubeconfig: string;
  audit: string[];
  /** A request with `token` (default: the admin's). */
  req(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  kubectl(args: string[], opts?: { kubeconfig?: string; stdin?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
}

let sharedPki: { dir: string; pki: Promise<ClusterPki> } | undefined;

/** One PKI for the whole file (openssl is slow); each cluster has its own KV. */
async function pkiOnce(): Promise<ClusterPki> {
  if (!sharedPki) {
    const dir = await Deno.makeTempDir({ prefix: "skiff-auth-pki-" });
    sharedPki = { dir, pki: ensureClusterPki(dir) };
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  }
  return await sharedPki.pki;
}

async function secureCluster(over: Partial<ControlPlaneOptions> = {}): Promise<SecureCluster> {
  const pki = await pkiOnce();
  const tmp = await tempDir("skiff-auth-");
  const audit: string[] = [];
  const security = controlPlaneSecurity(pki);
  const users: Record<string, UserInfo> = {
    [ALICE]: { username: "alice", groups: ["team-a"] },
    [CAROL]: { username: "carol", groups: [] },
    [FLOOD]: { username: "flood", groups: [] },
  };
  const cp = await startControlPlane({
    kvPath: `${tmp.path}/state.kv`,
    port: 0,
    compactionIntervalMs: 0,
    ...security,
    authentication: { ...security.authentication, tokens: { ...security.authentication.tokens, ...users }, log: () => {} },
    audit: { sink: (line) => audit.push(line) },
    ...over,
  });
  const kubeconfig = `${tmp.path}/kubeconfig`;
  await writeKubeconfig(kubeconfig, cp.url, { caCert: pki.caCert, token: pki.adminToken });
  const http = Deno.createHttpClient({ caCerts: [pki.caCert] });
  return {
    cp,
    pki,
    dir: tmp.path,
    kubeconfig,
    audit,
    req(path, init = {}) {
      const headers = new Headers(init.headers);
      const token = init.token === undefined ? pki.adminToken : init.token;
      if (token !== null) headers.set("Authorization", `Bearer ${token}`);
      return fetch(cp.url + path, { ...init, headers, client: http });
    },
    async kubectl(args, opts = {}) {
      const child = new Deno.Command(kubectlPath()!, {
        args: ["--kubeconfig", opts.kubeconfig ?? kubeconfig, "--cache-dir", `${tmp.path}/kube-cache`, ...args],
        stdin: opts.stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      if (opts.stdin !== undefined) {
        const w = child.stdin.getWriter();
        await w.write(new TextEncoder().encode(opts.stdin));
        await w.close();
      }
      const out = await child.output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    },
    async [Symbol.asyncDispose]() {
      http.close();
      await cp.close();
      await tmp[Symbol.asyncDispose]();
    },
  };
}

async function status(res: Response): Promise<number> {
  await res.body?.cancel();
  return res.status;
}

async function json(res: Response) {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`not JSON (${res.status}): ${text}`);
  }
}

const post = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

kubectlTest("kubectl reaches the API over HTTPS with the kubeconfig's CA and admin token", async () => {
  await using c = await secureCluster();
  assert.match(c.cp.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const doc = parse(await Deno.readTextFile(c.kubeconfig));
  assert.ok(doc.clusters[0].cluster["certificate-authority-data"]);
  const r = await c.kubectl(["get", "ns", "-o", "name"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^namespace\/default$/m);
  const who = await c.kubectl(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
  assert.equal(who.code, 0, who.stderr);
  assert.equal(who.stdout, "admin");
  // Plain HTTP to the TLS port does not get an API answer.
  await assert.rejects(fetch(c.cp.url.replace("https:", "http:") + "/api"));
});

Deno.test("@kubernetes/client-node works over HTTPS with the cluster CA and a bearer token", async () => {
  await using c = await secureCluster();
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "skiff", server: c.cp.url, caData: btoa(c.pki.caCert) }],
    users: [{ name: "admin", token: c.pki.adminToken }],
    contexts: [{ name: "skiff", cluster: "skiff", user: "admin" }],
    currentContext: "skiff",
  });
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const list = await core.listNamespace();
  assert.ok(list.items.some((n) => n.metadata?.name === "kube-system"));
  const bad = new k8s.KubeConfig();
  bad.loadFromOptions({ ...kc, users: [{ name: "admin", token: "wrong" }], clusters: kc.clusters, contexts: kc.contexts, currentContext: "skiff" });
  await assert.rejects(bad.makeApiClient(k8s.CoreV1Api).listNamespace(), (e: { code?: number }) => e.code === 401);
});

Deno.test("anonymous requests reach health, version and discovery only; everything else is 401", async () => {
  await using c = await secureCluster();
  for (const path of ["/healthz", "/livez", "/readyz/ping", "/version", "/api", "/apis", "/api/v1", "/apis/apps/v1", "/openapi/v3"]) {
    assert.equal(await status(await c.req(path, { token: null })), 200, path);
  }
  for (const path of ["/api/v1/namespaces", "/api/v1/namespaces/default/secrets", "/apis/apps/v1/deployments", "/openid/v1/jwks", "/metrics"]) {
    const res = await c.req(path, { token: null });
    assert.equal(res.status, 401, path);
    const s = await res.json();
    assert.deepEqual([s.kind, s.reason, s.message], ["Status", "Unauthorized", "Unauthorized"]);
  }
  // A bad credential is refused even on a public path, as upstream.
  assert.equal(await status(await c.req("/version", { token: "not-a-token" })), 401);
  assert.equal(await status(await c.req("/openid/v1/jwks")), 200);
});

kubectlTest("kubectl create token mints a ServiceAccount token that authenticates as the account", async () => {
  await using c = await secureCluster();
  assert.equal((await c.kubectl(["create", "serviceaccount", "builder"])).code, 0);
  const t = await c.kubectl(["create", "token", "builder", "--duration", "20m"]);
  assert.equal(t.code, 0, t.stderr);
  const token = t.stdout.trim();
  const [, payload] = token.split(".");
  const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
  assert.equal(claims.sub, "system:serviceaccount:default:builder");
  assert.equal(claims["kubernetes.io"].serviceaccount.name, "builder");
  assert.equal(claims.exp - claims.iat, 1200);
  const who = await c.kubectl(["--token", token, "auth", "whoami", "-o", "json"]);
  assert.equal(who.code, 0, who.stderr);
  const info = JSON.parse(who.stdout).status.userInfo;
  assert.equal(info.username, "system:serviceaccount:default:builder");
  assert.deepEqual(info.groups, ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"]);
  const short = await c.kubectl(["create", "token", "builder", "--duration", "5m"]);
  assert.notEqual(short.code, 0);
  assert.match(short.stderr, /may not specify a duration less than 10 minutes/);
  // The account deleted: its tokens stop working.
  assert.equal((await c.kubectl(["delete", "serviceaccount", "builder"])).code, 0);
  assert.equal(await status(await c.req("/api/v1/namespaces", { token })), 401);
});

kubectlTest("expired, forged, wrong-audience and revoked ServiceAccount tokens are refused", async () => {
  await using c = await secureCluster();
  assert.equal((await c.kubectl(["create", "serviceaccount", "builder"])).code, 0);
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p1" },
    spec: { serviceAccountName: "builder", containers: [{ name: "c", image: "example.com/app:1" }] },
  };
  assert.equal(await status(await c.req("/api/v1/namespaces/default/pods", post(pod))), 201);
  const bound = await c.kubectl(["create", "token", "builder", "--bound-object-kind", "Pod", "--bound-object-name", "p1"]);
  assert.equal(bound.code, 0, bound.stderr);
  const token = bound.stdout.trim();
  const ns = "/api/v1/namespaces/default/configmaps";
  assert.equal(await status(await c.req(ns, { token })), 200, "the bound token works while the pod exists");

  const auth = c.cp.server.authentication!;
  const sa = await json(await c.req("/api/v1/namespaces/default/serviceaccounts/builder"));
  const lookup = () => Promise.resolve(null);
  const spec = { namespace: "default", name: "builder", uid: sa.metadata.uid, audiences: auth.audiences, ttlSeconds: 3600 };
  // Expired: issued three hours ago for one hour (beyond the minute of leeway).
  const past = new JwtCodec(auth.keys, { issuer: auth.issuer, now: () => Date.now() - 3 * 3600_000 });
  const expired = (await new ServiceAccountTokens(past, lookup, { audiences: auth.audiences }).issue(spec)).token;
  // Forged: the same claims signed with another key.
  const otherKeys = await loadSigningKeys({ privateKey: await generateSigningKey() });
  const forger = new JwtCodec(otherKeys, { issuer: auth.issuer });
  const forged = (await new ServiceAccountTokens(forger, lookup, { audiences: auth.audiences }).issue(spec)).token;
  // Wrong audience.
  const other = await c.kubectl(["create", "token", "builder", "--audience", "https://vault.example.com"]);
  assert.equal(other.code, 0, other.stderr);
  for (const [what, t] of [["expired", expired], ["forged", forged], ["wrong-audience", other.stdout.trim()]]) {
    assert.equal(await status(await c.req(ns, { token: t })), 401, what);
  }
  // A TokenReview for the other audience accepts it (that is what audiences are for).
  const review = await json(await c.req("/apis/authentication.k8s.io/v1/tokenreviews", post({
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenReview",
    spec: { token: other.stdout.trim(), audiences: ["https://vault.example.com"] },
  })));
  assert.equal(review.status.authenticated, true, JSON.stringify(review));
  assert.deepEqual(review.status.audiences, ["https://vault.example.com"]);

  // Revoked: the pod it is bound to is deleted.
  assert.equal(await status(await c.req("/api/v1/namespaces/default/pods/p1", { method: "DELETE" })), 200);
  assert.equal(await status(await c.req(ns, { token })), 401, "revoked");
  const gone = await json(await c.req("/apis/authentication.k8s.io/v1/tokenreviews", post({
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenReview",
    spec: { token },
  })));
  assert.equal(gone.status.authenticated, false);
  assert.equal(gone.status.error, "service account token has been invalidated");
});

function bootstrapSecret(id: string, secret: string, expiration: Date) {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `bootstrap-token-${id}`, namespace: "kube-system" },
    type: "bootstrap.kubernetes.io/token",
    stringData: {
      "token-id": id,
      "token-secret": secret,
      expiration: expiration.toISOString(),
      "usage-bootstrap-authentication": "true",
    },
  };
}

Deno.test("a bootstrap token joins a node: the exchange yields a node credential for that node only", async () => {
  await using c = await secureCluster();
  const secrets = "/api/v1/namespaces/kube-system/secrets";
  const soon = new Date(Date.now() + 3600_000);
  assert.equal(await status(await c.req(secrets, post(bootstrapSecret("abcdef", "0123456789abcdef", soon)))), 201);
  assert.equal(await status(await c.req(secrets, post(bootstrapSecret("old123", "0123456789abcdef", new Date(Date.now() - 1000))))), 201);

  const whoami = async (token: string) =>
    (await json(await c.req("/apis/authentication.k8s.io/v1/selfsubjectreviews", {
      ...post({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }),
      token,
    }))).status.userInfo;
  const boot = await whoami("abcdef.0123456789abcdef");
  assert.deepEqual([boot.username, boot.groups], ["system:bootstrap:abcdef", ["system:bootstrappers", "system:authenticated"]]);

  const out = `${c.dir}/node.kubeconfig`;
  const joined = await joinNode({ server: c.cp.url, token: "abcdef.0123456789abcdef", caCert: c.pki.caCert, nodeName: "worker-1", out });
  assert.ok(Date.parse(joined.expirationTimestamp) > Date.now() + 29 * 24 * 3600_000);
  const doc = parse(await Deno.readTextFile(out));
  const nodeToken = doc.users[0].user.token;
  const node = await whoami(nodeToken);
  assert.deepEqual([node.username, node.groups], ["system:node:worker-1", ["system:nodes", "system:authenticated"]]);

  // A node renews its own credential, but may not get another node's.
  const token = (name: string) =>
    c.req(`/api/v1/nodes/${name}/token`, { ...post({ apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: {} }), token: nodeToken });
  assert.equal(await status(await token("worker-1")), 201);
  const other = await token("worker-2");
  assert.equal(other.status, 403);
  assert.match((await other.json()).message, /may only request its own credential/);
  // Wrong secret, expired token, malformed token: refused.
  await assert.rejects(
    joinNode({ server: c.cp.url, token: "abcdef.ffffffffffffffff", caCert: c.pki.caCert, nodeName: "w", out }),
    /refused the bootstrap token/,
  );
  await assert.rejects(
    joinNode({ server: c.cp.url, token: "old123.0123456789abcdef", caCert: c.pki.caCert, nodeName: "w", out }),
    /refused the bootstrap token/,
  );
  await assert.rejects(joinNode({ server: c.cp.url, token: "nope", caCert: c.pki.caCert, nodeName: "w", out }), /--token must be/);
  // The JWKS verifies the node credential offline (what node agents do with the API server's calls).
  const jwks = await json(await c.req("/openid/v1/jwks", { token: nodeToken }));
  assert.equal(jwks.keys[0].kid, c.cp.server.authentication!.keys.kid);
});

/** Alice may impersonate user bob and group devs; nobody else may impersonate anything. */
const impersonationPolicy: Authorizer = {
  authorize({ user, info }) {
    if (info.verb !== "impersonate") return Promise.resolve({ allowed: true });
    const ok = user.username === "alice" &&
      ((info.resource === "users" && info.name === "bob") || (info.resource === "groups" && info.name === "devs"));
    return Promise.resolve({ allowed: ok });
  },
};

kubectlTest("impersonation needs the impersonate verb and is refused with upstream's message", async () => {
  await using c = await secureCluster({ authorizer: impersonationPolicy });
  const aliceConfig = `${c.dir}/alice.kubeconfig`;
  const carolConfig = `${c.dir}/carol.kubeconfig`;
  await writeKubeconfig(aliceConfig, c.cp.url, { caCert: c.pki.caCert, token: ALICE, user: "alice" });
  await writeKubeconfig(carolConfig, c.cp.url, { caCert: c.pki.caCert, token: CAROL, user: "carol" });
  const as = await c.kubectl(["auth", "whoami", "--as", "bob", "--as-group", "devs", "-o", "json"], { kubeconfig: aliceConfig });
  assert.equal(as.code, 0, as.stderr);
  const info = JSON.parse(as.stdout).status.userInfo;
  assert.deepEqual([info.username, info.groups], ["bob", ["devs", "system:authenticated"]]);
  const plain = await c.kubectl(["get", "configmaps", "--as", "bob"], { kubeconfig: aliceConfig });
  assert.equal(plain.code, 0, plain.stderr);
  const refused = await c.kubectl(["get", "configmaps", "--as", "bob"], { kubeconfig: carolConfig });
  assert.notEqual(refused.code, 0);
  assert.match(
    refused.stderr,
    /users "bob" is forbidden: User "carol" cannot impersonate resource "users" in API group "" at the cluster scope/,
  );
  const group = await c.req("/api/v1/namespaces", { token: ALICE, headers: { "Impersonate-User": "bob", "Impersonate-Group": "admins" } });
  assert.equal(group.status, 403);
  assert.match((await group.json()).message, /cannot impersonate resource "groups"/);
  const noUser = await c.req("/api/v1/namespaces", { token: ALICE, headers: { "Impersonate-Group": "devs" } });
  assert.equal(noUser.status, 400);
  await noUser.body?.cancel();
  // The audit log names both: the caller as user, the impersonated one as impersonatedUser.
  const line = c.audit.map((l) => JSON.parse(l)).find((e) => e.impersonatedUser?.username === "bob");
  assert.equal(line?.user.username, "alice");
});

Deno.test("the audit log records user, verb, resource, decision, code and latency; Request level adds the body", async () => {
  const deny: Authorizer = {
    authorize: ({ user, info }) => Promise.resolve({ allowed: !(user.username === "carol" && info.resource === "secrets"), reason: "" }),
  };
  await using c = await secureCluster({ authorizer: deny });
  assert.equal(await status(await c.req("/api/v1/namespaces/default/serviceaccounts", post({ metadata: { name: "audited" } }))), 201);
  const refused = await c.req("/api/v1/namespaces/default/secrets/x", { token: CAROL });
  assert.equal(refused.status, 403);
  assert.equal(
    (await refused.json()).message,
    'secrets "x" is forbidden: User "carol" cannot get resource "secrets" in API group "" in the namespace "default"',
  );
  assert.equal(await status(await c.req("/api/v1/namespaces", { token: "bogus" })), 401);
  const events = c.audit.map((l) => JSON.parse(l));
  const created = events.find((e) => e.verb === "create" && e.objectRef?.name === undefined && e.objectRef?.resource === "serviceaccounts");
  assert.ok(created, "the create is audited");
  assert.equal(created.apiVersion, "audit.k8s.io/v1");
  assert.equal(created.level, "Request");
  assert.equal(created.user.username, "admin");
  assert.deepEqual(created.user.groups, ["system:masters", "system:authenticated"]);
  assert.equal(created.responseStatus.code, 201);
  assert.equal(created.annotations["authorization.k8s.io/decision"], "allow");
  assert.equal(created.requestObject.metadata.name, "audited");
  assert.ok(Number(created.annotations["skiff.dev/latency-ms"]) >= 0);
  const denied = events.find((e) => e.user.username === "carol");
  assert.deepEqual(
    [denied.verb, denied.objectRef.resource, denied.objectRef.namespace, denied.objectRef.name, denied.responseStatus.code],
    ["get", "secrets", "default", "x", 403],
  );
  assert.equal(denied.annotations["authorization.k8s.io/decision"], "forbid");
  assert.equal(denied.level, "Metadata", "secrets are audited without bodies");
  assert.ok(events.some((e) => e.responseStatus.code === 401 && e.user.username === ""), "refused credentials are audited");
  assert.ok(!events.some((e) => e.requestURI === "/healthz"), "health probes are not");
});

Deno.test("a flood from one user gets 429 with Retry-After while another user is still served", async () => {
  const gate = Promise.withResolvers<void>();
  const slow: Authorizer = {
    async authorize({ user }) {
      if (user.username === "flood") await gate.promise; // holds the flood's requests in flight
      return { allowed: true };
    },
  };
  await using c = await secureCluster({ authorizer: slow, limits: { maxInflight: 8, maxPerUser: 3, maxLongRunningPerUser: 2 } });
  const path = "/api/v1/namespaces/default/configmaps";
  const flood = Array.from({ length: 12 }, () => c.req(path, { token: FLOOD }));
  await new Promise((r) => setTimeout(r, 200));
  // Alice is served while the flood holds its share.
  assert.equal(await status(await c.req(path, { token: ALICE })), 200);
  gate.resolve();
  const codes = await Promise.all(flood.map(async (p) => {
    const res = await p;
    if (res.status === 429) {
      assert.equal(res.headers.get("retry-after"), "1");
      assert.equal((await res.json()).reason, "TooManyRequests");
      return 429;
    }
    return await status(res);
  }));
  assert.equal(codes.filter((s) => s === 200).length, 3, `codes: ${codes}`);
  assert.equal(codes.filter((s) => s === 429).length, 9);
  // Watches have their own per-user bound.
  const ac = new AbortController();
  const watches = [await c.req(`${path}?watch=true`, { token: ALICE, signal: ac.signal }), await c.req(`${path}?watch=true`, { token: ALICE, signal: ac.signal })];
  assert.deepEqual(watches.map((w) => w.status), [200, 200]);
  assert.equal(await status(await c.req(`${path}?watch=true`, { token: ALICE })), 429);
  assert.equal(await status(await c.req(path, { token: ALICE })), 200, "short requests are still served");
  for (const w of watches) await w.body!.cancel();
  ac.abort();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(c.cp.server.filters.limiter!.inUse, { short: 0, longRunning: 0 });
});

Deno.test("fuzzed Authorization headers and JSON bodies give 400/401/413/422, never a 500", async () => {
  await using c = await secureCluster();
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const printable = (len: number) => Array.from({ length: len }, () => String.fromCharCode(32 + rand(95))).join("");
  const headers = [
    "Bearer",
    "Bearer ",
    "bearer  x",
    "Basic YWRtaW46YWRtaW4=",
    `Bearer ${c.pki.adminToken}x`,
    "Bearer a.b.c",
    "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.",
    "Bearer abcdef.0123456789abcdef",
    ...Array.from({ length: 40 }, () => `Bearer ${printable(1 + rand(80)).trim() || "x"}`),
    ...Array.from({ length: 20 }, () => printable(1 + rand(60)).trim() || "x"),
  ];
  for (const h of headers) {
    const r = await c.req("/api/v1/namespaces", { token: null, headers: { Authorization: h } });
    assert.ok([400, 401].includes(r.status), `${JSON.stringify(h)} → ${r.status}`);
    await r.body?.cancel();
  }
  const bodies = [
    "",
    "{",
    "[]",
    "null",
    '{"metadata":1}',
    '{"metadata":{"name":5}}',
    '{"kind":"Pod"}',
    "[".repeat(5000) + "]".repeat(5000),
    '{"data":{"a":{"b":1}}}',
    ...Array.from({ length: 40 }, () => printable(rand(200))),
  ];
  for (const body of bodies) {
    const r = await c.req("/api/v1/namespaces/default/configmaps", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
    });
    assert.ok(r.status < 500, `${JSON.stringify(body.slice(0, 60))} → ${r.status}`);
    await r.body?.cancel();
  }
  const big = await c.req("/api/v1/namespaces/default/configmaps", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ metadata: { name: "big" }, data: { x: "y".repeat(4 * 1024 * 1024) } }),
  });
  assert.equal(big.status, 413);
  assert.equal((await big.json()).message, "Request entity too large: limit is 3145728");
  // Create-only kinds refuse other verbs loudly.
  assert.equal(await status(await c.req("/apis/authentication.k8s.io/v1/tokenreviews")), 405);
  const empty = await c.req("/apis/authentication.k8s.io/v1/tokenreviews", post({ spec: {} }));
  assert.equal(empty.status, 400);
  assert.match((await empty.json()).message, /token is required/);
});
