/**
 * Plugin benchmarks (issue 6), each next to a raw baseline measured in the same run:
 *
 * - **Admission.** The latency one Wasm admission plugin (the built-in `disallow-latest`, a
 *   QuickJS guest) adds to a pod create, through the real path: API server → WasmPlugins
 *   admission step → the plugin host's channel (one TCP connection) → the plugin's runner
 *   process → the guest. Creates alternate between a namespace the plugin applies to and one it
 *   does not (the baseline, which still runs the step's matching), so drift in load hits both
 *   alike; the figures are the differences of the p99s and p50s.
 * - **Scheduling.** Pods bound per second by the real scheduler with one Wasm filter + score
 *   plugin against built-ins only, on the same seeded cluster; the built-ins-only phase runs
 *   before and after and is averaged. Two guests: the C example `label-c` (a compiled guest, as
 *   Rust or TinyGo plugins are) and the TypeScript built-in `image-locality` (QuickJS), each
 *   with both extension points on.
 *
 * Processes as in `./skiff up`: the API server and the plugin host are child processes of this
 * file (`--serve-api`, `--plugin-host`), each plugin runs in its own runner process, and the
 * client (admission) or the scheduler (scheduling) runs here. Plugin images are served from the
 * repository's sources (built and cached as the tests do), not a registry: pulling is not
 * measured. The CNI figure of the issue (add + del through a network plugin against Debian's
 * bridge + host-local binaries) is not measured: node agents do not load network plugins yet.
 *
 * Run alone: `deno run -A tests/bench/plugins.ts`.
 * @module
 */
import { Client, R } from "../../control/api/client.ts";
import { InformerFactory } from "../../control/api/informer.ts";
import { PluginHostCaller } from "../../control/api/plugin_channel.ts";
import { type PluginKind, type PluginObject, PLUGINS, type PluginSpec } from "../../control/api/plugins.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { wasmAdmission } from "../../control/apiserver/admission/wasm_plugins.ts";
import { startControlPlane } from "../../control/mod.ts";
import { defaultPlugins } from "../../control/scheduler/plugins/default_plugins.ts";
import { WasmPlugins } from "../../control/scheduler/plugins/wasm_plugins.ts";
import { Scheduler } from "../../control/scheduler/scheduler.ts";
import { makeNode, makePod } from "../../control/scheduler/testing.ts";
import { servePluginHost } from "../../cli/plugin_host.ts";
import { buildPlugin } from "../../plugins/host/build.ts";
import { PluginHost } from "../../plugins/host/server.ts";
import { type BenchRow, percentile, table } from "./bench_row.ts";

const ROOT = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");
const CREATES = 1_000;
const NODES = 500;
const PODS = 2_000;
const CONCURRENCY = 32;
const IMAGE = "registry.example/app:1.0";

/** The plugins the benchmark loads, by name: kind and source. */
const SOURCES: Record<string, { kind: PluginKind; source: string }> = {
  "disallow-latest": { kind: "admission", source: "plugins/admission/builtin/disallow_latest/plugin.ts" },
  "image-locality": { kind: "scheduler", source: "plugins/scheduler/builtin/image_locality/plugin.ts" },
  "label-c": { kind: "scheduler", source: "plugins/scheduler/examples/label_c/plugin.c" },
};

const build = (name: string) =>
  buildPlugin({ kind: SOURCES[name].kind, source: `${ROOT}/${SOURCES[name].source}` });

/** Runs this file as a child with `args`; resolves when it prints `URL <url>`. */
async function child(args: string[]): Promise<{ url: string; stop(): Promise<void> }> {
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${ROOT}/deno.json`, Deno.env.get("S4_PROF") ?? new URL(import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  while (!buf.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the child ${args[0]} exited before listening`);
    buf += value;
  }
  return {
    url: buf.split("\n")[0].replace(/^URL /, "").trim(),
    async stop() {
      proc.kill("SIGTERM");
      await reader.cancel().catch(() => {});
      await proc.status;
    },
  };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const untilSigterm = () => new Promise<void>((resolve) => Deno.addSignalListener("SIGTERM", () => resolve()));

/** Child: an API server on `kvPath`, with the WasmPlugins admission step when a plugin host URL is given. */
async function serveApi(kvPath: string, pluginHostUrl?: string): Promise<void> {
  const cp = await startControlPlane({ kvPath, port: 0, compactionIntervalMs: 0 });
  const admission = pluginHostUrl ? wasmAdmission(cp.server, { url: pluginHostUrl }) : null;
  if (admission) cp.server.admission.push(admission);
  console.log(`URL ${cp.url}`);
  await untilSigterm();
  admission?.close();
  await cp.close().catch(() => {});
  Deno.exit(0);
}

/** Child: a plugin host on `port` watching the API server at `apiUrl`; images `bench.local/<name>@<digest>`. */
async function servePlugins(apiUrl: string, port: number, dataDir: string): Promise<void> {
  const client = new Client({ server: apiUrl });
  const host = new PluginHost({
    dataDir,
    client,
    log: () => {},
    pull: async (image) => {
      const name = /^bench\.local\/([^@]+)@/.exec(image)?.[1] ?? "";
      if (!SOURCES[name]) throw new Error(`no image ${image}`);
      const b = await build(name);
      return { digest: b.digest, bytes: b.bytes };
    },
  });
  const served = await servePluginHost({ host, port });
  const stop = new AbortController();
  const running = host.run(stop.signal);
  console.log(`URL ${served.url}`);
  await untilSigterm();
  stop.abort();
  await running;
  await host[Symbol.asyncDispose]();
  await served.server.shutdown();
  client.close();
  Deno.exit(0);
}

/** Creates a Plugin of a benchmark source and waits until the plugin host runs it. */
async function loadPlugin(client: Client, name: string, spec: Partial<PluginSpec> = {}): Promise<void> {
  const built = await build(name);
  const image = `bench.local/${name}@${built.digest}`;
  await client.create(PLUGINS, {
    apiVersion: "skiff.dev/v1alpha1",
    kind: "Plugin",
    metadata: { name },
    spec: { kind: SOURCES[name].kind, image, ...spec },
  });
  for (let i = 0;; i++) {
    const p = await client.get<PluginObject>(PLUGINS, "", name);
    const c = p.status?.components?.[0];
    if (c?.conditions.some((x) => x.type === "Loaded" && x.status === "True")) return;
    if (i > 1200) throw new Error(`plugin ${name} did not load in 60 s: ${JSON.stringify(p.status)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A cluster for one phase: API server and (optionally) plugin host children, a client. */
async function cluster(opts: { admission: boolean; plugins: boolean }) {
  const dir = await Deno.makeTempDir({ prefix: "skiff-bench-plugins-" });
  const port = freePort();
  const hostUrl = `http://127.0.0.1:${port}`;
  const api = await child(["--serve-api", `${dir}/state.kv`, ...(opts.admission ? [hostUrl] : [])]);
  const plugins = opts.plugins
    ? await child(["--plugin-host", api.url, String(port), `${dir}/plugin-host`])
    : null;
  const client = new Client({ server: api.url });
  return {
    client,
    hostUrl,
    async close() {
      client.close();
      await plugins?.stop();
      await api.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

function pod(name: string, namespace: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace },
    spec: {
      containers: [{ name: "app", image: IMAGE, resources: { limits: { cpu: "100m", memory: "64Mi" } } }],
    },
  };
}

/** Admission: the latency one Wasm plugin adds to a create. */
async function benchAdmission(): Promise<BenchRow[]> {
  const c = await cluster({ admission: true, plugins: true });
  const { client } = c;
  try {
    for (const ns of ["wasm", "plain"]) {
      await client.create(R.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    }
    await loadPlugin(client, "disallow-latest", {
      admission: {
        namespaces: ["wasm"],
        rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }],
      },
    });
    const timed = async (name: string, ns: string) => {
      const t = performance.now();
      await client.create(R.pods, pod(name, ns));
      return performance.now() - t;
    };
    for (let i = 0; i < 100; i++) {
      await timed(`warm-${i}`, "wasm");
      await timed(`warm-${i}`, "plain");
    }
    const withPlugin: number[] = [];
    const without: number[] = [];
    for (let i = 0; i < CREATES; i++) {
      // Alternate which goes first: neither arm always follows the other.
      if (i % 2) without.push(await timed(`p-${i}`, "plain"));
      withPlugin.push(await timed(`p-${i}`, "wasm"));
      if (!(i % 2)) without.push(await timed(`p-${i}`, "plain"));
    }
    // The plugin host's round trip alone (HTTP + runner pipe + guest), as the API server makes it.
    const review = JSON.stringify({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: {
        uid: "u",
        kind: { group: "", version: "v1", kind: "Pod" },
        resource: { group: "", version: "v1", resource: "pods" },
        name: "x",
        namespace: "wasm",
        operation: "CREATE",
        userInfo: { username: "admin", groups: [] },
        object: pod("x", "wasm"),
        dryRun: false,
      },
    });
    // Over the channel (as the API server calls now) and over per-call HTTP (as it did before).
    const caller = new PluginHostCaller({ url: c.hostUrl });
    const hop: number[] = [];
    const idleHop: number[] = [];
    const httpHop: number[] = [];
    try {
      for (let i = 0; i < CREATES; i++) {
        // Back to back, then after 3 ms idle (as between creates): the second pays the wake-ups
        // of the plugin host's and the runner's processes.
        for (const into of [hop, idleHop, httpHop]) {
          if (into === idleHop) await new Promise((r) => setTimeout(r, 3));
          const t = performance.now();
          let allowed: boolean | undefined;
          if (into === httpHop) {
            const res = await fetch(`${c.hostUrl}/admission/disallow-latest/validate`, { method: "POST", body: review });
            allowed = (await res.json()).response?.allowed;
          } else {
            const res = await caller.post("/admission/disallow-latest/validate", JSON.parse(review), 10_000);
            allowed = (res.body as { response?: { allowed?: boolean } }).response?.allowed;
          }
          if (!allowed) throw new Error("the plugin did not allow a pinned image");
          into.push(performance.now() - t);
        }
      }
    } finally {
      caller.close();
    }
    const [w50, w99, p50, p99] = [
      percentile(withPlugin, 50),
      percentile(withPlugin, 99),
      percentile(without, 50),
      percentile(without, 99),
    ];
    const [h50, h99] = [percentile(hop, 50), percentile(hop, 99)];
    const [i50, i99] = [percentile(idleHop, 50), percentile(idleHop, 99)];
    const [x50, x99] = [percentile(httpHop, 50), percentile(httpHop, 99)];
    console.error(
      `admission: with the plugin p50 ${w50.toFixed(2)} ms p99 ${w99.toFixed(2)} ms; without p50 ${
        p50.toFixed(2)
      } ms p99 ${p99.toFixed(2)} ms; plugin host round trip (channel) p50 ${h50.toFixed(2)} ms p99 ${
        h99.toFixed(2)
      } ms, after 3 ms idle p50 ${i50.toFixed(2)} ms p99 ${i99.toFixed(2)} ms; over per-call HTTP p50 ${
        x50.toFixed(2)
      } ms p99 ${x99.toFixed(2)} ms`,
    );
    const baseline = {
      name: `the same pod create without it, p99 of ${CREATES.toLocaleString("en-US")}`,
      value: p99,
      unit: "ms",
    };
    return [
      {
        name: "admission: p99 latency one Wasm admission plugin adds to a pod create",
        value: w99 - p99,
        unit: "ms",
        baseline,
        ratio: w99 / p99,
        target: "≤ 1 ms",
        met: w99 - p99 <= 1,
      },
      {
        name: "admission: p50 latency it adds",
        value: w50 - p50,
        unit: "ms",
        baseline: { ...baseline, name: "the same create without it, p50", value: p50 },
        ratio: w50 / p50,
      },
      {
        name: "admission: the plugin host's round trip alone (channel + runner + guest), back to back, p50",
        value: h50,
        unit: "ms",
        baseline: { name: "p99", value: h99, unit: "ms" },
      },

      {
        name: "admission: the same round trip after 3 ms idle (process wake-ups), p50",
        value: i50,
        unit: "ms",
        baseline: { name: "p99", value: i99, unit: "ms" },
      },
      {
        name: "admission: the back-to-back round trip over per-call HTTP instead of the channel, p50",
        value: x50,
        unit: "ms",
        baseline: { name: "p99", value: x99, unit: "ms" },
      },
    ];
  } finally {
    await c.close();
  }
}

async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await fn(next++);
  }));
}

/** One scheduling phase on a freshly seeded cluster, with one Wasm plugin or none. */
async function schedulingPhase(plugin: string | null): Promise<{ rate: number; summary: string }> {
  const c = await cluster({ admission: false, plugins: plugin !== null });
  const { client } = c;
  let adapter: WasmPlugins | null = null;
  try {
    await pool(NODES, CONCURRENCY, async (i) => {
      const n = makeNode(`node-${i}`, { cpu: "8", memory: "32Gi", pods: "110" });
      // Every tenth node holds the pods' image: image locality has something to prefer.
      if (i % 10 === 0) n.status.images = [{ names: [IMAGE], sizeBytes: 300 << 20 }];
      await client.create(R.nodes, n);
    });
    await pool(PODS, CONCURRENCY, async (i) => {
      const p = makePod(`pod-${i}`, { cpu: "100m", memory: "128Mi" });
      p.spec.containers[0].image = IMAGE;
      delete p.metadata.uid;
      delete p.metadata.resourceVersion;
      delete p.status;
      await client.create(R.pods, p);
    });
    const informers = new InformerFactory(client);
    const plugins = defaultPlugins();
    if (plugin) {
      await loadPlugin(client, plugin, { scheduler: { filter: true, score: true } });
      adapter = new WasmPlugins({ url: c.hostUrl, informers });
      plugins.push({ plugin: adapter, weight: 1 });
    }
    const scheduler = new Scheduler({
      client,
      informers,
      plugins,
      leaderElection: false,
      parallelBindings: CONCURRENCY,
      identity: "bench",
      recorder: { event() {}, flush: () => Promise.resolve() },
    });
    const ac = new AbortController();
    const t = performance.now();
    const done = scheduler.run(ac.signal);
    while (scheduler.stats.bound < PODS) {
      await new Promise((r) => setTimeout(r, 10));
      if (performance.now() - t > 300_000) {
        throw new Error(`only ${scheduler.stats.bound} pods bound after 300 s`);
      }
    }
    const s = (performance.now() - t) / 1000;
    ac.abort();
    await done;
    await informers.stop();
    const stats = adapter
      ? `; ${adapter.stats.calls} plugin host calls, ${adapter.stats.failures} failed, ${
        (adapter.stats.ms / Math.max(1, adapter.stats.calls)).toFixed(2)
      } ms each (${adapter.transport.channel} over the channel, ${adapter.transport.http} over HTTP), ${adapter.stats.nodesSent} nodes sent in full, ${adapter.stats.nodesReferenced} by reference`
      : "";
    return {
      rate: PODS / s,
      summary: `${plugin ?? "built-ins only"}: ${PODS} pods bound in ${s.toFixed(2)} s${stats}`,
    };
  } finally {
    adapter?.close();
    await c.close();
  }
}

async function benchScheduling(): Promise<BenchRow[]> {
  const before = await schedulingPhase(null);
  const c = await schedulingPhase("label-c");
  const qjs = await schedulingPhase("image-locality");
  const after = await schedulingPhase(null);
  for (const p of [before, c, qjs, after]) console.error(`scheduling: ${p.summary}`);
  const base = (before.rate + after.rate) / 2;
  const baseline = { name: "built-in plugins only, same cluster", value: base, unit: "pods/s" };
  const row = (what: string, r: { rate: number }): BenchRow => ({
    name: `scheduling: one Wasm filter + score plugin, ${what} (${
      PODS.toLocaleString("en-US")
    } pods, ${NODES} nodes)`,
    value: r.rate,
    unit: "pods/s",
    baseline,
    ratio: r.rate / base,
    target: "≥ 0.5×",
    met: r.rate / base >= 0.5,
  });
  return [row("C guest", c), row("TypeScript guest (QuickJS)", qjs)];
}

/** The whole group. */
export async function benchPlugins(): Promise<BenchRow[]> {
  return [...await benchAdmission(), ...await benchScheduling()];
}

if (import.meta.main || (globalThis as { __s4?: boolean }).__s4) {
  const [mode, ...rest] = Deno.args;
  if (mode === "--serve-api") await serveApi(rest[0], rest[1]);
  else if (mode === "--plugin-host") await servePlugins(rest[0], Number(rest[1]), rest[2]);
  // The admission group alone: `--admission`.
  else if (mode === "--admission") console.log(table(await benchAdmission()));
  // One scheduling phase alone (profiling): `--scheduling label-c`, `--scheduling none`.
  else if (mode === "--scheduling") {
    console.log((await schedulingPhase(rest[0] === "none" ? null : rest[0])).summary);
  } else console.log(table(await benchPlugins()));
}
