/**
 * Wasm plugins end to end: components built from source during the run (cached in
 * tests/.cache/plugins), pushed to a real registry, loaded by a real plugin host (runner
 * processes), called by a real API server (kubectl apply) and a real scheduler.
 */
import assert from "node:assert/strict";
import { R } from "../control/api/client.ts";
import { Client } from "../control/api/client.ts";
import { InformerFactory } from "../control/api/informer.ts";
import { type PluginObject, PLUGINS } from "../control/api/plugins.ts";
import { wasmAdmission } from "../control/apiserver/admission/wasm_plugins.ts";
import { startControlPlane } from "../control/mod.ts";
import { defaultPlugins } from "../control/scheduler/plugins/default_plugins.ts";
import { WasmPlugins } from "../control/scheduler/plugins/wasm_plugins.ts";
import { Scheduler } from "../control/scheduler/scheduler.ts";
import { NodeInfo } from "../control/scheduler/node_info.ts";
import { nodeView, podView, type ViewContext } from "../control/scheduler/views.ts";
import { writeKubeconfig } from "../cli/kubeconfig.ts";
import { pluginFolder, pushPlugin, scaffold } from "../cli/plugin.ts";
import { registryPull, servePluginHost } from "../cli/plugin_host.ts";
import { buildPlugin } from "../plugins/host/build.ts";
import { componentImpl, runTest } from "../plugins/host/conformance.ts";
import { checkPluginShape, PluginRefusedError } from "../plugins/host/prepare.ts";
import { PluginHost } from "../plugins/host/server.ts";
import { allowedBinary, insideCidrs, underRoot } from "../plugins/host/capabilities.ts";
import { KUBECTL, ROOT, tempDir, testWith } from "./harness.ts";
import { CLANG_WASI, NODE } from "./fixtures/build.ts";
import { DOCKER_REGISTRY, startRegistry } from "./registry.ts";

const BUILTINS = {
  disallowLatest: { kind: "admission", source: `${ROOT}/plugins/admission/builtin/disallow_latest/plugin.ts` },
  requireLimits: { kind: "admission", source: `${ROOT}/plugins/admission/builtin/require_limits/plugin.ts` },
  imageLocality: { kind: "scheduler", source: `${ROOT}/plugins/scheduler/builtin/image_locality/plugin.ts` },
  labelC: { kind: "scheduler", source: `${ROOT}/plugins/scheduler/examples/label_c/plugin.c` },
  // The same C plugin as written for skiff:scheduler@0.1.0 (still loaded).
  labelCV01: { kind: "scheduler", source: `${ROOT}/plugins/scheduler/v0_1/label_c/plugin.c`, wit: `${ROOT}/plugins/scheduler/v0_1/wit` },
  hostile: { kind: "admission", source: `${ROOT}/tests/fixtures/plugin_hostile/plugin.ts` },
  shadow: { kind: "admission", source: `${ROOT}/tests/fixtures/plugin_shadow/plugin.c` },
} as const;

const build = (b: keyof typeof BUILTINS) => buildPlugin(BUILTINS[b]);

// ---------------------------------------------------------------------------------------------
// Conformance: one suite per kind, against every implementation that exists now.

if (NODE.available()) {
  for (const name of ["disallowLatest", "requireLimits", "imageLocality"] as const) {
    const b = BUILTINS[name];
    runTest(b.kind, name, async (settings) => componentImpl(b.kind, (await build(name)).bytes)(settings));
  }
}
if (CLANG_WASI.available() && NODE.available()) {
  runTest("scheduler", "labelC (C, clang + jco new)", async (settings) => componentImpl("scheduler", (await build("labelC")).bytes)(settings));
  runTest("scheduler", "labelCV01 (C, skiff:scheduler@0.1.0)", async (settings) => componentImpl("scheduler", (await build("labelCV01")).bytes)(settings));
}

// ---------------------------------------------------------------------------------------------

Deno.test("capability bounds: mount roots, binaries, pod CIDRs", () => {
  assert.ok(underRoot("/var/lib/skiff/volumes", "/var/lib/skiff/volumes/pvc-1"));
  assert.ok(!underRoot("/var/lib/skiff/volumes", "/var/lib/skiff/volumes/../../etc"));
  assert.ok(!underRoot("/var/lib/skiff/volumes", "/var/lib/skiff/volumes"));
  assert.ok(allowedBinary(["/usr/bin/crun"], "/usr/bin/crun"));
  assert.ok(!allowedBinary(["/usr/bin/crun"], "crun"));
  assert.ok(insideCidrs(["198.18.0.0/16"], "198.18.3.4/24"));
  assert.ok(!insideCidrs(["198.18.0.0/16"], "10.0.0.1/32"));
  assert.ok(!insideCidrs(["198.18.0.0/16"], "198.0.0.0/8"));
});

testWith([NODE], "a component of the wrong kind is refused with a sentence", async () => {
  const b = await build("imageLocality");
  assert.throws(() => checkPluginShape("admission", b.bytes), PluginRefusedError);
  assert.throws(() => checkPluginShape("admission", new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])), /core module/);
});

Deno.test("Plugins have no protobuf encoding: protobuf bodies get 415, protobuf-only Accept gets 406", async () => {
  await using dir = await tempDir("skiff-plugins-pb-");
  const cp = await startControlPlane({ kvPath: `${dir.path}/state.kv`, port: 0 });
  try {
    const url = `${cp.url}/apis/skiff.dev/v1alpha1/plugins`;
    const body = new Uint8Array([0x6b, 0x38, 0x73, 0x00, 0x0a, 0x00]);
    const post = await fetch(url, { method: "POST", headers: { "Content-Type": "application/vnd.kubernetes.protobuf" }, body });
    const status = await post.json();
    assert.equal(post.status, 415);
    assert.equal(status.reason, "UnsupportedMediaType");
    assert.match(status.message, /accepted media types include: application\/json, application\/yaml, application\/cbor/);
    const get = await fetch(url, { headers: { Accept: "application/vnd.kubernetes.protobuf" } });
    assert.equal(get.status, 406);
    assert.equal((await get.json()).reason, "NotAcceptable");
    // kubectl's usual Accept (protobuf first, then JSON) gets JSON.
    const list = await fetch(url, { headers: { Accept: "application/vnd.kubernetes.protobuf, application/json" } });
    assert.equal(list.status, 200);
    assert.equal((await list.json()).kind, "PluginList");
  } finally {
    await cp.close();
  }
});

/** A control plane with the WasmPlugins admission step, a plugin host, a registry. */
async function setup() {
  const dir = await tempDir("skiff-plugins-");
  const registry = await startRegistry();
  const cp = await startControlPlane({ kvPath: `${dir.path}/state.kv`, port: 0 });
  const client = new Client({ server: cp.url });
  const logs: string[] = [];
  const host = new PluginHost({ dataDir: `${dir.path}/plugin-host`, pull: registryPull(`${dir.path}/blobs`), client, log: (l) => logs.push(l) });
  const served = await servePluginHost({ host, port: 0 });
  const stop = new AbortController();
  const watching = host.run(stop.signal);
  const admission = wasmAdmission(cp.server, { url: served.url });
  cp.server.admission.push(admission);
  const kubeconfig = `${dir.path}/kubeconfig`;
  await writeKubeconfig(kubeconfig, cp.url);
  const kubectl = async (args: string[], stdin?: string) => {
    const child = new Deno.Command("kubectl", {
      args: ["--kubeconfig", kubeconfig, "--cache-dir", `${dir.path}/kcache`, ...args],
      stdin: stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (stdin) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(stdin));
      await w.close();
    }
    const out = await child.output();
    return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
  };
  const push = async (name: string, bytes: Uint8Array, kind: "admission" | "scheduler") => {
    const ref = `${registry.host}/plugins/${name}:1`;
    const digest = await pushPlugin(ref, bytes, kind, `${dir.path}/push-blobs`);
    return `${registry.host}/plugins/${name}@${digest}`;
  };
  /** Applies a Plugin and waits until the plugin host runs that generation. */
  const apply = async (p: Omit<PluginObject, "apiVersion" | "kind">) => {
    const r = await kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "skiff.dev/v1alpha1", kind: "Plugin", ...p }));
    assert.equal(r.code, 0, r.stderr);
    return await waitReady(p.metadata.name!);
  };
  const waitReady = async (name: string) => {
    for (let i = 0; i < 400; i++) {
      const obj = await client.get<PluginObject>(PLUGINS, "", name);
      const c = obj.status?.components?.find((c) => c.name === "plugin-host");
      if (c && c.observedGeneration === obj.metadata.generation && c.conditions.some((x) => x.type === "Loaded")) return obj;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`plugin ${name} never loaded: ${logs.join("\n")}`);
  };
  return {
    dir,
    cp,
    client,
    host,
    logs,
    url: served.url,
    kubectl,
    push,
    apply,
    async [Symbol.asyncDispose]() {
      stop.abort();
      await watching;
      await host[Symbol.asyncDispose]();
      await served.server.shutdown();
      admission.close();
      client.close();
      await cp.close();
      await registry[Symbol.asyncDispose]();
      await dir[Symbol.asyncDispose]();
    },
  };
}

const pod = (name: string, image: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", ...extra },
    spec: { containers: [{ name: "app", image, resources: { limits: { cpu: "100m", memory: "64Mi" } } }] },
  });

testWith([NODE, KUBECTL, DOCKER_REGISTRY], "scaffold, build, push and apply an admission plugin: kubectl apply is denied with its message, a compliant pod passes", async () => {
  await using s = await setup();
  const dir = `${s.dir.path}/team-label`;
  await scaffold("admission", "team-label", dir);
  for (const f of ["plugin.ts", "plugin.yaml", "plugin_test.ts", "wit/admission.wit", "wit/deps/host/host.wit"]) {
    assert.ok((await Deno.stat(`${dir}/${f}`)).isFile, f);
  }
  assert.ok([...Deno.readDirSync(`${dir}/types/interfaces`)].some((e) => e.name === "skiff-admission-policy.d.ts"));
  const f = await pluginFolder(dir);
  // The shared build cache: the scaffold is the same every run, so it is built once.
  const built = await buildPlugin({ kind: f.kind, source: f.source });
  const image = await s.push("team-label", built.bytes, "admission");
  const plugin = await s.apply({
    metadata: { name: "team-label" },
    spec: {
      kind: "admission",
      image,
      config: { label: "team" },
      grants: [{ capability: "log" }],
      timeoutSeconds: 2,
      admission: { rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }] },
    },
  });
  const comp = plugin.status!.components!.find((c) => c.name === "plugin-host")!;
  assert.equal(comp.digest, image.split("@")[1]);
  assert.ok(comp.conditions.every((c) => c.status === "True"), JSON.stringify(comp));

  const denied = await s.kubectl(["apply", "-f", "-"], pod("no-team", "app:1"));
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /admission webhook "team-label" denied the request: pods need the label team/);
  const ok = await s.kubectl(["apply", "-f", "-"], pod("with-team", "app:1", { labels: { team: "a" } }));
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(s.logs.some((l) => l.includes("plugin team-label [info]: denied default/no-team")), "the log capability reached the host");
  const list = await s.kubectl(["get", "plugins"]);
  assert.match(list.stdout, /team-label\s+admission\s+\S+\s+1\/1/);

  // The built-ins load through the same path: pinned images and limits.
  await s.apply({
    metadata: { name: "disallow-latest" },
    spec: { kind: "admission", image: await s.push("disallow-latest", (await build("disallowLatest")).bytes, "admission") },
  });
  await s.apply({
    metadata: { name: "require-limits" },
    spec: { kind: "admission", image: await s.push("require-limits", (await build("requireLimits")).bytes, "admission") },
  });
  const latest = await s.kubectl(["apply", "-f", "-"], pod("latest", "nginx:latest", { labels: { team: "a" } }));
  assert.match(latest.stderr, /admission webhook "disallow-latest" denied the request: container "app" image "nginx:latest" uses the latest tag/);
  const noLimits = JSON.parse(pod("nolimits", "nginx:1.27", { labels: { team: "a" } }));
  delete noLimits.spec.containers[0].resources;
  const nl = await s.kubectl(["apply", "-f", "-"], JSON.stringify(noLimits));
  assert.match(nl.stderr, /admission webhook "require-limits" denied the request: container "app" has no cpu and memory limit/);

  // Hot replace: new settings (a new generation) take effect without a restart.
  const before = s.host.list().find((p) => p.name === "require-limits")!;
  await s.apply({
    metadata: { name: "require-limits" },
    spec: {
      kind: "admission",
      image: (await s.client.get<PluginObject>(PLUGINS, "", "require-limits")).spec.image,
      config: { resources: ["memory"] },
    },
  });
  const after = s.host.list().find((p) => p.name === "require-limits")!;
  assert.notEqual(after.pid, before.pid, "a new runner serves the new generation");
  const cpuOnly = JSON.parse(pod("memonly", "nginx:1.27", { labels: { team: "a" } }));
  cpuOnly.spec.containers[0].resources = { limits: { memory: "64Mi" } };
  const passes = await s.kubectl(["apply", "-f", "-"], JSON.stringify(cpuOnly));
  assert.equal(passes.code, 0, passes.stderr);

  // A generation that fails to load leaves the previous one serving, and says so.
  const broken = await s.apply({
    metadata: { name: "require-limits" },
    spec: { kind: "admission", image: (await s.client.get<PluginObject>(PLUGINS, "", "require-limits")).spec.image, config: { resources: "cpu" } },
  });
  const bc = broken.status!.components!.find((c) => c.name === "plugin-host")!;
  assert.deepEqual(bc.conditions.map((c) => [c.type, c.status, c.reason]), [["Loaded", "False", "ConfigInvalid"], ["Ready", "True", "PreviousVersion"]]);
  const stillMemory = JSON.parse(pod("nomem", "nginx:1.27", { labels: { team: "a" } }));
  stillMemory.spec.containers[0].resources = { limits: { cpu: "100m" } };
  const nm = await s.kubectl(["apply", "-f", "-"], JSON.stringify(stillMemory));
  assert.match(nm.stderr, /admission webhook "require-limits" denied the request: container "app" has no memory limit/);

  // Unload: deleting the Plugin lets the pod through.
  assert.equal((await s.kubectl(["delete", "plugin", "disallow-latest"])).code, 0);
  for (let i = 0; i < 100 && s.host.list().some((p) => p.name === "disallow-latest"); i++) await new Promise((r) => setTimeout(r, 50));
  const now = await s.kubectl(["apply", "-f", "-"], pod("latest2", "nginx:latest", { labels: { team: "a" } }));
  assert.equal(now.code, 0, now.stderr);

  // The Plugin kind validates its spec.
  const bad = await s.kubectl(["apply", "-f", "-"], JSON.stringify({
    apiVersion: "skiff.dev/v1alpha1",
    kind: "Plugin",
    metadata: { name: "bad" },
    spec: { kind: "firewall", image: "x", timeoutSeconds: 99, grants: [{ capability: "root" }] },
  }));
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /spec\.kind: Unsupported value: "firewall"/);
  assert.match(bad.stderr, /spec\.timeoutSeconds/);
  assert.match(bad.stderr, /spec\.grants\[0\]\.capability/);
});

testWith([NODE, KUBECTL, DOCKER_REGISTRY, CLANG_WASI], "hostile plugins are contained: loop, memory bomb, ungranted capability, garbage, a read of /etc/shadow", async () => {
  await using s = await setup();
  const image = await s.push("hostile", (await build("hostile")).bytes, "admission");
  const hostile = (mode: string, failurePolicy = "Fail") => ({
    metadata: { name: `hostile-${mode}` },
    spec: {
      kind: "admission" as const,
      image,
      config: { mode },
      failurePolicy: failurePolicy as "Fail",
      // The memory bomb gets time enough to reach its cap on a loaded machine: its case is the cap.
      timeoutSeconds: mode === "memory" ? 10 : 1,
      memory: "32Mi",
      admission: { namespaces: [mode] },
    },
  });
  for (const mode of ["loop", "memory", "capability", "garbage"]) {
    await s.kubectl(["create", "namespace", mode]);
    await s.apply(hostile(mode));
  }
  // A C guest (wasi-libc) that fopen()s /etc/shadow on every call and reports the outcome in
  // its denial: it has no preopened directory, so libc cannot resolve the path.
  await s.kubectl(["create", "namespace", "shadow"]);
  await s.apply({
    metadata: { name: "hostile-shadow" },
    spec: { kind: "admission", image: await s.push("shadow", (await build("shadow")).bytes, "admission"), admission: { namespaces: ["shadow"] } },
  });
  const shadow = await s.kubectl(["apply", "-f", "-"], pod("p", "app:1").replace('"default"', '"shadow"'));
  assert.notEqual(shadow.code, 0);
  assert.match(shadow.stderr, /admission webhook "hostile-shadow" denied the request: open \/etc\/shadow failed: Capabilities insufficient/);
  assert.doesNotMatch(shadow.stderr, /read \d+ bytes/);
  const cases: [string, RegExp][] = [
    ["loop", /failed calling webhook "hostile-loop": Timeout: the plugin ran past its 1s deadline and was killed/],
    ["memory", /failed calling webhook "hostile-memory": MemoryLimit: the plugin ran out of memory \(limit 32 MiB\)/],
    ["capability", /failed calling webhook "hostile-capability": CapabilityDenied: plugin "hostile-capability" called skiff:host\/state.get, which is not granted/],
    ["garbage", /failed calling webhook "hostile-garbage": MalformedResult: the plugin answered garbage: a denial's code must be 0 or 400–599, not 7/],
  ];
  for (const [mode, re] of cases) {
    const t0 = performance.now();
    const r = await s.kubectl(["apply", "-f", "-"], pod("p", "app:1").replace('"default"', `"${mode}"`));
    assert.notEqual(r.code, 0, mode);
    assert.match(r.stderr, re);
    assert.match(r.stderr, /Internal error occurred/);
    if (mode === "loop") assert.ok(performance.now() - t0 < 8000, "the spinning guest was cut at its deadline");
  }
  // The host survived, and so did the other plugins; the loop's runner was restarted.
  assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
  for (let i = 0; i < 100 && !s.host.list().find((p) => p.name === "hostile-loop")?.ready; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const loop = s.host.list().find((p) => p.name === "hostile-loop")!;
  assert.ok(loop.ready && loop.restarts >= 1, JSON.stringify(loop));
  // Status shows the error.
  for (let i = 0; i < 60; i++) {
    const obj = await s.client.get<PluginObject>(PLUGINS, "", "hostile-memory");
    if (obj.status?.components?.[0]?.lastError) {
      assert.equal(obj.status.components[0].lastError.reason, "MemoryLimit");
      break;
    }
    assert.ok(i < 59, "lastError recorded");
    await new Promise((r) => setTimeout(r, 100));
  }
  // failurePolicy Ignore lets the write through.
  await s.apply({ ...hostile("loop", "Ignore") });
  const ignored = await s.kubectl(["apply", "-f", "-"], pod("p2", "app:1").replace('"default"', '"loop"'));
  assert.equal(ignored.code, 0, ignored.stderr);
  // A Plugin whose settings the plugin refuses reports it.
  await s.apply({
    metadata: { name: "bad-settings" },
    spec: { kind: "admission", image: await s.push("require-limits", (await build("requireLimits")).bytes, "admission"), config: { resources: "cpu" } },
  });
  const st = (await s.client.get<PluginObject>(PLUGINS, "", "bad-settings")).status!.components![0];
  const loaded = st.conditions.find((c) => c.type === "Loaded")!;
  assert.equal(loaded.status, "False");
  assert.equal(loaded.reason, "ConfigInvalid");
  assert.match(loaded.message, /resources must be a list of resource names/);
});

testWith([NODE, CLANG_WASI, DOCKER_REGISTRY], "scheduler plugins change placement: a C filter and the image-locality score", async () => {
  await using s = await setup();
  const mkNode = (name: string, labels: Record<string, string>, images: string[] = []) =>
    s.client.create(R.nodes, {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, labels: { "kubernetes.io/hostname": name, ...labels } },
      status: {
        allocatable: { cpu: "4", memory: "8Gi", pods: "110" },
        capacity: { cpu: "4", memory: "8Gi", pods: "110" },
        conditions: [{ type: "Ready", status: "True" }],
        images: images.map((n) => ({ names: [n], sizeBytes: 500 << 20 })),
      },
    });
  await mkNode("n-reject", { "skiff.dev/c-reject": "true" }, ["registry.example/big:1"]);
  await mkNode("n-cached", {}, ["registry.example/big:1"]);
  await mkNode("n-plain", {});
  const informers = new InformerFactory(s.client);
  const wasm = new WasmPlugins({ url: s.url, informers });
  const scheduler = new Scheduler({
    client: s.client,
    informers,
    leaderElection: false,
    plugins: [...defaultPlugins(), { plugin: wasm, weight: 1 }],
  });
  const stop = new AbortController();
  const running = scheduler.run(stop.signal);
  try {
    await s.apply({ metadata: { name: "label-c" }, spec: { kind: "scheduler", image: await s.push("label-c", (await build("labelC")).bytes, "scheduler") } });
    await s.apply({
      metadata: { name: "image-locality" },
      spec: { kind: "scheduler", image: await s.push("image-locality", (await build("imageLocality")).bytes, "scheduler"), scheduler: { filter: false } },
    });
    for (let i = 0; i < 200 && wasm.plugins().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(wasm.plugins().length, 2, "the scheduler's informer never saw both scheduler Plugins");
    const placed: string[] = [];
    for (let i = 0; i < 4; i++) {
      const name = `big-${i}`;
      await s.client.create(R.pods, JSON.parse(pod(name, "registry.example/big:1")));
      for (let j = 0;; j++) {
        const p = await s.client.get(R.pods, "default", name);
        if (p.spec?.nodeName) {
          placed.push(p.spec.nodeName);
          break;
        }
        assert.ok(j < 800, `pod ${name} was not scheduled within 20 s: ${JSON.stringify(p.status)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    // Without plugins the nodes tie; the C filter removes n-reject, image locality prefers n-cached.
    assert.deepEqual(placed, ["n-cached", "n-cached", "n-cached", "n-cached"]);
    // A pod only n-reject could take: the plugin's reason reaches its PodScheduled condition
    // (Unschedulable), as a built-in filter's would.
    const pinned = JSON.parse(pod("pinned", "registry.example/big:1"));
    pinned.spec.nodeSelector = { "kubernetes.io/hostname": "n-reject" };
    await s.client.create(R.pods, pinned);
    for (let j = 0;; j++) {
      const p = await s.client.get(R.pods, "default", "pinned");
      const c = (p.status?.conditions ?? []).find((x: { type: string }) => x.type === "PodScheduled");
      if (c?.status === "False" && /label-c: node is labelled skiff.dev\/c-reject=true/.test(c.message ?? "")) {
        assert.equal(c.reason, "Unschedulable");
        assert.equal(p.spec.nodeName, undefined);
        break;
      }
      assert.ok(j < 800, `pod pinned never reported the plugin's reason: ${JSON.stringify(p.status)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    // The same plugins through the plugin host in this process (WasmPluginsOptions.host): the
    // same Filter answer, with no channel in between.
    const local = new WasmPlugins({ url: "http://unused.invalid", informers, host: s.host });
    try {
      const ctx = { priorityClasses: { get: () => undefined, globalDefault: () => undefined }, runtimeClass: () => undefined } as unknown as ViewContext;
      const infos = (await s.client.list(R.nodes)).items
        .sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!))
        .map((n) => new NodeInfo(nodeView(n)));
      const answers = await local.filterBatch(podView(await s.client.get(R.pods, "default", "pinned"), ctx), infos);
      assert.deepEqual(infos.map((i) => i.node.name), ["n-cached", "n-plain", "n-reject"]);
      assert.equal(answers[0], null);
      assert.equal(answers[1], null);
      assert.equal(answers[2]?.code, "UnschedulableAndUnresolvable");
      assert.match(answers[2]?.reasons.join() ?? "", /^label-c: node is labelled skiff.dev\/c-reject=true/);
      assert.deepEqual(local.transport, { channel: 0, http: 0 });
      assert.equal(local.stats.failures, 0);
    } finally {
      local.close();
    }
    assert.ok(wasm.stats.calls >= 4 && wasm.stats.failures === 0, JSON.stringify(wasm.stats));
    // Every call travelled straight to the plugins' runners (the direct path, once the host named
    // their sockets) or over the plugin host's channel, none over per-call HTTP.
    assert.ok(wasm.direct!.calls >= 1, JSON.stringify(wasm.direct));
    assert.ok(wasm.transport.channel >= 1 && wasm.transport.http === 0, JSON.stringify(wasm.transport));
    // Unchanged nodes travel as references to the caller's session cache; one the host does not
    // hold is a 409 NodeCacheMiss (the scheduler then resends every node in full).
    const miss = await fetch(`${s.url}/scheduler/cycle`, {
      method: "POST",
      body: JSON.stringify({ plugins: [{ name: "label-c", filter: true, score: true }], pod: {}, nodes: [{ name: "n-plain", cached: true }], session: "unknown" }),
    });
    assert.equal(miss.status, 409);
    assert.equal((await miss.json()).reason, "NodeCacheMiss");
  } finally {
    stop.abort();
    await running;
    // The factory is the test's: the scheduler starts shared informers but leaves stopping them
    // to their owner (open watches would keep the API server from shutting down).
    await informers.stop();
    wasm.close();
  }
});
