/**
 * The parts of the API contract kubectl relies on without saying so: field validation modes,
 * conflicts on create, internal errors that leak nothing, and the discovery and OpenAPI documents.
 */
import assert from "node:assert/strict";
import { startControlPlane } from "../control/mod.ts";
import { kubectlTest, startCluster, tempDir } from "./harness.ts";

const CM = "/api/v1/namespaces/default/configmaps";
const JSON_HEADERS = { "Content-Type": "application/json" };

function configMap(name: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { a: "1" }, ...extra });
}

Deno.test("the API contract: field validation, AlreadyExists, opaque internal errors, discovery and OpenAPI", async (t) => {
  await using dir = await tempDir();
  const cp = await startControlPlane({
    kvPath: `${dir.path}/state.kv`,
    port: 0,
    admission: [{
      name: "Exploding",
      admit(attrs) {
        if (attrs.name === "explode") throw new Error("boom at /secret/path");
      },
    }],
  });
  try {
    const url = cp.url;
    const post = (path: string, body: string) => fetch(url + path, { method: "POST", headers: JSON_HEADERS, body });

    await t.step("fieldValidation: Warn (the default) drops unknown fields with a warning, Ignore silently, Strict refuses", async () => {
      const warn = await post(CM, configMap("warned", { bogus: 1 }));
      assert.equal(warn.status, 201);
      assert.match(warn.headers.get("Warning") ?? "", /^299 - "unknown field \\?"bogus\\?""/);
      assert.equal((await warn.json()).bogus, undefined);
      const stored = await (await fetch(`${url}${CM}/warned`)).json();
      assert.equal(stored.bogus, undefined);

      const ignore = await post(`${CM}?fieldValidation=Ignore`, configMap("ignored", { bogus: 1 }));
      assert.equal(ignore.status, 201);
      assert.equal(ignore.headers.get("Warning"), null);
      await ignore.body?.cancel();

      const strict = await post(`${CM}?fieldValidation=Strict`, configMap("strict", { bogus: 1 }));
      assert.equal(strict.status, 400);
      const status = await strict.json();
      assert.equal(status.reason, "BadRequest");
      assert.match(status.message, /unknown field "bogus"/);
      assert.equal((await fetch(`${url}${CM}/strict`).then((r) => r.body?.cancel().then(() => r.status))), 404);

      const bad = await post(`${CM}?fieldValidation=Loose`, configMap("loose"));
      assert.equal(bad.status, 400);
      assert.match((await bad.json()).message, /fieldValidation/);
    });

    await t.step("creating an existing object is 409 AlreadyExists and changes nothing", async () => {
      assert.equal((await post(CM, configMap("twice")).then(async (r) => (await r.body?.cancel(), r.status))), 201);
      const again = await post(CM, JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "twice" }, data: { a: "2" } }));
      assert.equal(again.status, 409);
      const status = await again.json();
      assert.equal(status.kind, "Status");
      assert.equal(status.reason, "AlreadyExists");
      assert.equal(status.message, 'configmaps "twice" already exists');
      assert.deepEqual(status.details, { name: "twice", kind: "configmaps" });
      assert.equal((await (await fetch(`${url}${CM}/twice`)).json()).data.a, "1");
    });

    await t.step("an unexpected error is a 500 InternalError Status that shows neither the cause nor a stack", async () => {
      const res = await post(CM, configMap("explode"));
      assert.equal(res.status, 500);
      const text = await res.text();
      const status = JSON.parse(text);
      assert.equal(status.kind, "Status");
      assert.equal(status.reason, "InternalError");
      assert.equal(status.code, 500);
      assert.doesNotMatch(text, /boom|secret\/path|\bat .*\.ts:\d+/);
      // The server keeps serving.
      assert.equal((await fetch(`${url}${CM}/twice`).then(async (r) => (await r.body?.cancel(), r.status))), 200);
    });

    await t.step("discovery answers the aggregated v2 document when asked, the legacy list otherwise", async () => {
      const v2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
      const agg = await fetch(`${url}/apis`, { headers: { Accept: `${v2},application/json;q=0.9` } });
      assert.equal(agg.status, 200);
      assert.equal(agg.headers.get("Content-Type"), v2);
      const doc = await agg.json();
      assert.equal(doc.kind, "APIGroupDiscoveryList");
      const apps = doc.items.find((g: { metadata: { name: string } }) => g.metadata.name === "apps");
      const deployments = apps.versions[0].resources.find((r: { resource: string }) => r.resource === "deployments");
      assert.equal(deployments.responseKind.kind, "Deployment");
      assert.ok(deployments.subresources.some((s: { subresource: string }) => s.subresource === "scale"));

      const legacy = await (await fetch(`${url}/apis`)).json();
      assert.equal(legacy.kind, "APIGroupList");
      assert.ok(legacy.groups.some((g: { name: string }) => g.name === "apps"));
    });

    await t.step("OpenAPI v3 lists each group version and describes its operations as kubectl expects", async () => {
      const index = await (await fetch(`${url}/openapi/v3`)).json();
      assert.ok(index.paths["apis/apps/v1"]?.serverRelativeURL, "apis/apps/v1 in the OpenAPI index");
      const apps = await (await fetch(url + index.paths["apis/apps/v1"].serverRelativeURL)).json();
      const path = apps.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"];
      assert.deepEqual(path.patch["x-kubernetes-group-version-kind"], { group: "apps", version: "v1", kind: "Deployment" });
      const params = [...(path.parameters ?? []), ...(path.patch.parameters ?? [])].map((p: { name?: string; $ref?: string }) =>
        p.name ?? p.$ref
      );
      assert.ok(params.some((p) => /fieldValidation/.test(p ?? "")), `fieldValidation among ${params}`);
      const patchTypes = Object.keys(path.patch.requestBody.content);
      for (const type of ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"]) {
        assert.ok(patchTypes.includes(type), `${type} among ${patchTypes}`);
      }
    });
  } finally {
    await cp.close();
  }
});

kubectlTest("kubectl applies a kind: List, validating each item on the server", async () => {
  await using cluster = await startCluster();
  const list = JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: [
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "l1" }, data: { a: "1" } },
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "l2" }, data: { a: "2" } },
    ],
  });
  const applied = await cluster.kubectl(["apply", "-f", "-"], { stdin: list });
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /configmap\/l1 created/);
  assert.match(applied.stdout, /configmap\/l2 created/);
  // What kubectl get -o yaml prints (a List) applies back.
  const got = await cluster.kubectl(["get", "configmaps", "l1", "l2", "-o", "yaml"]);
  const again = await cluster.kubectl(["apply", "-f", "-"], { stdin: got.stdout });
  assert.equal(again.code, 0, again.stderr);
  // An unknown field in an item is still refused, by the server's strict validation.
  const bad = JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "l3" }, bogus: 1 }],
  });
  const refused = await cluster.kubectl(["apply", "-f", "-"], { stdin: bad });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /unknown field "bogus"/);
});
