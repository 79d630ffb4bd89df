/**
 * The API server driven by the official JavaScript client, @kubernetes/client-node: CRUD, an
 * informer seeing every change in order, a stale update refused with 409, and a 410 after
 * compaction followed by a relist.
 */
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { startControlPlane } from "../control/mod.ts";
import { tempDir } from "./harness.ts";

/** A KubeConfig for a plain-HTTP test server (client-node refuses HTTP without skipTLSVerify). */
function kubeConfig(server: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "skiff", server, skipTLSVerify: true }],
    users: [{ name: "admin", token: "unused" }],
    contexts: [{ name: "skiff", cluster: "skiff", user: "admin" }],
    currentContext: "skiff",
  });
  return kc;
}

async function withControlPlane(fn: (url: string, cp: Awaited<ReturnType<typeof startControlPlane>>) => Promise<void>) {
  await using dir = await tempDir("skiff-client-node-");
  const cp = await startControlPlane({ kvPath: `${dir.path}/state.kv`, port: 0, compactionIntervalMs: 0 });
  try {
    await fn(cp.url, cp);
  } finally {
    await cp.close();
  }
}

function status(e: unknown): number | undefined {
  return (e as { code?: number }).code;
}

Deno.test("client-node creates, reads, lists, replaces, patches and deletes objects", () =>
  withControlPlane(async (url) => {
    const core = kubeConfig(url).makeApiClient(k8s.CoreV1Api);
    const apps = kubeConfig(url).makeApiClient(k8s.AppsV1Api);
    const created = await core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "settings", labels: { app: "a" } }, data: { mode: "blue" } },
    });
    assert.match(created.metadata!.resourceVersion!, /^[1-9]\d*$/);
    assert.ok(created.metadata!.uid);
    const read = await core.readNamespacedConfigMap({ name: "settings", namespace: "default" });
    assert.equal(read.data!.mode, "blue");
    const listed = await core.listNamespacedConfigMap({ namespace: "default", labelSelector: "app=a" });
    assert.deepEqual(listed.items.map((i) => i.metadata!.name), ["settings"]);
    read.data!.mode = "green";
    const replaced = await core.replaceNamespacedConfigMap({ name: "settings", namespace: "default", body: read });
    assert.equal(replaced.data!.mode, "green");
    const patched = await core.patchNamespacedConfigMap(
      { name: "settings", namespace: "default", body: { data: { extra: "1" } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    assert.deepEqual(patched.data, { mode: "green", extra: "1" });
    const deployment = await apps.createNamespacedDeployment({
      namespace: "default",
      body: {
        metadata: { name: "web" },
        spec: {
          selector: { matchLabels: { app: "web" } },
          template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "web:1" }] } },
        },
      },
    });
    assert.equal(deployment.spec!.replicas, 1);
    assert.equal(deployment.spec!.strategy!.type, "RollingUpdate");
    await core.deleteNamespacedConfigMap({ name: "settings", namespace: "default" });
    await assert.rejects(
      core.readNamespacedConfigMap({ name: "settings", namespace: "default" }),
      (e) => status(e) === 404,
    );
  }));

Deno.test("client-node gets 409 Conflict for an update with a stale resourceVersion", () =>
  withControlPlane(async (url) => {
    const core = kubeConfig(url).makeApiClient(k8s.CoreV1Api);
    const first = await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "c" }, data: { n: "0" } } });
    const stale = structuredClone(first);
    first.data!.n = "1";
    await core.replaceNamespacedConfigMap({ name: "c", namespace: "default", body: first });
    stale.data!.n = "2";
    await assert.rejects(
      core.replaceNamespacedConfigMap({ name: "c", namespace: "default", body: stale }),
      (e) => status(e) === 409 && /the object has been modified/.test(String((e as { body?: string }).body)),
    );
    const now = await core.readNamespacedConfigMap({ name: "c", namespace: "default" });
    assert.equal(now.data!.n, "1");
  }));

Deno.test("a client-node informer sees every change, in order", () =>
  withControlPlane(async (url) => {
    const kc = kubeConfig(url);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "pre" }, data: { v: "0" } } });
    const seen: string[] = [];
    const informer = k8s.makeInformer(
      kc,
      "/api/v1/namespaces/default/configmaps",
      () => core.listNamespacedConfigMap({ namespace: "default" }),
    );
    const done = Promise.withResolvers<void>();
    const record = (type: string) => (o: k8s.V1ConfigMap) => {
      seen.push(`${type} ${o.metadata!.name} ${o.data?.v ?? ""}`);
      if (seen.length === 7) done.resolve();
    };
    informer.on("add", record("add"));
    informer.on("update", record("update"));
    informer.on("delete", record("delete"));
    await informer.start();
    try {
      await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "a" }, data: { v: "1" } } });
      for (const v of ["2", "3"]) {
        await core.patchNamespacedConfigMap(
          { name: "a", namespace: "default", body: { data: { v } } },
          k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
        );
      }
      await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "b" }, data: { v: "1" } } });
      await core.deleteNamespacedConfigMap({ name: "a", namespace: "default" });
      await core.deleteNamespacedConfigMap({ name: "pre", namespace: "default" });
      const timeout = setTimeout(() => done.reject(new Error(`informer saw only: ${seen.join("; ")}`)), 10_000);
      await done.promise.finally(() => clearTimeout(timeout));
      assert.deepEqual(seen, [
        "add pre 0",
        "add a 1",
        "update a 2",
        "update a 3",
        "add b 1",
        "delete a 3",
        "delete pre 0",
      ]);
    } finally {
      await informer.stop();
    }
  }));

Deno.test("a watch from a compacted resourceVersion gets 410 Expired, and a relist recovers", () =>
  withControlPlane(async (url, cp) => {
    const kc = kubeConfig(url);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const first = await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "x" }, data: { v: "1" } } });
    const oldRv = first.metadata!.resourceVersion!;
    await core.patchNamespacedConfigMap(
      { name: "x", namespace: "default", body: { data: { v: "2" } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    // Compaction keeps what is not older than its cutoff (now): the patch must be at least 1 ms
    // old, or it stays and the old resourceVersion is still watchable.
    await new Promise((r) => setTimeout(r, 5));
    await cp.server.compact(0);
    // The watch is refused with an ERROR event carrying a 410 Status, as upstream.
    const watch = new k8s.Watch(kc);
    const error = Promise.withResolvers<{ type: string; code?: number; reason?: string }>();
    const req = await watch.watch(
      "/api/v1/namespaces/default/configmaps",
      { resourceVersion: oldRv },
      (type, obj) => error.resolve({ type, code: obj.code, reason: obj.reason }),
      (err) => err && error.reject(err),
    );
    const ev = await error.promise;
    req.abort();
    assert.deepEqual(ev, { type: "ERROR", code: 410, reason: "Expired" });
    // A relist gives the current state and a resourceVersion a new watch can start from.
    const relisted = await core.listNamespacedConfigMap({ namespace: "default" });
    assert.equal(relisted.items.find((i) => i.metadata!.name === "x")!.data!.v, "2");
    const next = Promise.withResolvers<string>();
    const req2 = await watch.watch(
      "/api/v1/namespaces/default/configmaps",
      { resourceVersion: relisted.metadata!.resourceVersion },
      (type, obj) => next.resolve(`${type} ${obj.metadata?.name}`),
      (err) => err && next.reject(err),
    );
    await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "y" } } });
    assert.equal(await next.promise, "ADDED y");
    req2.abort();
  }));
