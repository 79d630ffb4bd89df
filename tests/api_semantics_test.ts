/**
 * Object semantics of the API server: server-set metadata, generation, the status subresource,
 * finalizers and deletionTimestamp, namespace lifecycle, dryRun, generateName, Service IP
 * allocation, deletecollection, CBOR, Tables and watch bookmarks.
 */
import assert from "node:assert/strict";
import { Decoder, Encoder } from "cbor-x/encode";
import { startControlPlane } from "../control/mod.ts";
import { tempDir } from "./harness.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

function client(url: string) {
  const send = async (method: string, path: string, body?: unknown, contentType = "application/json", accept?: string) => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["Content-Type"] = contentType;
    if (accept) headers.Accept = accept;
    const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { code: res.status, body: text ? JSON.parse(text) as Obj : {}, headers: res.headers };
  };
  return {
    send,
    post: (path: string, body: unknown) => send("POST", path, body),
    put: (path: string, body: unknown) => send("PUT", path, body),
    get: (path: string, accept?: string) => send("GET", path, undefined, undefined, accept),
    merge: (path: string, body: unknown) => send("PATCH", path, body, "application/merge-patch+json"),
    del: (path: string, body?: unknown) => send("DELETE", path, body),
  };
}

const DEPLOY = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "d" },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: "d" } },
    template: { metadata: { labels: { app: "d" } }, spec: { containers: [{ name: "c", image: "i:1" }] } },
  },
};

Deno.test("API object semantics", async (t) => {
  await using dir = await tempDir("skiff-semantics-");
  const cp = await startControlPlane({
    kvPath: `${dir.path}/state.kv`,
    port: 0,
    compactionIntervalMs: 0,
    hub: { bookmarkIntervalMs: 200 },
  });
  const c = client(cp.url);
  const deployments = "/apis/apps/v1/namespaces/default/deployments";
  try {
    await t.step("create sets uid and creationTimestamp; generation bumps only on spec changes", async () => {
      const created = await c.post(deployments, DEPLOY);
      assert.equal(created.code, 201);
      assert.match(created.body.metadata.uid, /^[0-9a-f-]{36}$/);
      assert.match(created.body.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(created.body.metadata.generation, 1);
      const labelled = await c.merge(`${deployments}/d`, { metadata: { labels: { x: "1" } } });
      assert.equal(labelled.body.metadata.generation, 1);
      const scaled = await c.merge(`${deployments}/d`, { spec: { replicas: 3 } });
      assert.equal(scaled.body.metadata.generation, 2);
      assert.equal(scaled.body.metadata.uid, created.body.metadata.uid);
    });

    await t.step("the main resource ignores status, and /status ignores spec", async () => {
      const viaMain = await c.merge(`${deployments}/d`, { status: { replicas: 7 } });
      assert.equal(viaMain.body.status?.replicas, undefined);
      const viaStatus = await c.merge(`${deployments}/d/status`, { status: { replicas: 7 }, spec: { replicas: 9 } });
      assert.equal(viaStatus.code, 200);
      assert.equal(viaStatus.body.status.replicas, 7);
      assert.equal(viaStatus.body.spec.replicas, 3);
    });

    await t.step("a finalizer keeps a deleted object, with deletionTimestamp, until it is removed", async () => {
      const cm = "/api/v1/namespaces/default/configmaps";
      await c.post(cm, { metadata: { name: "held", finalizers: ["example.com/hold"] } });
      const del = await c.del(`${cm}/held`);
      assert.equal(del.code, 202);
      const held = await c.get(`${cm}/held`);
      assert.equal(held.code, 200);
      assert.ok(held.body.metadata.deletionTimestamp);
      const added = await c.merge(`${cm}/held`, { metadata: { finalizers: ["example.com/hold", "new"] } });
      assert.equal(added.code, 422);
      await c.merge(`${cm}/held`, { metadata: { finalizers: null } });
      assert.equal((await c.get(`${cm}/held`)).code, 404);
    });

    await t.step("a DELETE removes a pod whose last finalizer went while an earlier DELETE was applied", async () => {
      const pods = "/api/v1/namespaces/default/pods";
      await c.post(pods, {
        metadata: { name: "raced", finalizers: ["example.com/hold"] },
        spec: { nodeName: "n1", containers: [{ name: "c", image: "registry.example/app:1" }] },
      });
      // The state that race leaves (no finalizers, no grace left, still stored), made directly.
      await cp.server.store.update(cp.server.podsResource().store, "default", "raced", (p) => {
        p.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
        p.metadata.deletionGracePeriodSeconds = 0;
        p.metadata.finalizers = [];
        return p;
      });
      const del = await c.del(`${pods}/raced`, { gracePeriodSeconds: 0 });
      assert.equal(del.code, 200);
      assert.equal((await c.get(`${pods}/raced`)).code, 404);
    });

    await t.step("delete preconditions on uid and resourceVersion give 409", async () => {
      const cm = "/api/v1/namespaces/default/configmaps";
      const made = await c.post(cm, { metadata: { name: "pre" } });
      const wrong = await c.del(`${cm}/pre`, { kind: "DeleteOptions", apiVersion: "v1", preconditions: { uid: "nope" } });
      assert.equal(wrong.code, 409);
      assert.match(wrong.body.message, /Precondition failed: UID in precondition: nope/);
      const right = await c.del(`${cm}/pre`, { preconditions: { uid: made.body.metadata.uid } });
      assert.equal(right.code, 200);
      assert.equal(right.body.status, "Success");
    });

    await t.step("a namespace being deleted is Terminating and refuses new content; system namespaces cannot be deleted", async () => {
      await c.post("/api/v1/namespaces", { metadata: { name: "doomed" } });
      const del = await c.del("/api/v1/namespaces/doomed");
      assert.ok([200, 202].includes(del.code));
      const ns = await c.get("/api/v1/namespaces/doomed");
      assert.equal(ns.body.status.phase, "Terminating");
      const refused = await c.post("/api/v1/namespaces/doomed/configmaps", { metadata: { name: "x" } });
      assert.equal(refused.code, 403);
      assert.match(refused.body.message, /unable to create new content in namespace doomed because it is being terminated/);
      const finalize = await c.put("/api/v1/namespaces/doomed/finalize", { ...ns.body, spec: { finalizers: [] } });
      assert.equal(finalize.code, 200);
      assert.equal((await c.get("/api/v1/namespaces/doomed")).code, 404);
      const protectedNs = await c.del("/api/v1/namespaces/default");
      assert.equal(protectedNs.code, 403);
    });

    await t.step("dryRun=All validates without storing; generateName makes a unique name", async () => {
      const cm = "/api/v1/namespaces/default/configmaps";
      const dry = await c.post(`${cm}?dryRun=All`, { metadata: { name: "dry" } });
      assert.equal(dry.code, 201);
      assert.equal((await c.get(`${cm}/dry`)).code, 404);
      const a = await c.post(cm, { metadata: { generateName: "gen-" } });
      const b = await c.post(cm, { metadata: { generateName: "gen-" } });
      assert.match(a.body.metadata.name, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      assert.notEqual(a.body.metadata.name, b.body.metadata.name);
    });

    await t.step("Services get unique cluster IPs from the service CIDR; a taken IP is refused; deletion frees it", async () => {
      const svcs = "/api/v1/namespaces/default/services";
      const spec = { ports: [{ port: 80 }], selector: { app: "a" } };
      const ips = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const r = await c.post(svcs, { metadata: { name: `s${i}` }, spec });
        assert.equal(r.code, 201);
        assert.match(r.body.spec.clusterIP, /^198\.19\./);
        ips.add(r.body.spec.clusterIP);
      }
      assert.equal(ips.size, 20);
      const taken = [...ips][0];
      const clash = await c.post(svcs, { metadata: { name: "clash" }, spec: { ...spec, clusterIP: taken } });
      assert.equal(clash.code, 422);
      assert.match(clash.body.message, /provided IP is already allocated/);
      const outside = await c.post(svcs, { metadata: { name: "outside" }, spec: { ...spec, clusterIP: "203.0.113.5" } });
      assert.equal(outside.code, 422);
      const owner = [...(await c.get(svcs)).body.items].find((s: Obj) => s.spec.clusterIP === taken);
      await c.del(`${svcs}/${owner.metadata.name}`);
      const reuse = await c.post(svcs, { metadata: { name: "reuse" }, spec: { ...spec, clusterIP: taken } });
      assert.equal(reuse.code, 201);
      const np = await c.post(svcs, { metadata: { name: "np" }, spec: { ...spec, type: "NodePort" } });
      assert.ok(np.body.spec.ports[0].nodePort >= 30000 && np.body.spec.ports[0].nodePort <= 32767);
      const head = await c.post(svcs, { metadata: { name: "headless" }, spec: { ...spec, clusterIP: "None" } });
      assert.equal(head.body.spec.clusterIP, "None");
      // An apply-style update that omits the cluster IP keeps it.
      const kept = await c.put(`${svcs}/reuse`, { metadata: { name: "reuse" }, spec: { ports: [{ port: 81 }], selector: { app: "b" } } });
      assert.equal(kept.code, 200);
      assert.equal(kept.body.spec.clusterIP, taken);
    });

    await t.step("deletecollection removes what the selector matches", async () => {
      const cm = "/api/v1/namespaces/default/configmaps";
      for (const n of ["k1", "k2", "k3"]) await c.post(cm, { metadata: { name: n, labels: { group: n === "k3" ? "b" : "a" } } });
      const r = await c.send("DELETE", `${cm}?labelSelector=group%3Da`);
      assert.equal(r.code, 200);
      const left = (await c.get(`${cm}?labelSelector=group`)).body.items.map((i: Obj) => i.metadata.name);
      assert.deepEqual(left, ["k3"]);
    });

    await t.step("CBOR works in both directions", async () => {
      const enc = new Encoder({ useRecords: false });
      const res = await fetch(`${cp.url}/api/v1/namespaces/default/configmaps`, {
        method: "POST",
        headers: { "Content-Type": "application/cbor", Accept: "application/cbor" },
        body: new Uint8Array(enc.encode({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cbor" }, data: { a: "1" } })) as BodyInit,
      });
      assert.equal(res.status, 201);
      assert.equal(res.headers.get("content-type"), "application/cbor");
      const obj = new Decoder({ mapsAsObjects: true }).decode(new Uint8Array(await res.arrayBuffer())) as Obj;
      assert.equal(obj.metadata.name, "cbor");
      assert.equal(obj.data.a, "1");
    });

    await t.step("as=Table returns kubectl's columns with PartialObjectMetadata rows", async () => {
      const r = await c.get(deployments, "application/json;as=Table;v=v1;g=meta.k8s.io,application/json");
      assert.equal(r.body.kind, "Table");
      assert.deepEqual(r.body.columnDefinitions.map((col: Obj) => col.name).slice(0, 5), ["Name", "Ready", "Up-to-date", "Available", "Age"]);
      assert.equal(r.body.rows[0].cells[0], "d");
      assert.equal(r.body.rows[0].object.kind, "PartialObjectMetadata");
    });

    await t.step("a watch with allowWatchBookmarks gets BOOKMARK events with a resourceVersion", async () => {
      const ac = new AbortController();
      const res = await fetch(`${cp.url}/api/v1/namespaces/default/configmaps?watch=1&allowWatchBookmarks=true&resourceVersion=${(await c.get("/api/v1/namespaces/default/configmaps")).body.metadata.resourceVersion}`, { signal: ac.signal });
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      while (!buf.includes("\n")) buf += (await reader.read()).value ?? "";
      ac.abort();
      await reader.cancel().catch(() => {});
      const ev = JSON.parse(buf.split("\n")[0]);
      assert.equal(ev.type, "BOOKMARK");
      assert.equal(ev.object.kind, "ConfigMap");
      assert.match(ev.object.metadata.resourceVersion, /^\d+$/);
    });
  } finally {
    await cp.close();
  }
});
