/**
 * Plugin benchmarks (issue 6), each next to a raw baseline measured in the same run:
 *
 * - **Admission.** The latency one Wasm admission plugin (the built-in `disallow-latest`, a
 *   QuickJS guest) adds to a pod create, through the real path: API server → WasmPlugins
 *   admission step → the plugin's runner process on its direct socket (the plugin host
 *   supervising; `SKIFF_BENCH_DIRECT=0`: through the plugin host's channel instead) → the
 *   guest. The bench also times the round trip alone, direct and through the host. Creates alternate between a namespace the plugin applies to and one it
 *   does not (the baseline, which still runs the step's matching), so drift in load hits both
 *   alike. The first figures are the API server's own spans per create, named after upstream's
 *   histograms (admission_spans.ts): each plugin call
 *   (`apiserver_admission_webhook_admission_duration_seconds`) and the step's two phases
 *   (`apiserver_admission_controller_admission_duration_seconds`, minus the same step where no
 *   plugin applies); then, as before, the differences of the client's p99s and p50s.
 *   `SKIFF_BENCH_CREATES` creates per arm (3,000); `SKIFF_BENCH_SPANS_OUT=<file>` keeps every
 *   span; `SKIFF_BENCH_RUNNER_V8_FLAGS` / `SKIFF_BENCH_API_V8_FLAGS` (e.g. `--trace-gc`) pass V8
 *   flags to the runners / the API server (their lines on stderr). A third namespace has a
 *   mutating plugin (tests/fixtures/plugin_stamp, which allows without a patch): its mutate and
 *   validate travel in one `mutate-validate` call. A fourth has two validating plugins
 *   (`disallow-latest` and `require-limits`), called at once. `--admission` runs this group alone.
 * - **Scheduling.** Pods bound per second by the real scheduler with one Wasm filter + score
 *   plugin against built-ins only, on the same seeded cluster; after a discarded warm-up, each
 *   Wasm phase runs between two built-ins-only phases and is compared with their mean. Two
 *   guests: the C example `label-c` (a compiled guest, as Rust or TinyGo plugins are) and the
 *   TypeScript built-in `image-locality` (QuickJS), each with both extension points on; the C
 *   example built for skiff:scheduler@0.1.0 (`label-c-v0.1`); and both 0.2.0 guests with the
 *   plugin host in the scheduler's process (`<name>@in-process`, WasmPluginsOptions.host).
 *   `--scheduling-all [names...]` runs this group alone; `<name>@nice=<n>` runs that phase's
 *   runner at nice n (PluginHostOptions.runnerNice), `<name>@burst=<n>` holds at most n bindings
 *   per burst, `@burst=<n>/<ms>` for at most ms (SchedulerOptions.bindingBurst, bindingBurstMs;
 *   1: none held). Each phase's summary gives, per pod, the CPU
 *   and the run-queue wait of every process (sched_stat.ts); `SKIFF_BENCH_PERF_CTL=<fifo>`
 *   brackets each timed window for `perf record --control`.
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
import process from "node:process";
import { Client, R } from "../../control/api/client.ts";
import { InformerFactory } from "../../control/api/informer.ts";
import { eachLine, PluginHostCaller, writeAll } from "../../control/api/plugin_channel.ts";
import { PluginDirectCaller } from "../../control/api/plugin_direct.ts";
import { type PluginKind, type PluginObject, PLUGINS, type PluginSpec } from "../../control/api/plugins.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { wasmAdmission } from "../../control/apiserver/admission/wasm_plugins.ts";
import { startControlPlane } from "../../control/mod.ts";
import { defaultPlugins } from "../../control/scheduler/plugins/default_plugins.ts";
import { WasmPlugins } from "../../control/scheduler/plugins/wasm_plugins.ts";
import type { BatchPlugin } from "../../control/scheduler/framework.ts";
import { Scheduler } from "../../control/scheduler/scheduler.ts";
import { makeNode, makePod } from "../../control/scheduler/testing.ts";
import { servePluginHost } from "../../cli/plugin_host.ts";
import { buildPlugin } from "../../plugins/host/build.ts";
import { PluginHost } from "../../plugins/host/server.ts";
import { type BenchRow, percentile, table } from "./bench_row.ts";
import { AdmissionSpans, readSpans, spanRows, type SpanTable } from "./admission_spans.ts";
import { benchRole, formatDelta, snapshotTree, treeDelta } from "./sched_stat.ts";

const ROOT = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");
const CREATES = 1_000;
/** Timed creates per admission arm (`SKIFF_BENCH_CREATES`). */
const ADMISSION_CREATES = Number(Deno.env.get("SKIFF_BENCH_CREATES") ?? 3_000);
const NODES = 500;
const PODS = 2_000;
const CONCURRENCY = 32;
const IMAGE = "registry.example/app:1.0";

/** The plugins the benchmark loads, by name: kind, source and (for an older version) its WIT. */
const SOURCES: Record<string, { kind: PluginKind; source: string; wit?: string }> = {
  "disallow-latest": { kind: "admission", source: "plugins/admission/builtin/disallow_latest/plugin.ts" },
  stamp: { kind: "admission", source: "tests/fixtures/plugin_stamp/plugin.ts" },
  "require-limits": { kind: "admission", source: "plugins/admission/builtin/require_limits/plugin.ts" },
  "image-locality": { kind: "scheduler", source: "plugins/scheduler/builtin/image_locality/plugin.ts" },
  "label-c": { kind: "scheduler", source: "plugins/scheduler/examples/label_c/plugin.c" },
  // The same C plugin against skiff:scheduler@0.1.0 (every node lowered on every call).
  "label-c-v0.1": { kind: "scheduler", source: "plugins/scheduler/v0_1/label_c/plugin.c", wit: "plugins/scheduler/v0_1/wit" },
};

const build = (name: string) =>
  buildPlugin({
    kind: SOURCES[name].kind,
    source: `${ROOT}/${SOURCES[name].source}`,
    wit: SOURCES[name].wit && `${ROOT}/${SOURCES[name].wit}`,
  });

/** Runs this file as a child with `args`; resolves when it prints `URL <url>`. */
async function child(args: string[], v8Flags?: string): Promise<{ url: string; stop(): Promise<void> }> {
  const proc = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      `${ROOT}/deno.json`,
      ...(v8Flags ? [`--v8-flags=${v8Flags}`] : []),
      new URL(import.meta.url).pathname,
      ...args,
    ],
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
  // Whatever else it prints (V8's --trace-gc lines) goes to stderr, so the child never blocks on a full pipe.
  const rest = buf.slice(buf.indexOf("\n") + 1);
  if (rest) console.error(rest.trimEnd());
  const forwarding = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      Deno.stderr.writeSync(new TextEncoder().encode(value));
    }
  })().catch(() => {});
  return {
    url: buf.split("\n")[0].replace(/^URL /, "").trim(),
    async stop() {
      proc.kill("SIGTERM");
      await proc.status;
      await reader.cancel().catch(() => {});
      await forwarding;
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

/**
 * Child: an API server on `kvPath`, with the WasmPlugins admission step when a plugin host URL is
 * given; with `spansPath`, the step's spans of the timed creates are written there on SIGTERM.
 */
async function serveApi(kvPath: string, pluginHostUrl?: string, spansPath?: string): Promise<void> {
  const cp = await startControlPlane({ kvPath, port: 0, compactionIntervalMs: 0 });
  // SKIFF_BENCH_DIRECT=0: every call through the plugin host (the A/B of the direct path).
  const direct = Deno.env.get("SKIFF_BENCH_DIRECT") !== "0";
  const spans = spansPath ? new AdmissionSpans("p-") : null;
  const admission = pluginHostUrl
    ? wasmAdmission(cp.server, { url: pluginHostUrl, direct, ...(spans ? { observe: spans.observe } : {}) })
    : null;
  if (admission) cp.server.admission.push(admission);
  console.log(`URL ${cp.url}`);
  await untilSigterm();
  if (admission) console.error(`admission calls (direct path ${direct ? "on" : "off"}): ${JSON.stringify(admission.calls)}`);
  if (spans) spans.save(spansPath!);
  admission?.close();
  await cp.close().catch(() => {});
  Deno.exit(0);
}

/** Child: a plugin host on `port` watching the API server at `apiUrl`; images `bench.local/<name>@<digest>`. */
async function servePlugins(apiUrl: string, port: number, dataDir: string, runnerNice?: string): Promise<void> {
  const client = new Client({ server: apiUrl });
  // SKIFF_BENCH_RUNNER_V8_FLAGS=--trace-gc,...: more V8 flags for the runners; their lines (and
  // the plugins' logs) then go to stderr.
  const v8Flags = Deno.env.get("SKIFF_BENCH_RUNNER_V8_FLAGS")?.split(",").filter(Boolean);
  const host = new PluginHost({
    dataDir,
    client,
    ...(runnerNice !== undefined ? { runnerNice: { admission: Number(runnerNice), scheduler: Number(runnerNice) } } : {}),
    ...(v8Flags?.length ? { runnerV8Flags: v8Flags } : {}),
    log: v8Flags?.length ? (line) => console.error(line) : () => {},
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

/**
 * Child: the raw baseline of a direct call's round trip — a unix socket at `path` answering each
 * line with a line of the same length at once, with the same line helpers as both ends of the
 * direct path (control/api/plugin_channel.ts), and nothing else: no JSON, routing or plugin.
 */
/** The next line of `conn` each time it is called (null once the connection has ended). */
function nextLines(conn: Deno.Conn): () => Promise<string | null> {
  const queue: string[] = [];
  let ended = false;
  let wake: (() => void) | null = null;
  void eachLine(conn, (line) => {
    queue.push(line);
    wake?.();
    return true;
  }).then(() => {
    ended = true;
    wake?.();
  });
  return async () => {
    while (!queue.length) {
      if (ended) return null;
      await new Promise<void>((r) => wake = r);
    }
    return queue.shift()!;
  };
}

async function serveEcho(path: string): Promise<void> {
  const listener = Deno.listen({ transport: "unix", path });
  console.log(`URL ${path}`);
  const serving = (async () => {
    for await (const conn of listener) {
      void (async () => {
        let writing = Promise.resolve();
        await eachLine(conn, (line) => {
          writing = writing.then(() => writeAll(conn, ENCODER.encode(line + "\n"))).catch(() => {});
          return true;
        });
        await writing;
        conn.close();
      })();
    }
  })().catch(() => {});
  await untilSigterm();
  listener.close();
  await serving;
  Deno.exit(0);
}

const ENCODER = new TextEncoder();

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
async function cluster(opts: { admission: boolean; plugins: boolean; runnerNice?: number }) {
  const dir = await Deno.makeTempDir({ prefix: "skiff-bench-plugins-" });
  const port = freePort();
  const hostUrl = `http://127.0.0.1:${port}`;
  const spans = `${dir}/spans.json`;
  // SKIFF_BENCH_API_V8_FLAGS=--trace-gc: V8 flags for the API server's process (its lines on stderr).
  const api = await child(
    ["--serve-api", `${dir}/state.kv`, ...(opts.admission ? [hostUrl, spans] : [])],
    Deno.env.get("SKIFF_BENCH_API_V8_FLAGS"),
  );
  const plugins = opts.plugins
    ? await child([
      "--plugin-host",
      api.url,
      String(port),
      `${dir}/plugin-host`,
      ...(opts.runnerNice !== undefined ? [String(opts.runnerNice)] : []),
    ])
    : null;
  const client = new Client({ server: api.url });
  return {
    client,
    hostUrl,
    /** Stops the children; the API server's admission spans (admission_spans.ts) when it had the step. */
    async close(): Promise<SpanTable | null> {
      client.close();
      await plugins?.stop();
      await api.stop();
      const table = opts.admission ? readSpans(spans) : null;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      return table;
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
  // SKIFF_BENCH_RUNNER_NICE=<n>: the runners at nice n (the A/B of PluginHostOptions.runnerNice).
  const nice = Deno.env.get("SKIFF_BENCH_RUNNER_NICE");
  const load0 = Deno.loadavg()[0];
  const c = await cluster({ admission: true, plugins: true, runnerNice: nice ? Number(nice) : undefined });
  const { client } = c;
  let closed = false;
  try {
    for (const ns of ["wasm", "plain", "mutating", "two"]) {
      await client.create(R.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    }
    await loadPlugin(client, "disallow-latest", {
      admission: {
        namespaces: ["wasm", "two"],
        rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }],
      },
    });
    // A second validating plugin in "two": both are called at once.
    await loadPlugin(client, "require-limits", {
      admission: {
        namespaces: ["two"],
        rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }],
      },
    });
    // A mutating plugin (mutate and validate): one mutate-validate call per create.
    await loadPlugin(client, "stamp", {
      config: { denyLabel: "forbidden" },
      admission: {
        mutating: true,
        namespaces: ["mutating"],
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
      await timed(`warm-${i}`, "mutating");
      await timed(`warm-${i}`, "two");
    }
    const withPlugin: number[] = [];
    const without: number[] = [];
    const mutating: number[] = [];
    const two: number[] = [];
    const arms: [string, number[]][] = [["wasm", withPlugin], ["plain", without], ["mutating", mutating], ["two", two]];
    for (let i = 0; i < ADMISSION_CREATES; i++) {
      // Rotate the order: no arm always follows the same other.
      for (let k = 0; k < arms.length; k++) {
        const [ns, into] = arms[(i + k) % arms.length];
        into.push(await timed(`p-${i}`, ns));
      }
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
    // Straight to the runner's socket (the direct path), back to back and after 3 ms idle.
    const direct = new PluginDirectCaller((path, body, ms) => caller.post(path, body, ms, { counted: false }));
    const directHop: number[] = [];
    const idleDirectHop: number[] = [];
    const directCall = async () => {
      const body = JSON.parse(review);
      body.request.uid = crypto.randomUUID();
      return await direct.post("disallow-latest", "/admission/disallow-latest/validate", body, body.request.uid, 10_000);
    };
    // The raw baseline of the direct round trip: a line of the same length to another process's
    // unix socket and back (serveEcho), with the same helpers; the rest is the direct path's own.
    const echoDir = await Deno.makeTempDir({ prefix: "skiff-bench-echo-" });
    const echo = await child(["--echo", `${echoDir}/echo.sock`]);
    const echoConn = await Deno.connect({ transport: "unix", path: echo.url });
    const echoLine = nextLines(echoConn);
    const rawLine = ENCODER.encode(JSON.stringify({ id: 1, path: "/admission/disallow-latest/validate", body: JSON.parse(review), ms: 10_000 }) + "\n");
    const rawHop: number[] = [];
    const rawCall = async () => {
      await writeAll(echoConn, rawLine);
      if ((await echoLine()) === null) throw new Error("the echo child closed the socket");
    };
    try {
      for (let i = 0; i < 200 && !(await directCall()); i++) await new Promise((r) => setTimeout(r, 20));
      for (let i = 0; i < CREATES; i++) {
        // Back to back, then after 3 ms idle (as between creates): the second pays the wake-ups
        // of the plugin host's and the runner's processes (direct: the runner's only).
        for (const into of [hop, idleHop, httpHop, directHop, idleDirectHop, rawHop]) {
          if (into === idleHop || into === idleDirectHop) await new Promise((r) => setTimeout(r, 3));
          const t = performance.now();
          let allowed: boolean | undefined;
          if (into === rawHop) {
            await rawCall();
            allowed = true;
          } else if (into === directHop || into === idleDirectHop) {
            const res = await directCall();
            if (!res) throw new Error("the direct path is not available");
            allowed = (res.body as { response?: { allowed?: boolean } }).response?.allowed;
          } else if (into === httpHop) {
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
      direct.close();
      caller.close();
      echoConn.close();
      await echo.stop();
      await Deno.remove(echoDir, { recursive: true }).catch(() => {});
    }
    // The API server's own spans of the step and of each call (stops the children).
    const spans = await c.close();
    closed = true;
    // SKIFF_BENCH_SPANS_OUT=<file>: every span of the run, ms, for analysis (admission_spans.ts).
    const spansOut = Deno.env.get("SKIFF_BENCH_SPANS_OUT");
    if (spans && spansOut) Deno.writeTextFileSync(spansOut, JSON.stringify(spans));
    const [w50, w99, p50, p99] = [
      percentile(withPlugin, 50),
      percentile(withPlugin, 99),
      percentile(without, 50),
      percentile(without, 99),
    ];
    const [m50, m99] = [percentile(mutating, 50), percentile(mutating, 99)];
    const [t50, t99] = [percentile(two, 50), percentile(two, 99)];
    const [h50, h99] = [percentile(hop, 50), percentile(hop, 99)];
    const [i50, i99] = [percentile(idleHop, 50), percentile(idleHop, 99)];
    const [x50, x99] = [percentile(httpHop, 50), percentile(httpHop, 99)];
    const [d50, d99] = [percentile(directHop, 50), percentile(directHop, 99)];
    const [e50, e99] = [percentile(idleDirectHop, 50), percentile(idleDirectHop, 99)];
    const [r50, r99] = [percentile(rawHop, 50), percentile(rawHop, 99)];
    console.error(
      `admission: with the plugin p50 ${w50.toFixed(2)} ms p99 ${w99.toFixed(2)} ms; with the mutating plugin p50 ${
        m50.toFixed(2)
      } ms p99 ${m99.toFixed(2)} ms; with two validating plugins p50 ${t50.toFixed(2)} ms p99 ${t99.toFixed(2)} ms; without p50 ${
        p50.toFixed(2)
      } ms p99 ${p99.toFixed(2)} ms; plugin host round trip (channel) p50 ${h50.toFixed(2)} ms p99 ${
        h99.toFixed(2)
      } ms, after 3 ms idle p50 ${i50.toFixed(2)} ms p99 ${i99.toFixed(2)} ms; over per-call HTTP p50 ${
        x50.toFixed(2)
      } ms p99 ${x99.toFixed(2)} ms; direct to the runner p50 ${d50.toFixed(2)} ms p99 ${d99.toFixed(2)} ms, after 3 ms idle p50 ${
        e50.toFixed(2)
      } ms p99 ${e99.toFixed(2)} ms; raw unix socket round trip of the same line p50 ${r50.toFixed(2)} ms p99 ${r99.toFixed(2)} ms; load ${load0.toFixed(2)} → ${
        Deno.loadavg().map((x) => x.toFixed(2)).join(" ")
      }`,
    );
    const baseline = {
      name: `the same pod create without it, p99 of ${ADMISSION_CREATES.toLocaleString("en-US")}`,
      value: p99,
      unit: "ms",
    };
    return [
      // The latency the plugin adds, as the API server times it per create (upstream's metrics).
      ...(spans ? spanRows(spans, { validating: "wasm", mutating: "mutating", two: "two", plain: "plain" }) : []),
      // The difference of the create's p99s with and without it, as the client sees it.
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
        name: "admission: p99 latency one mutating Wasm plugin (mutate + validate, one call) adds to a pod create",
        value: m99 - p99,
        unit: "ms",
        baseline,
        ratio: m99 / p99,
        target: "≤ 1 ms",
        met: m99 - p99 <= 1,
      },
      {
        name: "admission: p50 latency the mutating plugin adds",
        value: m50 - p50,
        unit: "ms",
        baseline: { ...baseline, name: "the same create without it, p50", value: p50 },
        ratio: m50 / p50,
      },
      {
        name: "admission: p50 / p99 latency two validating Wasm plugins (called at once) add",
        value: t50 - p50,
        unit: "ms",
        baseline: { name: "p99 added", value: t99 - p99, unit: "ms" },
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
      {
        name: "admission: the round trip straight to the runner (direct path), back to back, p50",
        value: d50,
        unit: "ms",
        baseline: { name: "through the plugin host, p50", value: h50, unit: "ms" },
        ratio: d50 / h50,
      },
      {
        name: "admission: the direct round trip, back to back, p50 (informational)",
        value: d50,
        unit: "ms",
        baseline: { name: "the same line to another process's unix socket and back (raw), p50", value: r50, unit: "ms" },
        ratio: d50 / r50,
      },
      {
        name: "admission: the direct round trip, back to back, p99 (informational)",
        value: d99,
        unit: "ms",
        baseline: { name: "the raw round trip, p99", value: r99, unit: "ms" },
        ratio: d99 / r99,
      },
      {
        name: "admission: the direct round trip after 3 ms idle, p99",
        value: e99,
        unit: "ms",
        baseline: { name: "through the plugin host after 3 ms idle, p99", value: i99, unit: "ms" },
        ratio: e99 / i99,
      },
    ];
  } finally {
    if (!closed) await c.close();
  }
}

async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await fn(next++);
  }));
}

/** This process's CPU time (user + system) since `since` (`process.cpuUsage()`), in ms. */
function schedulerCpuMs(since: { user: number; system: number }): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
}

/**
 * A batch plugin that passes every node with score 0, its Filter answering after one event-loop
 * turn (`macrotask`) or in a microtask.
 */
function nullBatchPlugin(macrotask: boolean): BatchPlugin & { close(): void } {
  // A MessageChannel hop: a macrotask without setTimeout's timer (≈1–2 ms in Deno).
  const channel = new MessageChannel();
  let resume: (() => void) | null = null;
  channel.port1.onmessage = () => resume?.();
  const turn = () => macrotask ? new Promise<void>((r) => (resume = r, channel.port2.postMessage(0))) : Promise.resolve();
  return {
    close: () => (channel.port1.close(), channel.port2.close()),
    name: "NullBatch",
    batch: true,
    events: [],
    filterBatch: async (_pod, nodes) => (await turn(), new Array(nodes.length).fill(null)),
    // (As the Wasm adapter: one round trip per cycle, the scores come with the filter's answer.)
    scoreBatch: (_pod, nodes) => Promise.resolve(new Array(nodes.length).fill(0)),
  };
}

/**
 * One scheduling phase on a freshly seeded cluster, with one Wasm plugin or none. A name ending
 * in `@in-process` runs that plugin on a plugin host inside the scheduler's process
 * (WasmPluginsOptions.host: no channel hop; the plugin still runs in its runner process).
 */
async function schedulingPhase(name: string | null): Promise<{ rate: number; summary: string }> {
  // `null-batch`: no Wasm plugin, an in-process batch plugin that answers after one event-loop
  // turn (a MessageChannel hop: the framework's batch path and the await, without a runner or a
  // socket).
  // `null-batch-microtask`: the same, answering in a microtask (no event-loop turn).
  // `<plugin>@nice=<n>`: the plugin's runner at nice n (PluginHostOptions.runnerNice; the A/B of
  // the direct runners' priority).
  // `<plugin>@burst=<n>[/<ms>]`: the scheduler holds at most n bindings per burst, for at most
  // ms (1: each binding leaves alone; SchedulerOptions.bindingBurst and bindingBurstMs, the A/B
  // of binding bursts). Before `@nice`.
  const burstMatch = name ? /@burst=(\d+)(?:\/(\d+(?:\.\d+)?))?(?=@nice=|$)/.exec(name) : null;
  const [burst, burstMs] = [burstMatch?.[1], burstMatch?.[2]];
  name = name?.replace(/@burst=\d+(?:\/\d+(?:\.\d+)?)?(?=@nice=|$)/, "") ?? null;
  const nice = name ? /@nice=(-?\d+)$/.exec(name)?.[1] : undefined;
  name = name?.replace(/@nice=-?\d+$/, "") ?? null;
  const nullBatch = name === "null-batch" || name === "null-batch-microtask";
  const plugin = nullBatch ? null : name?.replace(/@in-process$/, "") ?? null;
  const inProcess = name?.endsWith("@in-process") ?? false;
  const c = await cluster({ admission: false, plugins: plugin !== null, runnerNice: nice === undefined ? undefined : Number(nice) });
  const { client } = c;
  let adapter: WasmPlugins | null = null;
  let nullPlugin: ReturnType<typeof nullBatchPlugin> | null = null;
  let local: { host: PluginHost; stop: AbortController; running: Promise<void>; dir: string } | null = null;
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
    nullPlugin = nullBatch ? nullBatchPlugin(name === "null-batch") : null;
    if (nullPlugin) plugins.push({ plugin: nullPlugin, weight: 1 });
    if (plugin) {
      await loadPlugin(client, plugin, { scheduler: { filter: true, score: true } });
      if (inProcess) {
        const dir = await Deno.makeTempDir({ prefix: "skiff-bench-local-host-" });
        const host = new PluginHost({
          dataDir: dir,
          client,
          log: () => {},
          componentName: "scheduler",
          accepts: (p) => p.spec.kind === "scheduler",
          pull: async (image) => {
            const b = await build(/^bench\.local\/([^@]+)@/.exec(image)?.[1] ?? "");
            return { digest: b.digest, bytes: b.bytes };
          },
        });
        const stop = new AbortController();
        local = { host, stop, running: host.run(stop.signal), dir };
        for (let i = 0; !host.list().some((e) => e.name === plugin && e.ready); i++) {
          if (i > 1200) throw new Error(`the in-process plugin host did not load ${plugin} in 60 s`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      // SKIFF_BENCH_DIRECT=0: cycles through the plugin host (the A/B of the direct path).
      adapter = new WasmPlugins({ url: c.hostUrl, informers, host: local?.host, direct: inProcess ? false : Deno.env.get("SKIFF_BENCH_DIRECT") !== "0" });
      plugins.push({ plugin: adapter, weight: 1 });
    }
    const scheduler = new Scheduler({
      client,
      informers,
      plugins,
      leaderElection: false,
      parallelBindings: CONCURRENCY,
      bindingBurst: burst === undefined ? undefined : Number(burst),
      bindingBurstMs: burstMs === undefined ? undefined : Number(burstMs),
      identity: "bench",
      recorder: { event() {}, flush: () => Promise.resolve() },
    });
    const ac = new AbortController();
    const t = performance.now();
    // The scheduler's CPU (this process: the API server and the plugin host are children).
    const cpu0 = process.cpuUsage();
    // Run-queue waits and context switches of every process of the phase (Linux /proc).
    const sched0 = snapshotTree(Deno.pid, benchRole);
    perfControl("enable");
    const done = scheduler.run(ac.signal);
    while (scheduler.stats.bound < PODS) {
      await new Promise((r) => setTimeout(r, 10));
      if (performance.now() - t > 300_000) {
        throw new Error(`only ${scheduler.stats.bound} pods bound after 300 s`);
      }
    }
    const s = (performance.now() - t) / 1000;
    const cpuMs = schedulerCpuMs(cpu0);
    perfControl("disable");
    const waits = formatDelta(treeDelta(sched0, snapshotTree(Deno.pid, benchRole)), PODS);
    ac.abort();
    await done;
    await informers.stop();
    const stats = adapter
      ? `; ${adapter.stats.calls} plugin host calls, ${adapter.stats.failures} failed, ${
        (adapter.stats.ms / Math.max(1, adapter.stats.calls)).toFixed(2)
      } ms each (${adapter.transport.channel} over the channel, ${adapter.transport.http} over HTTP, ${adapter.direct?.calls ?? 0} plugin calls direct to the runner), ${adapter.stats.nodesSent + (adapter.direct?.nodesSent ?? 0)} nodes sent in full, ${adapter.stats.nodesReferenced + (adapter.direct?.nodesReferenced ?? 0)} by reference`
      : "";
    return {
      rate: PODS / s,
      summary: `${name ?? "built-ins only"}${nice !== undefined ? ` (runner nice ${nice})` : ""}${
        burst !== undefined ? ` (bursts of ≤ ${burst}${burstMs ? `, ≤ ${burstMs} ms` : ""})` : ""
      }: ${PODS} pods bound in ${s.toFixed(2)} s (scheduler process ${
        (cpuMs / PODS).toFixed(3)
      } ms CPU per pod, ${(scheduler.stats.bound / Math.max(1, scheduler.stats.bindingBursts)).toFixed(1)} bindings per burst)${stats}; per pod: ${waits}`,
    };
  } finally {
    adapter?.close();
    nullPlugin?.close();
    if (local) {
      local.stop.abort();
      await local.running;
      await local.host[Symbol.asyncDispose]();
      await Deno.remove(local.dir, { recursive: true }).catch(() => {});
    }
    await c.close();
  }
}

/**
 * Profiling hook: with `SKIFF_BENCH_PERF_CTL=<fifo>`, writes `enable` / `disable` to a `perf
 * record -D -1 --control=fifo:<fifo>` control FIFO around each phase's timed window, so a
 * profile holds the scheduling alone (not the cluster's seeding).
 */
function perfControl(command: "enable" | "disable"): void {
  const fifo = Deno.env.get("SKIFF_BENCH_PERF_CTL");
  if (fifo) Deno.writeTextFileSync(fifo, `${command}\n`, { append: true });
}

/**
 * The scheduling phases: a discarded warm-up (the first phases of a run were consistently the
 * slowest, built-ins included), then each Wasm phase of `order` between two built-ins-only
 * phases (A B A B … A), each Wasm phase's ratio against the mean of its two neighbours, so a
 * drift in the machine's load hits both sides alike.
 */
async function benchScheduling(
  order = ["label-c", "image-locality", "label-c-v0.1", "label-c@in-process", "image-locality@in-process"],
): Promise<BenchRow[]> {
  console.error(`scheduling: warm-up, ${(await schedulingPhase(null)).summary}`);
  const bases = [await schedulingPhase(null)];
  const phases: { name: string; rate: number; summary: string }[] = [];
  for (const name of order) {
    phases.push({ name, ...await schedulingPhase(name) });
    bases.push(await schedulingPhase(null));
  }
  for (let i = 0; i < bases.length; i++) {
    console.error(`scheduling: ${bases[i].summary}`);
    if (phases[i]) console.error(`scheduling: ${phases[i].summary}`);
  }
  const what: Record<string, string> = {
    "label-c": "C guest",
    "image-locality": "TypeScript guest (QuickJS)",
    "label-c-v0.1": "C guest built for skiff:scheduler@0.1.0",
    "label-c@in-process": "C guest, plugin host in the scheduler's process",
    "image-locality@in-process": "TypeScript guest (QuickJS), plugin host in the scheduler's process",
    "null-batch": "none: an in-process batch plugin answering after one event-loop turn",
    "null-batch-microtask": "none: an in-process batch plugin answering in a microtask",
  };
  return phases.map((r, i): BenchRow => {
    const base = (bases[i].rate + bases[i + 1].rate) / 2;
    return {
      name: `scheduling: one Wasm filter + score plugin, ${what[r.name] ?? r.name} (${
        PODS.toLocaleString("en-US")
      } pods, ${NODES} nodes)`,
      value: r.rate,
      unit: "pods/s",
      baseline: { name: "built-ins only, the phases just before and after", value: base, unit: "pods/s" },
      ratio: r.rate / base,
      target: "≥ 0.5×",
      met: r.rate / base >= 0.5,
    };
  });
}

/** The whole group. */
export async function benchPlugins(): Promise<BenchRow[]> {
  return [...await benchAdmission(), ...await benchScheduling()];
}

if (import.meta.main) {
  const [mode, ...rest] = Deno.args;
  if (mode === "--serve-api") await serveApi(rest[0], rest[1], rest[2]);
  else if (mode === "--plugin-host") await servePlugins(rest[0], Number(rest[1]), rest[2], rest[3]);
  else if (mode === "--echo") await serveEcho(rest[0]);
  // The admission group alone: `--admission`.
  else if (mode === "--admission") console.log(table(await benchAdmission()));
  // One scheduling phase alone (profiling): `--scheduling label-c`, `--scheduling none`.
  else if (mode === "--scheduling") {
    console.log((await schedulingPhase(rest[0] === "none" ? null : rest[0])).summary);
  } // The scheduling group alone, the Wasm phases optionally in another order: `--scheduling-all label-c-v0.1 label-c`.
  else if (mode === "--scheduling-all") console.log(table(await benchScheduling(rest.length ? rest : undefined)));
  else console.log(table(await benchPlugins()));
}
