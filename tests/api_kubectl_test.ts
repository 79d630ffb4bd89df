/**
 * The API server driven by the real kubectl v1.32: apply, get, watch, label/annotate/scale/patch,
 * delete --wait, discovery commands, and CRDs with their custom resources.
 */
import assert from "node:assert/strict";
import { type Cluster, kubectlTest, startCluster } from "./harness.ts";

const MANIFEST = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.local/web:1.0
        ports: [{containerPort: 8080}]
        env: [{name: MODE, value: blue}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  greeting: hello
`;

async function ok(cluster: Cluster, args: string[], stdin?: string): Promise<string> {
  const r = await cluster.kubectl(args, { stdin });
  assert.equal(r.code, 0, `kubectl ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

async function fails(cluster: Cluster, args: string[], stdin?: string): Promise<string> {
  const r = await cluster.kubectl(args, { stdin });
  assert.notEqual(r.code, 0, `kubectl ${args.join(" ")} should have failed: ${r.stdout}`);
  return r.stderr;
}

kubectlTest("kubectl works against the API server end to end", async (t) => {
  await using cluster = await startCluster();

  await t.step("apply creates, then reports unchanged, then configured after an edit", async () => {
    const first = await ok(cluster, ["apply", "-f", "-"], MANIFEST);
    assert.match(first, /deployment.apps\/web created/);
    assert.match(first, /service\/web created/);
    assert.match(first, /configmap\/web-config created/);
    const again = await ok(cluster, ["apply", "-f", "-"], MANIFEST);
    assert.match(again, /deployment.apps\/web unchanged/);
    assert.match(again, /service\/web unchanged/);
    assert.match(again, /configmap\/web-config unchanged/);
    const edited = MANIFEST.replace("web:1.0", "web:1.1").replace("greeting: hello", "greeting: hi");
    const third = await ok(cluster, ["apply", "-f", "-"], edited);
    assert.match(third, /deployment.apps\/web configured/);
    assert.match(third, /service\/web unchanged/);
    assert.match(third, /configmap\/web-config configured/);
    const image = await ok(cluster, ["get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"]);
    assert.equal(image, "registry.local/web:1.1");
    const generation = await ok(cluster, ["get", "deploy", "web", "-o", "jsonpath={.metadata.generation}"]);
    assert.equal(generation, "2");
  });

  await t.step("get prints yaml, json and wide tables with the expected columns", async () => {
    const yaml = await ok(cluster, ["get", "deploy", "web", "-o", "yaml"]);
    assert.match(yaml, /kind: Deployment/);
    assert.match(yaml, /maxSurge: 25%/);
    assert.match(yaml, /revisionHistoryLimit: 10/);
    const json = JSON.parse(await ok(cluster, ["get", "svc", "web", "-o", "json"]));
    assert.equal(json.spec.type, "ClusterIP");
    assert.match(json.spec.clusterIP, /^198\.19\.\d+\.\d+$/);
    const wide = await ok(cluster, ["get", "deploy", "-o", "wide"]);
    assert.match(wide.split("\n")[0], /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR/);
    assert.match(wide, /web\s+0\/2\s+0\s+0\s+\S+\s+web\s+registry.local\/web:1.1\s+app=web/);
    const svc = await ok(cluster, ["get", "svc", "web"]);
    assert.match(svc, /web\s+ClusterIP\s+198\.19\.\d+\.\d+\s+<none>\s+80\/TCP/);
  });

  await t.step("get -w sees a change made by another client", async () => {
    const watch = new Deno.Command("kubectl", {
      args: ["--kubeconfig", cluster.kubeconfig, "get", "configmaps", "-w", "--request-timeout=0"],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = watch.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    const until = async (re: RegExp) => {
      const deadline = Date.now() + 15_000;
      while (!re.test(seen)) {
        if (Date.now() > deadline) throw new Error(`watch output never matched ${re}: ${seen}`);
        const { value, done } = await reader.read();
        if (done) throw new Error(`watch ended early: ${seen}`);
        seen += value;
      }
    };
    try {
      await until(/web-config/);
      const res = await fetch(`${cluster.url}/api/v1/namespaces/default/configmaps`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "from-fetch" }, data: { a: "1" } }),
      });
      assert.equal(res.status, 201);
      await res.body?.cancel();
      await until(/from-fetch\s+1\s/);
    } finally {
      watch.kill("SIGTERM");
      await reader.cancel().catch(() => {});
      await watch.stderr.cancel().catch(() => {});
      await watch.status;
    }
  });

  await t.step("label, annotate and scale change the object", async () => {
    await ok(cluster, ["label", "deploy", "web", "tier=front"]);
    await ok(cluster, ["annotate", "deploy", "web", "owner=team-a"]);
    await ok(cluster, ["scale", "deploy", "web", "--replicas=5"]);
    const out = await ok(cluster, [
      "get",
      "deploy",
      "web",
      "-o",
      "jsonpath={.metadata.labels.tier} {.metadata.annotations.owner} {.spec.replicas}",
    ]);
    assert.equal(out, "front team-a 5");
    await ok(cluster, ["label", "deploy", "web", "tier-"]);
    const labels = await ok(cluster, ["get", "deploy", "web", "-o", "jsonpath={.metadata.labels}"]);
    assert.deepEqual(JSON.parse(labels), { app: "web" });
  });

  await t.step("patch works with merge, JSON and strategic merge patches", async () => {
    await ok(cluster, ["patch", "deploy", "web", "--type=merge", "-p", '{"spec":{"replicas":3}}']);
    await ok(cluster, ["patch", "deploy", "web", "--type=json", "-p", '[{"op":"replace","path":"/spec/replicas","value":4}]']);
    await ok(cluster, [
      "patch",
      "deploy",
      "web",
      "-p",
      '{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"EXTRA","value":"1"}]}]}}}}',
    ]);
    const d = JSON.parse(await ok(cluster, ["get", "deploy", "web", "-o", "json"]));
    assert.equal(d.spec.replicas, 4);
    // Strategic merge: env merged by name, the container kept its image.
    assert.deepEqual(d.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name).sort(), ["EXTRA", "MODE"]);
    assert.equal(d.spec.template.spec.containers[0].image, "registry.local/web:1.1");
    const stderr = await fails(cluster, ["patch", "deploy", "web", "--type=json", "-p", '[{"op":"test","path":"/spec/replicas","value":9}]']);
    assert.match(stderr, /test failed/);
  });

  await t.step("delete --wait returns once the object is gone", async () => {
    const out = await ok(cluster, ["delete", "configmap", "web-config", "--wait", "--timeout=20s"]);
    assert.match(out, /configmap "web-config" deleted/);
    const stderr = await fails(cluster, ["get", "configmap", "web-config"]);
    assert.match(stderr, /NotFound|not found/);
  });

  await t.step("api-resources, api-versions and version describe the server", async () => {
    const resources = await ok(cluster, ["api-resources"]);
    assert.match(resources, /deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/);
    assert.match(resources, /customresourcedefinitions\s+crd,crds\s+apiextensions.k8s.io\/v1\s+false\s+CustomResourceDefinition/);
    const versions = await ok(cluster, ["api-versions"]);
    for (const gv of ["v1", "apps/v1", "batch/v1", "coordination.k8s.io/v1", "apiextensions.k8s.io/v1"]) {
      assert.ok(versions.split("\n").includes(gv), `api-versions lacks ${gv}`);
    }
    const version = JSON.parse(await ok(cluster, ["version", "-o", "json"]));
    assert.equal(version.serverVersion.major, "1");
    assert.equal(version.serverVersion.minor, "32");
  });

  await t.step("a CRD is applied, established, and its custom resources are served and validated", async () => {
    const crd = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, shortNames: [wg]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1}
              color: {type: string, enum: [red, blue]}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
`;
    await ok(cluster, ["apply", "-f", "-"], crd);
    await ok(cluster, ["wait", "--for", "condition=established", "crd/widgets.example.com", "--timeout=20s"]);
    const cr = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3, color: red}\n";
    assert.match(await ok(cluster, ["apply", "-f", "-"], cr), /widget.example.com\/w1 created/);
    // With printer columns, the table is NAME plus exactly those columns, as upstream.
    assert.match(await ok(cluster, ["get", "wg"]), /^NAME\s+SIZE\nw1\s+3\n/);
    assert.match(await ok(cluster, ["apply", "-f", "-"], cr.replace("size: 3", "size: 4")), /configured/);
    await ok(cluster, ["patch", "wg", "w1", "--type=merge", "-p", '{"spec":{"color":"blue"}}']);
    assert.equal(await ok(cluster, ["get", "wg", "w1", "-o", "jsonpath={.spec.size} {.spec.color}"]), "4 blue");
    const bad = await fails(
      cluster,
      ["apply", "--validate=false", "-f", "-"],
      "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\nspec: {size: 0, color: green}\n",
    );
    assert.match(bad, /spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1/);
    assert.match(bad, /spec.color: Unsupported value: "green"/);
    const strict = await fails(
      cluster,
      ["apply", "-f", "-"],
      "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w3}\nspec: {size: 1, bogus: 1}\n",
    );
    assert.match(strict, /strict decoding error: unknown field "spec.bogus"/);
    await ok(cluster, ["delete", "crd", "widgets.example.com"]);
    assert.match(await fails(cluster, ["get", "widgets.example.com"]), /the server doesn't have a resource type|not find the requested resource/);
  });
});
