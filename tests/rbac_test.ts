/**
 * Authorization end to end: a real API server with the RBAC + node authorizer, driven by kubectl
 * v1.32 and fetch as several identities.
 *
 * Identities come from a test authenticator (`Authorization: Bearer user=<name>;groups=<g1>,<g2>`;
 * no header is the in-process admin). kubectl 1.32 does not send bearer tokens over plain HTTP, so
 * each identity's kubectl talks to a small local proxy that adds its token.
 */
import assert from "node:assert/strict";
import { writeKubeconfig } from "../cli/kubeconfig.ts";
import { Client, R } from "../control/api/client.ts";
import { unauthorized } from "../control/api/status.ts";
import type { KubeObject } from "../control/api/types.ts";
import { ADMIN, type Authenticator, type UserInfo } from "../control/apiserver/context.ts";
import { parseRequestInfo } from "../control/apiserver/request_info.ts";
import { RBAC_REFS, RbacAuthorization } from "../control/apiserver/rbac/mod.ts";
import { startControllerManager } from "../control/controllers/manager.ts";
import { startComponents, startControlPlane } from "../control/mod.ts";
import { makeNode } from "../control/scheduler/testing.ts";
import { KUBECTL, kubectlPath, tempDir, testWith } from "./harness.ts";

/** The test credentials: `Bearer user=<name>;groups=<g1>,<g2>`; no header → admin. */
const testAuthenticator: Authenticator = {
  authenticate(req) {
    const h = req.headers.get("authorization");
    if (!h) return Promise.resolve(ADMIN);
    const m = h.match(/^Bearer user=([^;]+);groups=(.*)$/);
    if (!m) return Promise.reject(unauthorized());
    const groups = m[2].split(",").filter(Boolean);
    return Promise.resolve({ username: m[1], groups: [...groups, "system:authenticated"] });
  },
};

const token = (u: UserInfo) => `user=${u.username};groups=${u.groups.join(",")}`;

interface Identity {
  user: UserInfo;
  kubeconfig: string;
}

/** A control plane with RBAC, and per-identity kubectl and fetch. */
async function securedCluster() {
  const dir = await tempDir("skiff-rbac-");
  const authz = new RbacAuthorization();
  const cp = await startControlPlane({
    kvPath: `${dir.path}/state.kv`,
    port: 0,
    authenticator: testAuthenticator,
    authorizer: authz,
    admission: authz.admission,
  });
  await authz.start(cp.server);
  const proxies: Deno.HttpServer[] = [];
  const adminConfig = `${dir.path}/admin.kubeconfig`;
  await writeKubeconfig(adminConfig, cp.url);

  /** A kubectl identity: a proxy adding its token, and a kubeconfig pointing at the proxy. */
  const as = async (username: string, groups: string[] = []): Promise<Identity> => {
    const user = { username, groups };
    const { promise, resolve } = Promise.withResolvers<Deno.NetAddr>();
    const proxy = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: resolve }, (req) => {
      const url = new URL(req.url);
      const headers = new Headers(req.headers);
      headers.set("Authorization", `Bearer ${token(user)}`);
      return fetch(cp.url + url.pathname + url.search, {
        method: req.method,
        headers,
        body: req.body,
        signal: req.signal,
      });
    });
    proxies.push(proxy);
    const addr = await promise;
    const kubeconfig = `${dir.path}/${username.replaceAll(":", "_")}.kubeconfig`;
    await writeKubeconfig(kubeconfig, `http://127.0.0.1:${addr.port}`);
    return { user, kubeconfig };
  };

  const kubectl = async (who: Identity | null, args: string[], stdin?: string) => {
    const child = new Deno.Command(kubectlPath()!, {
      args: ["--kubeconfig", who?.kubeconfig ?? adminConfig, "--cache-dir", `${dir.path}/cache`, ...args],
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(stdin));
      await w.close();
    }
    const out = await child.output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };

  /** A raw request as `user` (admin when null); returns status and parsed body. */
  const api = async (user: UserInfo | null, method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (user) headers.Authorization = `Bearer ${token(user)}`;
    const res = await fetch(cp.url + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    // deno-lint-ignore no-explicit-any
    let json: Record<string, any> | null = null;
    try {
      json = JSON.parse(text);
    } catch { /* not JSON */ }
    return { status: res.status, body: json, text };
  };

  const close = async () => {
    for (const p of proxies) await p.shutdown();
    await cp.close();
    await authz.close();
    await dir[Symbol.asyncDispose]();
  };
  return { url: cp.url, server: cp.server, authz, as, kubectl, api, close, [Symbol.asyncDispose]: close };
}

type Secured = Awaited<ReturnType<typeof securedCluster>>;

async function ok(c: Secured, who: Identity | null, args: string[], stdin?: string): Promise<string> {
  const r = await c.kubectl(who, args, stdin);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

async function refused(c: Secured, who: Identity | null, args: string[], stdin?: string): Promise<string> {
  const r = await c.kubectl(who, args, stdin);
  assert.notEqual(r.code, 0, `kubectl ${args.join(" ")} should have been refused: ${r.stdout}`);
  return r.stderr.trim();
}

const pod = (name: string, namespace: string, spec: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace },
  spec: { containers: [{ name: "app", image: "registry.local/app:1" }], ...spec },
});

const TENANTS = `
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-b}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: team-a-edit, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: Group, name: team-a}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: team-b-edit, namespace: team-b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: Group, name: team-b}]
`;

testWith(
  [KUBECTL],
  "tenants with namespace-scoped roles cannot read or change each other's objects",
  async (t) => {
    await using c = await securedCluster();
    await ok(c, null, ["apply", "-f", "-"], TENANTS);
    const alice = await c.as("alice", ["team-a"]);
    const bob = await c.as("bob", ["team-b"]);
    for (const [ns, name] of [["team-a", "web-a"], ["team-b", "web-b"]]) {
      assert.equal((await c.api(null, "POST", `/api/v1/namespaces/${ns}/pods`, pod(name, ns))).status, 201);
    }

    await t.step("each tenant works in its own namespace", async () => {
      await ok(c, alice, ["create", "configmap", "cfg-a", "-n", "team-a", "--from-literal=k=v"]);
      await ok(c, bob, ["create", "secret", "generic", "secret-b", "-n", "team-b", "--from-literal=k=v"]);
      assert.match(await ok(c, alice, ["get", "pods", "-n", "team-a"]), /web-a/);
      assert.match(
        await ok(c, bob, ["get", "secret", "secret-b", "-n", "team-b", "-o", "name"]),
        /secret\/secret-b/,
      );
    });

    await t.step("reads and writes in the other tenant's namespace get upstream's 403 messages", async () => {
      assert.equal(
        await refused(c, alice, ["get", "pods", "-n", "team-b"]),
        'Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "team-b"',
      );
      assert.equal(
        await refused(c, alice, ["get", "secret", "secret-b", "-n", "team-b"]),
        'Error from server (Forbidden): secrets "secret-b" is forbidden: User "alice" cannot get resource "secrets" in API group "" in the namespace "team-b"',
      );
      assert.match(
        await refused(c, bob, ["create", "configmap", "intruder", "-n", "team-a", "--from-literal=k=v"]),
        /configmaps is forbidden: User "bob" cannot create resource "configmaps" in API group "" in the namespace "team-a"/,
      );
      assert.match(
        await refused(c, bob, ["delete", "configmap", "cfg-a", "-n", "team-a"]),
        /configmaps "cfg-a" is forbidden: User "bob" cannot delete resource "configmaps" in API group "" in the namespace "team-a"/,
      );
      assert.match(
        await refused(c, bob, ["label", "pod", "web-a", "-n", "team-a", "x=y"]),
        /pods "web-a" is forbidden: User "bob" cannot (get|patch) resource "pods" in API group "" in the namespace "team-a"/,
      );
      assert.match(
        await refused(c, alice, ["get", "nodes"]),
        /nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope/,
      );
      // Nothing changed.
      const cfg = await c.api(null, "GET", "/api/v1/namespaces/team-a/configmaps/cfg-a");
      assert.equal(cfg.status, 200);
      assert.equal((await c.api(null, "GET", "/api/v1/namespaces/team-a/configmaps/intruder")).status, 404);
    });

    await t.step(
      "the other tenant's pod logs, exec and port-forward are refused before reaching a node",
      async () => {
        // kubectl logs reads the pod first; the log itself is refused too.
        assert.equal(
          await refused(c, alice, ["logs", "web-b", "-n", "team-b"]),
          'Error from server (Forbidden): pods "web-b" is forbidden: User "alice" cannot get resource "pods" in API group "" in the namespace "team-b"',
        );
        const log = await c.api(alice.user, "GET", "/api/v1/namespaces/team-b/pods/web-b/log");
        assert.equal(log.status, 403);
        assert.equal(
          log.body?.message,
          'pods "web-b" is forbidden: User "alice" cannot get resource "pods/log" in API group "" in the namespace "team-b"',
        );
        const paths: [string, string][] = [
          ["exec", "?command=ls&stdout=true"],
          ["attach", "?stdout=true"],
          ["portforward", "?ports=8080"],
        ];
        for (const [sub, query] of paths) {
          const r = await c.api(alice.user, "POST", `/api/v1/namespaces/team-b/pods/web-b/${sub}${query}`);
          assert.equal(r.status, 403, `${sub}: ${r.text}`);
          assert.equal(
            r.body?.message,
            `pods "web-b" is forbidden: User "alice" cannot create resource "pods/${sub}" in API group "" in the namespace "team-b"`,
          );
          assert.equal(r.body?.reason, "Forbidden");
          // Its own pod passes authorization (and then finds no node agent in this cluster).
          const own = await c.api(alice.user, "POST", `/api/v1/namespaces/team-a/pods/web-a/${sub}${query}`);
          assert.notEqual(own.status, 403, `${sub} on its own pod: ${own.text}`);
        }
        const ownLog = await c.kubectl(alice, ["logs", "web-a", "-n", "team-a"]);
        assert.doesNotMatch(ownLog.stderr, /Forbidden/);
      },
    );

    await t.step("kubectl auth can-i answers from the bindings", async () => {
      assert.equal((await ok(c, alice, ["auth", "can-i", "list", "pods", "-n", "team-a"])).trim(), "yes");
      assert.equal(
        (await c.kubectl(alice, ["auth", "can-i", "list", "pods", "-n", "team-b"])).stdout.trim(),
        "no",
      );
      assert.equal(
        (await ok(c, alice, ["auth", "can-i", "create", "pods", "--subresource=exec", "-n", "team-a"]))
          .trim(),
        "yes",
      );
      assert.equal(
        (await c.kubectl(alice, ["auth", "can-i", "get", "pods", "--subresource=log", "-n", "team-b"])).stdout
          .trim(),
        "no",
      );
      assert.equal(
        (await c.kubectl(alice, ["auth", "can-i", "create", "roles", "-n", "team-a"])).stdout.trim(),
        "no",
      );
      assert.equal((await ok(c, alice, ["auth", "can-i", "get", "/version"])).trim(), "yes");
    });
  },
);

testWith([KUBECTL], "kubectl auth can-i --list matches the bindings", async () => {
  await using c = await securedCluster();
  await ok(c, null, ["create", "namespace", "shop"]);
  await ok(c, null, [
    "create",
    "role",
    "reader",
    "-n",
    "shop",
    "--verb=get,list",
    "--resource=pods,pods/log",
  ]);
  await ok(c, null, [
    "create",
    "role",
    "one-config",
    "-n",
    "shop",
    "--verb=get",
    "--resource=configmaps",
    "--resource-name=settings",
  ]);
  await ok(c, null, ["create", "rolebinding", "carol-reader", "-n", "shop", "--role=reader", "--user=carol"]);
  await ok(c, null, [
    "create",
    "rolebinding",
    "carol-config",
    "-n",
    "shop",
    "--role=one-config",
    "--group=auditors",
  ]);
  const carol = await c.as("carol", ["auditors"]);
  const table = (text: string) => text.trim().split("\n").map((l) => l.trim().split(/\s{2,}/));
  const shop = table(await ok(c, carol, ["auth", "can-i", "--list", "-n", "shop"]));
  assert.deepEqual(shop[0], ["Resources", "Non-Resource URLs", "Resource Names", "Verbs"]);
  const rows = shop.slice(1).map((r) => r.join(" | "));
  // The namespace's bindings…
  assert.ok(rows.includes("pods/log | [] | [] | [get list]"), rows.join("\n"));
  assert.ok(rows.includes("pods | [] | [] | [get list]"), rows.join("\n"));
  assert.ok(rows.includes("configmaps | [] | [settings] | [get]"), rows.join("\n"));
  // …plus what every authenticated user holds (system:basic-user, system:discovery, public-info-viewer).
  assert.ok(
    rows.includes("selfsubjectaccessreviews.authorization.k8s.io | [] | [] | [create]"),
    rows.join("\n"),
  );
  assert.ok(rows.includes("[/api/*] | [] | [get]"), rows.join("\n"));
  const resourceRows = rows.filter((r) => !r.startsWith("["));
  assert.deepEqual(
    resourceRows.sort(),
    [
      "configmaps | [] | [settings] | [get]",
      "pods/log | [] | [] | [get list]",
      "pods | [] | [] | [get list]",
      "selfsubjectaccessreviews.authorization.k8s.io | [] | [] | [create]",
      "selfsubjectreviews.authentication.k8s.io | [] | [] | [create]",
      "selfsubjectrulesreviews.authorization.k8s.io | [] | [] | [create]",
    ].sort(),
  );
  // In another namespace only the cluster-wide defaults remain.
  const other = table(await ok(c, carol, ["auth", "can-i", "--list", "-n", "default"])).slice(1).map((r) =>
    r.join(" | ")
  );
  assert.ok(!other.some((r) => r.startsWith("pods")), other.join("\n"));
  // An admin sees everything.
  assert.match(await ok(c, null, ["auth", "can-i", "--list", "-n", "shop"]), /\*\.\*\s+\[\]\s+\[\]\s+\[\*\]/);
});

testWith([KUBECTL], "RBAC refuses escalation: no one grants or binds what they do not hold", async (t) => {
  await using c = await securedCluster();
  await ok(c, null, ["create", "namespace", "team-a"]);
  await ok(c, null, [
    "create",
    "rolebinding",
    "alice-admin",
    "-n",
    "team-a",
    "--clusterrole=admin",
    "--user=alice",
  ]);
  const alice = await c.as("alice", ["team-a"]);
  const prefix =
    'user "alice" (groups=["team-a" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:';

  await t.step("a namespace admin creates roles and bindings within its own powers", async () => {
    await ok(c, alice, [
      "create",
      "role",
      "secret-reader",
      "-n",
      "team-a",
      "--verb=get,list",
      "--resource=secrets",
    ]);
    await ok(c, alice, [
      "create",
      "rolebinding",
      "bob-view",
      "-n",
      "team-a",
      "--clusterrole=view",
      "--user=bob",
    ]);
    await ok(c, alice, [
      "create",
      "rolebinding",
      "bob-secrets",
      "-n",
      "team-a",
      "--role=secret-reader",
      "--user=bob",
    ]);
  });

  await t.step("a role granting more than its author holds is refused with upstream's message", async () => {
    const err = await refused(c, alice, [
      "create",
      "role",
      "node-reader",
      "-n",
      "team-a",
      "--verb=get",
      "--resource=nodes,persistentvolumes",
    ]);
    assert.equal(
      err,
      `Error from server (Forbidden): roles.rbac.authorization.k8s.io "node-reader" is forbidden: ${prefix}\n` +
        `{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}\n{APIGroups:[""], Resources:["persistentvolumes"], Verbs:["get"]}`,
    );
    const update = await c.api(
      alice.user,
      "PUT",
      "/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/roles/secret-reader",
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "secret-reader", namespace: "team-a" },
        rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }],
      },
    );
    assert.equal(update.status, 403);
    assert.match(update.body?.message, /is attempting to grant RBAC permissions not currently held/);
  });

  await t.step("binding a role its author does not hold is refused", async () => {
    const err = await refused(c, alice, [
      "create",
      "rolebinding",
      "bob-root",
      "-n",
      "team-a",
      "--clusterrole=cluster-admin",
      "--user=bob",
    ]);
    assert.ok(
      err.includes(`rolebindings.rbac.authorization.k8s.io "bob-root" is forbidden: ${prefix}\n`),
      err,
    );
    assert.match(err, /\{APIGroups:\["\*"\], Resources:\["\*"\], Verbs:\["\*"\]\}/);
    assert.match(
      await refused(c, alice, [
        "create",
        "clusterrolebinding",
        "bob-root",
        "--clusterrole=cluster-admin",
        "--user=bob",
      ]),
      /clusterrolebindings.rbac.authorization.k8s.io is forbidden: User "alice" cannot create resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope/,
    );
    const ghost = await refused(c, alice, [
      "create",
      "rolebinding",
      "ghost",
      "-n",
      "team-a",
      "--clusterrole=no-such-role",
      "--user=bob",
    ]);
    assert.match(ghost, /clusterroles.rbac.authorization.k8s.io "no-such-role" not found/);
    const ghostApi = await c.api(
      alice.user,
      "POST",
      "/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings",
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "ghost" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "no-such-role" },
        subjects: [{ kind: "User", name: "bob" }],
      },
    );
    assert.equal(ghostApi.status, 404);
  });

  await t.step("the bind and escalate verbs open exactly what they name", async () => {
    await ok(c, null, [
      "create",
      "role",
      "delegate",
      "-n",
      "team-a",
      "--verb=bind",
      "--resource=clusterroles",
      "--resource-name=cluster-admin",
    ]);
    await ok(c, null, ["create", "role", "escalator", "-n", "team-a", "--verb=escalate", "--resource=roles"]);
    await ok(c, null, [
      "create",
      "rolebinding",
      "alice-delegate",
      "-n",
      "team-a",
      "--role=delegate",
      "--user=alice",
    ]);
    await ok(c, null, [
      "create",
      "rolebinding",
      "alice-escalator",
      "-n",
      "team-a",
      "--role=escalator",
      "--user=alice",
    ]);
    await ok(c, alice, [
      "create",
      "rolebinding",
      "bob-root",
      "-n",
      "team-a",
      "--clusterrole=cluster-admin",
      "--user=bob",
    ]);
    await ok(c, alice, ["create", "role", "node-reader", "-n", "team-a", "--verb=get", "--resource=nodes"]);
    assert.match(
      await refused(c, alice, [
        "create",
        "rolebinding",
        "bob-edit-crb",
        "-n",
        "team-a",
        "--clusterrole=system:node",
        "--user=bob",
      ]),
      /is attempting to grant RBAC permissions not currently held/,
    );
  });
});

testWith(
  [KUBECTL],
  "a node reads the secrets of its own pods only, and kube-system roles are least-privilege",
  async (t) => {
    await using c = await securedCluster();
    const node1 = { username: "system:node:node-1", groups: ["system:nodes"] };
    const node2 = { username: "system:node:node-2", groups: ["system:nodes"] };
    for (const name of ["db-1", "db-2", "unused"]) {
      const r = await c.api(null, "POST", "/api/v1/namespaces/default/secrets", {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name },
        stringData: { password: name },
      });
      assert.equal(r.status, 201);
    }
    const volumes = (secret: string) => ({ volumes: [{ name: "creds", secret: { secretName: secret } }] });
    await c.api(
      null,
      "POST",
      "/api/v1/namespaces/default/pods",
      pod("app-1", "default", { nodeName: "node-1", ...volumes("db-1") }),
    );
    await c.api(
      null,
      "POST",
      "/api/v1/namespaces/default/pods",
      pod("app-2", "default", { nodeName: "node-2", ...volumes("db-2") }),
    );

    await t.step("its own pod's secret is readable, another node's is not", async () => {
      const own = await c.api(node1, "GET", "/api/v1/namespaces/default/secrets/db-1");
      assert.equal(own.status, 200, own.text);
      const other = await c.api(node1, "GET", "/api/v1/namespaces/default/secrets/db-2");
      assert.equal(other.status, 403);
      assert.equal(
        other.body?.message,
        `secrets "db-2" is forbidden: User "system:node:node-1" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'node-1' and this object`,
      );
      assert.equal((await c.api(node1, "GET", "/api/v1/namespaces/default/secrets/unused")).status, 403);
      assert.equal((await c.api(node1, "GET", "/api/v1/namespaces/default/secrets")).status, 403);
      assert.equal((await c.api(node2, "GET", "/api/v1/namespaces/default/secrets/db-2")).status, 200);
    });

    await t.step("a pod moved to the node brings its secret along, at once", async () => {
      await c.api(null, "DELETE", "/api/v1/namespaces/default/pods/app-2?gracePeriodSeconds=0");
      const created = await c.api(
        null,
        "POST",
        "/api/v1/namespaces/default/pods",
        pod("app-3", "default", { nodeName: "node-1", ...volumes("db-2") }),
      );
      assert.equal(created.status, 201, created.text);
      assert.equal((await c.api(node1, "GET", "/api/v1/namespaces/default/secrets/db-2")).status, 200);
    });

    await t.step("pods, the Node and the Lease are scoped to the node", async () => {
      assert.equal((await c.api(node1, "GET", "/api/v1/namespaces/default/pods/app-1")).status, 200);
      const theirs = await c.api(node2, "GET", "/api/v1/namespaces/default/pods/app-1");
      assert.equal(theirs.status, 403);
      const status = await c.api(node2, "PATCH", "/api/v1/namespaces/default/pods/app-1/status", {
        status: { phase: "Failed" },
      });
      assert.equal(status.status, 403);
      assert.equal((await c.api(node2, "DELETE", "/api/v1/namespaces/default/pods/app-1")).status, 403);
      const node = { apiVersion: "v1", kind: "Node", metadata: { name: "node-1" } };
      assert.equal((await c.api(node1, "POST", "/api/v1/nodes", node)).status, 201);
      const impostor = await c.api(node1, "POST", "/api/v1/nodes", { ...node, metadata: { name: "node-9" } });
      assert.equal(impostor.status, 403);
      assert.equal(
        impostor.body?.message,
        'nodes "node-9" is forbidden: node "node-1" is not allowed to modify node "node-9"',
      );
      assert.equal((await c.api(node1, "GET", "/api/v1/nodes/node-1")).status, 200);
      assert.equal((await c.api(node2, "GET", "/api/v1/nodes/node-1")).status, 403);
      const lease = (name: string) => ({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name, namespace: "kube-node-lease" },
        spec: { holderIdentity: name },
      });
      assert.equal(
        (await c.api(
          node1,
          "POST",
          "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
          lease("node-1"),
        )).status,
        201,
      );
      assert.equal(
        (await c.api(
          node2,
          "POST",
          "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
          lease("node-1"),
        )).status,
        403,
      );
      assert.equal(
        (await c.api(node2, "GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1"))
          .status,
        403,
      );
      assert.equal(
        (await c.api(node1, "POST", "/api/v1/namespaces/default/events", {
          apiVersion: "v1",
          kind: "Event",
          metadata: { name: "e1", namespace: "default" },
          involvedObject: { kind: "Node", name: "node-1" },
          reason: "Starting",
        })).status,
        201,
      );
    });

    await t.step("a node lists only its own pods (with the spec.nodeName field selector)", async () => {
      // The field selector reaches the authorizer as upstream's does (the pipeline passes it).
      const attrs = (query: string) => ({
        user: { ...node1, groups: [...node1.groups, "system:authenticated"] },
        info: parseRequestInfo("GET", "/api/v1/pods", new URLSearchParams(query)),
        fieldSelector: new URLSearchParams(query).get("fieldSelector") ?? undefined,
      });
      assert.equal((await c.authz.authorize(attrs("fieldSelector=spec.nodeName%3Dnode-1"))).allowed, true);
      assert.equal((await c.authz.authorize(attrs("fieldSelector=spec.nodeName%3Dnode-2"))).allowed, false);
      assert.equal(
        (await c.authz.authorize(attrs("watch=true&fieldSelector=spec.nodeName%3Dnode-1"))).allowed,
        true,
      );
    });

    await t.step("the scheduler and controller-manager identities hold only their system roles", async () => {
      const scheduler = await c.as("system:kube-scheduler");
      assert.equal(
        (await ok(c, scheduler, [
          "auth",
          "can-i",
          "create",
          "pods",
          "--subresource=binding",
          "-n",
          "default",
        ])).trim(),
        "yes",
      );
      assert.equal(
        (await c.kubectl(scheduler, ["auth", "can-i", "get", "secrets", "-n", "default"])).stdout.trim(),
        "no",
      );
      assert.equal(
        (await c.kubectl(scheduler, ["auth", "can-i", "create", "deployments.apps", "-n", "default"])).stdout
          .trim(),
        "no",
      );
      const cm = await c.as("system:kube-controller-manager");
      assert.equal(
        (await ok(c, cm, ["auth", "can-i", "create", "replicasets.apps", "-n", "default"])).trim(),
        "yes",
      );
      assert.equal(
        (await ok(c, cm, ["auth", "can-i", "deletecollection", "configmaps", "-n", "x"])).trim(),
        "yes",
      );
      assert.equal(
        (await c.kubectl(cm, ["auth", "can-i", "create", "secrets", "-n", "default"])).stdout.trim(),
        "no",
      );
      assert.equal((await c.kubectl(cm, ["auth", "can-i", "bind", "clusterroles"])).stdout.trim(), "no");
    });
  },
);

testWith([KUBECTL], "aggregated roles pick up a new aggregate-to-edit role", async () => {
  await using c = await securedCluster();
  const stop = new AbortController();
  const manager = startControllerManager({
    client: new Client({ server: c.url, fetch: c.server.fetch }),
    signal: stop.signal,
    options: { controllers: ["clusterrole-aggregation-controller"], leaderElect: false },
  });
  try {
    await manager.ready;
    await ok(c, null, ["create", "namespace", "team-a"]);
    await ok(c, null, [
      "create",
      "rolebinding",
      "alice-edit",
      "-n",
      "team-a",
      "--clusterrole=edit",
      "--user=alice",
    ]);
    await ok(c, null, [
      "create",
      "rolebinding",
      "bob-view",
      "-n",
      "team-a",
      "--clusterrole=view",
      "--user=bob",
    ]);
    const alice = await c.as("alice");
    const bob = await c.as("bob");
    // (kubectl auth can-i cannot name a resource the server does not serve: ask with a review.)
    const canCreateWidgets = async (user: UserInfo) => {
      const r = await c.api(user, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        spec: {
          resourceAttributes: {
            verb: "create",
            group: "example.com",
            resource: "widgets",
            namespace: "team-a",
          },
        },
      });
      assert.equal(r.status, 201, r.text);
      return r.body?.status.allowed as boolean;
    };
    assert.equal(await canCreateWidgets(alice.user), false);
    await ok(
      c,
      null,
      ["apply", "-f", "-"],
      `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: widget-editor
  labels: {rbac.authorization.k8s.io/aggregate-to-edit: "true"}
rules:
- apiGroups: [example.com]
  resources: [widgets]
  verbs: [create, delete, get, list, patch, update, watch]
`,
    );
    const deadline = Date.now() + 10_000;
    const rulesOf = async (role: string) =>
      JSON.parse(await ok(c, null, ["get", "clusterrole", role, "-o", "json"])).rules as unknown[];
    while (!(await rulesOf("admin")).some((r) => JSON.stringify(r).includes("widgets"))) {
      assert.ok(Date.now() < deadline, "admin never aggregated the new rule");
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok((await rulesOf("edit")).some((r) => JSON.stringify(r).includes("widgets")));
    assert.ok(!(await rulesOf("view")).some((r) => JSON.stringify(r).includes("widgets")));
    assert.equal(await canCreateWidgets(alice.user), true);
    assert.equal(await canCreateWidgets(bob.user), false);
    // Removing the label takes the rule away again.
    await ok(c, null, [
      "label",
      "clusterrole",
      "widget-editor",
      "rbac.authorization.k8s.io/aggregate-to-edit-",
    ]);
    while ((await rulesOf("edit")).some((r) => JSON.stringify(r).includes("widgets"))) {
      assert.ok(Date.now() < deadline + 10_000, "edit kept the rule after the label was removed");
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    stop.abort();
    await manager.done;
  }
});

Deno.test("access reviews answer for other subjects and reject malformed specs", async () => {
  await using c = await securedCluster();
  await c.api(null, "POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "team-a" },
  });
  await c.api(null, "POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "view", namespace: "team-a" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
    subjects: [{ kind: "User", name: "bob" }],
  });
  const sar = (spec: unknown, user: UserInfo | null = null) =>
    c.api(user, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec,
    });
  const yes = await sar({
    user: "bob",
    resourceAttributes: { verb: "list", resource: "pods", namespace: "team-a" },
  });
  assert.equal(yes.status, 201, yes.text);
  assert.deepEqual(yes.body?.status, { allowed: true });
  const no = await sar({
    user: "bob",
    resourceAttributes: { verb: "delete", resource: "pods", namespace: "team-a" },
  });
  assert.deepEqual(no.body?.status, { allowed: false });
  const group = await sar({
    groups: ["system:masters"],
    nonResourceAttributes: { verb: "get", path: "/metrics" },
  });
  assert.equal(group.body?.status.allowed, true);
  // Bob may not ask about others.
  const asBob = await sar({ user: "carol", resourceAttributes: { verb: "get", resource: "pods" } }, {
    username: "bob",
    groups: [],
  });
  assert.equal(asBob.status, 403);
  const both = await sar({
    user: "bob",
    resourceAttributes: { verb: "get" },
    nonResourceAttributes: { verb: "get", path: "/" },
  });
  assert.equal(both.status, 422);
  assert.match(both.body?.message, /cannot be specified in combination with resourceAttributes/);
  const nobody = await sar({ resourceAttributes: { verb: "get", resource: "pods" } });
  assert.equal(nobody.status, 422);
  assert.match(nobody.body?.message, /at least one of user or group must be specified/);
  const rules = await c.api(
    { username: "bob", groups: [] },
    "POST",
    "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
    {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectRulesReview",
      spec: {},
    },
  );
  assert.equal(rules.status, 400);
  assert.equal(rules.body?.message, "no namespace on request");
  const self = await c.api(
    { username: "bob", groups: [] },
    "POST",
    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectAccessReview",
      spec: {
        resourceAttributes: {
          verb: "get",
          resource: "pods",
          subresource: "log",
          namespace: "team-a",
          name: "x",
        },
      },
    },
  );
  assert.equal(self.status, 201);
  assert.equal(self.body?.status.allowed, true);
  const node = await sar({
    user: "system:node:n1",
    groups: ["system:nodes"],
    resourceAttributes: { verb: "get", resource: "secrets", namespace: "team-a", name: "s" },
  });
  assert.deepEqual(node.body?.status, {
    allowed: false,
    reason: "no relationship found between node 'n1' and this object",
  });
});

Deno.test("a binding created just before a request counts for it", async () => {
  await using c = await securedCluster();
  const erin = { username: "erin", groups: [] };
  for (let i = 0; i < 10; i++) {
    const ns = `ns-${i}`;
    await c.api(null, "POST", "/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: ns },
    });
    assert.equal((await c.api(erin, "GET", `/api/v1/namespaces/${ns}/pods`)).status, 403);
    await c.api(null, "POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "erin", namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
      subjects: [{ kind: "User", name: "erin" }],
    });
    assert.equal((await c.api(erin, "GET", `/api/v1/namespaces/${ns}/pods`)).status, 200);
    await c.api(null, "DELETE", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings/erin`);
  }
});

Deno.test("the scheduler and the controllers do their work under their least-privilege roles", async () => {
  await using c = await securedCluster();
  // Every denial of a component's request is a missing permission in its role.
  const denials: string[] = [];
  const authorize = c.authz.authorize.bind(c.authz);
  c.authz.authorize = async (attrs) => {
    const d = await authorize(attrs);
    if (!d.allowed && attrs.user.username.startsWith("system:kube-")) {
      const i = attrs.info;
      denials.push(
        `${attrs.user.username} ${i.verb} ${i.group}/${i.resource}/${i.subresource} ${i.namespace}/${i.name}`,
      );
    }
    return d;
  };
  const stop = new AbortController();
  const components = startComponents(c.server, c.url, stop.signal, {
    controllers: { leaderElect: true, namespace: { pollMs: 100 } },
  });
  try {
    const admin = new Client({ server: c.url });
    await admin.create(R.nodes, makeNode("node-1"));
    await admin.create(R.namespaces, { metadata: { name: "shop" } });
    await admin.create(R.deployments, {
      metadata: { name: "web", namespace: "shop" },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "web", image: "registry.local/web:1" }] },
        },
      },
    });
    await admin.create(R.services, {
      metadata: { name: "web", namespace: "shop" },
      spec: { selector: { app: "web" }, ports: [{ port: 80 }] },
    });
    const until = async (what: string, check: () => Promise<boolean>) => {
      const end = Date.now() + 20_000;
      while (!(await check())) {
        assert.ok(Date.now() < end, `timed out waiting for ${what}; denials: ${denials.join("; ")}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await until("two scheduled pods", async () => {
      const pods = (await admin.list(R.pods, "shop")).items;
      return pods.length === 2 && pods.every((p) => p.spec?.nodeName === "node-1");
    });
    await until(
      "the default ServiceAccount",
      async () => !!(await admin.tryGet(R.serviceaccounts, "shop", "default")),
    );
    await until("the Endpoints", async () => !!(await admin.tryGet(R.endpoints, "shop", "web")));
    // Namespace deletion: the controller lists and deletes every kind (pods bound to a node would
    // wait for their node agent, so this namespace holds none).
    await admin.create(R.namespaces, { metadata: { name: "tmp" } });
    await admin.create(R.configmaps, { metadata: { name: "cfg", namespace: "tmp" }, data: { a: "1" } });
    await admin.create(RBAC_REFS.roles, { metadata: { name: "r", namespace: "tmp" }, rules: [] });
    await admin.delete(R.namespaces, "", "tmp");
    await until(
      "the namespace to be emptied and removed",
      async () => !(await admin.tryGet(R.namespaces, "", "tmp")),
    );
    // Garbage collection: deleting the Deployment removes its ReplicaSet.
    await admin.delete(R.deployments, "shop", "web");
    await until(
      "the ReplicaSet to be collected",
      async () => (await admin.list(R.replicasets, "shop")).items.length === 0,
    );
    assert.deepEqual(denials, []);
  } finally {
    stop.abort();
    await components;
  }
});
