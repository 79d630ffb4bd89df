/**
 * Wasm component benchmarks (issue "Node agent and WebAssembly component pods"):
 *
 * - cold start: first pull + transpile + start of the 1.7 MB QuickJS command (target ≤ 2 s),
 *   against a bare `deno run` of an empty module; the same for the 14.5 MB StarlingMonkey proxy
 *   up to its first answer; and a warm start (cached image, running sandbox);
 * - raw in-process instantiate time of each component (the baseline of the node's startup
 *   benchmark);
 * - HTTP throughput through one proxy component in a sandbox, against a bare `Deno.serve`
 *   hello-world process, both driven by the same bounded load (wrk when installed, else an
 *   in-process client), and where the sandbox's time goes (a V8 CPU profile);
 * - memory: an idle sandbox, and each extra proxy container in it.
 *
 * Run alone: `deno run -A tests/bench/wasm.ts`.
 * @module
 */
import { RegistryClient } from "../../node/registry/client.ts";
import {
  classifyArtifact,
  ComponentCache,
  createWasi,
  loadComponent,
  type PreparedComponent,
  Sandbox,
} from "../../wasm/mod.ts";
import { buildFixture, type FixtureName } from "../fixtures/build.ts";
import { pushFixture } from "../fixtures/push.ts";
import { freePort, startRegistry, type TestRegistry } from "../registry.ts";
import { type BenchRow, percentile, table } from "./bench_row.ts";

const WRK = "/usr/bin/wrk";
const LOAD = { threads: 2, connections: 16, seconds: 5 };

function median(xs: number[]): number {
  return percentile(xs, 50);
}

function hasWrk(): boolean {
  try {
    return Deno.statSync(WRK).isFile;
  } catch {
    return false;
  }
}

/** Requests per second and latency percentiles of a bounded load against `url`. */
async function load(
  url: string,
  seconds = LOAD.seconds,
): Promise<{ rps: number; p50: number; p99: number; tool: string }> {
  if (hasWrk()) {
    const out = await new Deno.Command(WRK, {
      args: [`-t${LOAD.threads}`, `-c${LOAD.connections}`, `-d${seconds}s`, "--latency", url],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    const ms = (label: string) => {
      const m = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s)`, "m").exec(text);
      if (!m) return NaN;
      return Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1);
    };
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
    const errors = /Non-2xx or 3xx responses: (\d+)/.exec(text);
    if (errors) throw new Error(`wrk saw ${errors[1]} failed responses from ${url}`);
    return { rps, p50: ms("50%"), p99: ms("99%"), tool: "wrk" };
  }
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: LOAD.connections }, async () => {
    while (performance.now() - t0 < seconds * 1000 && latencies.length < 200_000) {
      const t = performance.now();
      const res = await fetch(url);
      await res.arrayBuffer();
      latencies.push(performance.now() - t);
    }
  }));
  const elapsed = (performance.now() - t0) / 1000;
  return {
    rps: latencies.length / elapsed,
    p50: median(latencies),
    p99: percentile(latencies, 99),
    tool: "in-process client",
  };
}

/** A bare `Deno.serve` hello world in its own process (the throughput baseline). */
async function bareServer(port: number): Promise<{ stop(): Promise<void> }> {
  const code =
    `Deno.serve({ hostname: "127.0.0.1", port: ${port}, onListen() { console.log("up"); } }, () => new Response("hello from deno\\n"));`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--allow-net=127.0.0.1", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(code));
  await w.close();
  const reader = child.stdout.getReader();
  await reader.read();
  reader.releaseLock();
  return {
    async stop() {
      child.kill("SIGKILL");
      await child.status;
      await child.stdout.cancel().catch(() => {});
    },
  };
}

/** Milliseconds of a bare `deno run` of an empty module (the process floor of a sandbox start). */
async function bareDenoRun(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-config", "0"],
      stdout: "null",
      stderr: "null",
    }).output();
    times.push(performance.now() - t);
  }
  return median(times);
}

function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

/** Shares of self time in a V8 CPU profile, by who spends it. */
function profileShares(profile: {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
}): Record<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const shares: Record<string, number> = {};
  let total = 0;
  profile.samples.forEach((id, i) => {
    const n = byId.get(id)!;
    const { functionName: f, url } = n.callFrame;
    const dt = profile.timeDeltas[i] ?? 0;
    const who = f === "(idle)"
      ? "idle (waiting for requests)"
      : f === "(garbage collector)"
      ? "V8 garbage collector"
      : f === "(program)"
      ? "V8 native: JSPI stack switches, wasm↔JS calls, compiler"
      : f.startsWith("wasm-function") || url.startsWith("wasm://")
      ? "guest code (StarlingMonkey, wasm)"
      : url.endsWith("/component.js")
      ? "jco glue: lifting, per-call task bookkeeping, resource tables"
      : url.includes("/wasm/wasi/")
      ? "Skiff WASI host"
      : url.includes("/wasm/host/") || url.includes("/wasm/sandbox/")
      ? "Skiff container host"
      : /ext:deno_(http|net|fetch|web)|ext:runtime/.test(url) || /^op_/.test(f)
      ? "Deno HTTP server and ops"
      : "other JavaScript";
    shares[who] = (shares[who] ?? 0) + dt;
    total += dt;
  });
  for (const k of Object.keys(shares)) shares[k] = (100 * shares[k]) / total;
  return shares;
}

async function deploy(
  client: RegistryClient,
  cache: ComponentCache,
  ref: string,
): Promise<PreparedComponent> {
  const image = await client.pull(ref);
  const kind = classifyArtifact(image.manifest);
  if (kind.kind !== "wasm") throw new Error(`${ref} is not a runnable Wasm artifact`);
  const layer = image.layers.find((l) => l.descriptor.digest === kind.layer.digest)!;
  return await cache.prepare({ path: layer.path, digest: kind.layer.digest });
}

async function instantiateTimes(
  component: PreparedComponent,
  n: number,
): Promise<{ first: number; median: number; compile: number }> {
  const t0 = performance.now();
  const loaded = await loadComponent(component);
  const compile = performance.now() - t0;
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const wasi = createWasi({ env: [], args: ["bench"], preopens: [], stdout() {}, stderr() {} });
    const t = performance.now();
    await loaded.instantiate(wasi.imports);
    times.push(performance.now() - t);
    wasi.close();
  }
  return { first: times[0], median: median(times.slice(1)), compile };
}

/** Runs the Wasm benchmarks. */
export async function benchWasm(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const fixtures: FixtureName[] = ["hello_qjs", "http_sm", "http_c"];
  for (const f of fixtures) await buildFixture(f); // building is not part of any figure
  const registry: TestRegistry = await startRegistry();
  const dir = await Deno.makeTempDir({ prefix: "skiff-bench-wasm-" });
  const loadAverage = Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
  const sandboxes: Sandbox[] = [];
  try {
    const qjs = await pushFixture(registry.host, "hello_qjs");
    const sm = await pushFixture(registry.host, "http_sm");
    const lean = await pushFixture(registry.host, "http_c");
    const floor = await bareDenoRun();

    // Cold start: nothing cached, no sandbox yet; once with a transpiler that starts with the
    // pod, once with one loaded when the agent started (ComponentCache.warm()).
    for (const warmAgent of [false, true]) {
      const base = `${dir}/cold-${warmAgent}`;
      const client = new RegistryClient({ blobDir: `${base}/blobs` });
      const cache = new ComponentCache({ dir: `${base}/wasm` });
      try {
        if (warmAgent) await cache.warm();
        const t0 = performance.now();
        const image = await client.pull(qjs.reference);
        const t1 = performance.now();
        const kind = classifyArtifact(image.manifest);
        if (kind.kind !== "wasm") throw new Error("hello_qjs is not a Wasm artifact");
        const component = await cache.prepare({ path: image.layers[0].path, digest: kind.layer.digest });
        const t2 = performance.now();
        const sandbox = await Sandbox.start({ permissions: { read: [cache.dir], net: "none" } });
        sandboxes.push(sandbox);
        const t3 = performance.now();
        await sandbox.startContainer({ id: "cold", component, env: [["NAME", "bench"]] });
        const t4 = performance.now();
        await sandbox.waitContainer("cold");
        const total = t4 - t0;
        const size = (qjs.size / 1e6).toFixed(1);
        const how = warmAgent ? "transpiler loaded at agent start" : "agent just started";
        rows.push({
          name: `cold start: pull + transpile + start, QuickJS command (${size} MB), ${how}`,
          value: total,
          unit: "ms",
          baseline: { name: "bare `deno run` of an empty module", value: floor, unit: "ms" },
          ratio: total / floor,
          target: "≤ 2000 ms",
          met: total <= 2000,
        });
        rows.push({ name: "  of which pull (manifest, config, layer)", value: t1 - t0, unit: "ms" });
        rows.push({ name: "  of which transpile (jco, in the worker) + checks", value: t2 - t1, unit: "ms" });
        rows.push({ name: "  of which sandbox process start", value: t3 - t2, unit: "ms" });
        rows.push({
          name: "  of which glue import + compile + instantiate + run",
          value: t4 - t3,
          unit: "ms",
        });
        if (!warmAgent) continue;

        const w0 = performance.now();
        const again = await deploy(client, cache, qjs.reference);
        await sandbox.startContainer({ id: "warm", component: again });
        const warm = performance.now() - w0;
        await sandbox.waitContainer("warm");
        rows.push({ name: "warm start: cached image, running sandbox", value: warm, unit: "ms" });

        const s0 = performance.now();
        const proxy = await deploy(client, cache, sm.reference);
        const port = freePort();
        const s1 = await Sandbox.start({ permissions: { read: [cache.dir], net: ["127.0.0.1"] } });
        sandboxes.push(s1);
        await s1.startContainer({ id: "proxy", component: proxy, listen: [{ ip: "127.0.0.1", port }] });
        await (await fetch(`http://127.0.0.1:${port}/`)).text();
        const first = performance.now() - s0;
        rows.push({
          name: `cold start to first response, StarlingMonkey proxy (${
            (sm.size / 1e6).toFixed(1)
          } MB), transpiler loaded`,
          value: first,
          unit: "ms",
          baseline: { name: "bare `deno run`", value: floor, unit: "ms" },
          ratio: first / floor,
        });
      } finally {
        cache.close();
      }
    }

    // Raw in-process instantiation (no sandbox, no IPC).
    const client = new RegistryClient({ blobDir: `${dir}/blobs` });
    const cache = new ComponentCache({ dir: `${dir}/wasm` });
    try {
      const qjsComponent = await deploy(client, cache, qjs.reference);
      const smComponent = await deploy(client, cache, sm.reference);
      const cComponent = await deploy(client, cache, lean.reference);
      for (
        const [label, c] of [["QuickJS command", qjsComponent], [
          "StarlingMonkey proxy",
          smComponent,
        ]] as const
      ) {
        const t = await instantiateTimes(c, 20);
        rows.push({
          name: `raw in-process instantiate, ${label} (median of 19)`,
          value: t.median,
          unit: "ms",
        });
        rows.push({
          name: `  first instantiate / load + compile, ${label}`,
          value: t.first,
          unit: "ms",
          baseline: { name: "load + compile", value: t.compile, unit: "ms" },
        });
      }

      // HTTP throughput: bare Deno.serve process vs one proxy component in a sandbox, for the
      // StarlingMonkey JS guest and for the lean C guest (whose own work is nil: what it shows is
      // the host's cost of a request), and where the sandbox's time goes under that load.
      const barePort = freePort();
      const bare = await bareServer(barePort);
      let baseline;
      try {
        await load(`http://127.0.0.1:${barePort}/`, 1);
        baseline = await load(`http://127.0.0.1:${barePort}/`);
      } finally {
        await bare.stop();
      }
      const bareRow = { name: "bare Deno.serve process", value: baseline.rps, unit: "req/s" };
      for (
        const [label, component] of [
          ["StarlingMonkey JS wasi:http component (14.5 MB)", smComponent],
          ["lean C wasi:http component (7 kB)", cComponent],
        ] as const
      ) {
        const port = freePort();
        const sandbox = await Sandbox.start({ permissions: { read: [cache.dir], net: ["127.0.0.1"] } });
        sandboxes.push(sandbox);
        await sandbox.startContainer({ id: "web", component, listen: [{ ip: "127.0.0.1", port }] });
        await load(`http://127.0.0.1:${port}/`, 2);
        const wasm = await load(`http://127.0.0.1:${port}/`);
        await sandbox.kill();
        rows.push({
          name:
            `HTTP hello through one ${label} in a sandbox (${wasm.tool}, ${LOAD.connections} connections, ${LOAD.seconds} s)`,
          value: wasm.rps,
          unit: "req/s",
          baseline: bareRow,
          ratio: wasm.rps / baseline.rps,
        });
        rows.push({
          name: "  latency p50 / p99",
          value: wasm.p50,
          unit: `ms / ${wasm.p99.toFixed(1)} ms`,
          baseline: { name: "bare p50", value: baseline.p50, unit: "ms" },
        });

        // Where the time goes: the same load against a profiled sandbox.
        const profDir = await Deno.makeTempDir({ dir, prefix: "profile-" });
        const pport = freePort();
        const profiled = await Sandbox.start({
          permissions: { read: [cache.dir], net: ["127.0.0.1"] },
          cpuProfileDir: profDir,
        });
        await profiled.startContainer({ id: "web", component, listen: [{ ip: "127.0.0.1", port: pport }] });
        await load(`http://127.0.0.1:${pport}/`, 2);
        await load(`http://127.0.0.1:${pport}/`, 3);
        await profiled.shutdown(5000);
        const file = [...Deno.readDirSync(profDir)].find((e) =>
          e.name.endsWith(".cpuprofile") && !e.name.includes("worker")
        );
        if (file) {
          const shares = profileShares(JSON.parse(await Deno.readTextFile(`${profDir}/${file.name}`)));
          for (const [who, pct] of Object.entries(shares).sort((a, b) => b[1] - a[1])) {
            if (pct >= 0.5) {
              rows.push({ name: `  CPU profile of the sandbox under load: ${who}`, value: pct, unit: "%" });
            }
          }
        }
      }

      // Memory: an idle sandbox, then each extra proxy container.
      const mem = await Sandbox.start({ permissions: { read: [cache.dir], net: ["127.0.0.1"] } });
      sandboxes.push(mem);
      await new Promise((r) => setTimeout(r, 300));
      const idle = rssKiB(mem.pid);
      rows.push({ name: "RSS of an idle sandbox process", value: idle / 1024, unit: "MiB" });
      const rss = [idle];
      for (let i = 0; i < 4; i++) {
        const p = freePort();
        await mem.startContainer({
          id: `p${i}`,
          component: smComponent,
          listen: [{ ip: "127.0.0.1", port: p }],
        });
        await (await fetch(`http://127.0.0.1:${p}/`)).text();
        rss.push(rssKiB(mem.pid));
      }
      const perExtra = (rss[4] - rss[1]) / 3 / 1024;
      rows.push({
        name: "RSS per extra StarlingMonkey proxy container in a shared sandbox",
        value: perExtra,
        unit: "MiB",
        baseline: { name: "first container", value: (rss[1] - rss[0]) / 1024, unit: "MiB" },
      });
    } finally {
      cache.close();
    }
  } finally {
    for (const s of sandboxes) await s.kill();
    await registry.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  rows.push({
    name: "load average (1 min) when the Wasm benchmarks started",
    value: Number(loadAverage),
    unit: "",
  });
  return rows;
}

if (import.meta.main) {
  console.log(table(await benchWasm()));
}
