/**
 * How the WasmPlugins admission step calls the plugin host. A mutating Wasm plugin through the
 * real path (API server → WasmPlugins step → the plugin host's channel → runner → guest): one
 * `mutate-validate` call per plugin when its mutate does not patch, and a fresh `validate` of the
 * final object whenever the object changed after the plugin saw it (its own patch, or a later
 * plugin's). Against a stand-in host (`fetch`): the fallback for a host without
 * `mutate-validate`, validating plugins called in parallel, and the step's duration reports.
 */
import assert from "node:assert/strict";
import { Client, R } from "../control/api/client.ts";
import { type PluginObject, PLUGINS, type PluginSpec } from "../control/api/plugins.ts";
import { ApiError } from "../control/api/status.ts";
import type { KubeObject } from "../control/api/types.ts";
import { wasmAdmission } from "../control/apiserver/admission/wasm_plugins.ts";
import {
  type AdmissionDuration,
  CONTROLLER_DURATION,
  WEBHOOK_DURATION,
} from "../control/apiserver/admission/admission_duration.ts";
import { startControlPlane } from "../control/mod.ts";
import { servePluginHost } from "../cli/plugin_host.ts";
import { buildPlugin } from "../plugins/host/build.ts";
import { PluginHost } from "../plugins/host/server.ts";
import { ROOT, tempDir, testWith } from "./harness.ts";
import { NODE } from "./fixtures/build.ts";

const build = () => buildPlugin({ kind: "admission", source: `${ROOT}/tests/fixtures/plugin_stamp/plugin.ts` });

async function setup() {
  const dir = await tempDir("skiff-admission-mutating-");
  const built = await build();
  const cp = await startControlPlane({ kvPath: `${dir.path}/state.kv`, port: 0 });
  const client = new Client({ server: cp.url });
  const host = new PluginHost({ dataDir: `${dir.path}/plugin-host`, pull: () => Promise.resolve(built), client, log: () => {} });
  const served = await servePluginHost({ host, port: 0 });
  const stop = new AbortController();
  const watching = host.run(stop.signal);
  const admission = wasmAdmission(cp.server, { url: served.url });
  cp.server.admission.push(admission);
  /** Creates a mutating stamp Plugin and waits until the plugin host serves it. */
  const plugin = async (name: string, config: Record<string, string>, order: number) => {
    const spec: PluginSpec = { kind: "admission", image: `test.local/stamp@${built.digest}`, config, admission: { mutating: true, order, namespaces: ["default"] } };
    await client.create(PLUGINS, { apiVersion: "skiff.dev/v1alpha1", kind: "Plugin", metadata: { name }, spec });
    for (let i = 0; i < 400; i++) {
      const c = (await client.get<PluginObject>(PLUGINS, "", name)).status?.components?.[0];
      if (c?.conditions.some((x) => x.type === "Ready" && x.status === "True")) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`plugin ${name} did not load`);
  };
  const create = (name: string, labels?: Record<string, string>) =>
    client.create<KubeObject>(R.pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default", ...(labels ? { labels } : {}) },
      spec: { containers: [{ name: "app", image: "registry.example/app:1.0" }] },
    });
  return {
    admission,
    plugin,
    create,
    async [Symbol.asyncDispose]() {
      stop.abort();
      await watching;
      await host[Symbol.asyncDispose]();
      await served.server.shutdown();
      admission.close();
      client.close();
      await cp.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

const calls = (a: { calls: { channel: number; http: number; direct: number } }) => a.calls.channel + a.calls.http + a.calls.direct;

testWith([NODE], "a mutating plugin that does not patch is called once per write; its validate verdict is enforced in the validating phase", async () => {
  await using s = await setup();
  await s.plugin("guard", { denyLabel: "forbidden" }, 1);
  let before = calls(s.admission);
  await s.create("ok");
  assert.equal(calls(s.admission) - before, 1, "mutate and validate in one call");
  assert.equal(s.admission.stats.reused, 1);

  before = calls(s.admission);
  const denied = await s.create("bad", { forbidden: "x" }).catch((e) => e);
  assert.ok(denied instanceof ApiError, String(denied));
  assert.equal(denied.code, 403);
  assert.equal(denied.message, 'admission webhook "guard" denied the request: label forbidden is not allowed');
  assert.equal(calls(s.admission) - before, 1);
  assert.equal(s.admission.stats.reused, 2);
});

testWith([NODE], "a plugin's early validate verdict is not used once a later mutation changed the object", async () => {
  await using s = await setup();
  // guard (order 1) sees no label and validates "allowed" early; stamper (order 2) then adds the
  // label guard refuses: the final object must be validated again, and refused.
  await s.plugin("guard", { denyLabel: "forbidden" }, 1);
  await s.plugin("stamper", { stamp: "forbidden" }, 2);
  const before = calls(s.admission);
  const denied = await s.create("stamped").catch((e) => e);
  assert.ok(denied instanceof ApiError, String(denied));
  assert.equal(denied.message, 'admission webhook "guard" denied the request: label forbidden is not allowed');
  // Two mutate-validate calls, then both validate the final object (in parallel): guard, whose
  // early verdict no longer holds, refuses; stamper patched, so it had no early verdict.
  assert.equal(calls(s.admission) - before, 4);
  assert.equal(s.admission.stats.reused, 0);
});

testWith([NODE], "a plugin's own patch is applied and the patched object is validated again", async () => {
  await using s = await setup();
  await s.plugin("stamper", { stamp: "team" }, 1);
  const before = calls(s.admission);
  const pod = await s.create("p");
  assert.equal(pod.metadata.labels?.team, "yes");
  assert.equal(calls(s.admission) - before, 2);
  assert.equal(s.admission.stats.reused, 0);
  // Already stamped: no patch, one call.
  const again = calls(s.admission);
  await s.create("q", { team: "a" });
  assert.equal(calls(s.admission) - again, 1);
  assert.equal(s.admission.stats.reused, 1);
});

Deno.test("against a plugin host without mutate-validate (404), a mutating plugin gets mutate, then validate", async () => {
  await using dir = await tempDir("skiff-admission-mutating-");
  const cp = await startControlPlane({ kvPath: `${dir.path}/state.kv`, port: 0 });
  const client = new Client({ server: cp.url });
  const paths: string[] = [];
  // An older plugin host: no route for mutate-validate; allows everything else.
  const admission = wasmAdmission(cp.server, {
    url: "http://plugin-host.invalid",
    fetch: async (req) => {
      const path = new URL(req.url).pathname;
      // The direct path's table request (control/api/plugin_direct.ts): this host has none.
      if (path === "/direct") return Response.json({ kind: "Status", code: 404, message: "no route" }, { status: 404 });
      paths.push(path);
      const { request } = await req.json();
      if (path.endsWith("/mutate-validate")) return Response.json({ kind: "Status", code: 404, message: `no route for POST ${path}` }, { status: 404 });
      return Response.json({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: request.uid, allowed: true } });
    },
  });
  cp.server.admission.push(admission);
  try {
    await client.create(PLUGINS, {
      apiVersion: "skiff.dev/v1alpha1",
      kind: "Plugin",
      metadata: { name: "old" },
      spec: { kind: "admission", image: "test.local/old@sha256:0", admission: { mutating: true } } satisfies PluginSpec,
    });
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "a", namespace: "default" }, spec: { containers: [{ name: "c", image: "x:1" }] } };
    await client.create(R.pods, pod);
    await client.create(R.pods, { ...pod, metadata: { ...pod.metadata, name: "b" } });
    // The 404 is remembered (for a minute): the second write goes straight to mutate.
    assert.deepEqual(paths, [
      "/admission/old/mutate-validate",
      "/admission/old/mutate",
      "/admission/old/validate",
      "/admission/old/mutate",
      "/admission/old/validate",
    ]);
  } finally {
    admission.close();
    client.close();
    await cp.close();
  }
});

Deno.test("validating plugins are called in parallel, as upstream's validating webhooks; the first denial in declared order wins", async () => {
  await using dir = await tempDir("skiff-admission-parallel-");
  const cp = await startControlPlane({ kvPath: `${dir.path}/state.kv`, port: 0 });
  const client = new Client({ server: cp.url });
  // Each call waits until both are in flight (sequential calls would never get there), then
  // both deny; the plugin declared first answers last.
  const arrived = Promise.withResolvers<void>();
  let inFlight = 0;
  const admission = wasmAdmission(cp.server, {
    url: "http://plugin-host.invalid",
    fetch: async (req) => {
      const name = new URL(req.url).pathname.split("/")[2];
      const { request } = await req.json();
      if (++inFlight === 2) arrived.resolve();
      const timer = setTimeout(() => arrived.reject(new Error("the second call never came")), 5000);
      try {
        await arrived.promise;
      } finally {
        clearTimeout(timer);
      }
      if (name === "first") await new Promise((r) => setTimeout(r, 50));
      return Response.json({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        response: { uid: request.uid, allowed: false, status: { code: 403, message: `${name} says no` } },
      });
    },
  });
  cp.server.admission.push(admission);
  try {
    for (const [name, order] of [["first", 1], ["second", 2]] as const) {
      await client.create(PLUGINS, {
        apiVersion: "skiff.dev/v1alpha1",
        kind: "Plugin",
        metadata: { name },
        spec: { kind: "admission", image: "test.local/x@sha256:0", admission: { order } } satisfies PluginSpec,
      });
    }
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "a", namespace: "default" }, spec: { containers: [{ name: "c", image: "x:1" }] } };
    const denied = await client.create(R.pods, pod).catch((e) => e);
    assert.ok(denied instanceof ApiError, String(denied));
    assert.equal(denied.message, 'admission webhook "first" denied the request: first says no');
  } finally {
    admission.close();
    client.close();
    await cp.close();
  }
});

Deno.test("the step reports each plugin call and each phase with upstream's admission duration metrics", async () => {
  await using dir = await tempDir("skiff-admission-durations-");
  const cp = await startControlPlane({ kvPath: `${dir.path}/state.kv`, port: 0 });
  const client = new Client({ server: cp.url });
  const seen: AdmissionDuration[] = [];
  // A stand-in plugin host: "slow" validates in 30 ms; "guard" (mutating) refuses pods named bad.
  const admission = wasmAdmission(cp.server, {
    url: "http://plugin-host.invalid",
    direct: false,
    observe: (o, attrs) => void (attrs.def.plural === "pods" && seen.push(o)),
    fetch: async (req) => {
      const [, , name, phase] = new URL(req.url).pathname.split("/");
      const { request } = await req.json();
      if (name === "slow") await new Promise((r) => setTimeout(r, 30));
      const allowed = request.name !== "bad";
      const response = { uid: request.uid, allowed: true };
      const verdict = allowed ? response : { uid: request.uid, allowed, status: { code: 403, message: "no" } };
      const body = phase === "mutate-validate" ? { response, validated: verdict } : { response: name === "guard" ? verdict : response };
      return Response.json({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", ...body });
    },
  });
  cp.server.admission.push(admission);
  try {
    for (const [name, mutating] of [["guard", true], ["slow", false]] as const) {
      await client.create(PLUGINS, {
        apiVersion: "skiff.dev/v1alpha1",
        kind: "Plugin",
        metadata: { name },
        spec: { kind: "admission", image: "test.local/x@sha256:0", admission: { mutating } } satisfies PluginSpec,
      });
    }
    const pod = (name: string) => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default" }, spec: { containers: [{ name: "c", image: "x:1" }] } });
    await client.create(R.pods, pod("a"));
    const labels = (o: AdmissionDuration) => `${o.metric} ${o.name} ${o.type} ${o.operation} ${o.rejected}`;
    assert.deepEqual(seen.map(labels).sort(), [
      `${CONTROLLER_DURATION} WasmPlugins admit CREATE false`,
      `${CONTROLLER_DURATION} WasmPlugins validate CREATE false`,
      `${WEBHOOK_DURATION} guard admit CREATE false`,
      `${WEBHOOK_DURATION} slow validating CREATE false`,
    ]);
    // The slow plugin's 30 ms are in its call and in the validating phase, not in the others.
    const secs = (m: string, n: string, t: string) => seen.find((o) => o.metric === m && o.name === n && o.type === t)!.seconds;
    assert.ok(secs(WEBHOOK_DURATION, "slow", "validating") >= 0.029);
    assert.ok(secs(CONTROLLER_DURATION, "WasmPlugins", "validate") >= secs(WEBHOOK_DURATION, "slow", "validating"));
    assert.ok(secs(CONTROLLER_DURATION, "WasmPlugins", "admit") < 0.029);

    // A refusal: the mutating call carried it (rejected), and the validating phase failed with it.
    seen.length = 0;
    const denied = await client.create(R.pods, pod("bad")).catch((e) => e);
    assert.ok(denied instanceof ApiError, String(denied));
    assert.deepEqual(seen.filter((o) => o.rejected).map(labels).sort(), [
      `${CONTROLLER_DURATION} WasmPlugins validate CREATE true`,
      `${WEBHOOK_DURATION} guard admit CREATE true`,
    ]);
  } finally {
    admission.close();
    client.close();
    await cp.close();
  }
});
