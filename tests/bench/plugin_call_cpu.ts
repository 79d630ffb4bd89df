/**
 * CPU accounting of one scheduling call (issue 6's plugin figures), not in `deno task bench`:
 * a plugin host in this process with one scheduler plugin in its runner, a pod and 230 cached
 * node references (what a cycle sends on a 500-node cluster), called three ways in turns:
 * `direct` (`PluginHost.cycle`: the host's work and the pipe to the runner), `http` (a `fetch`
 * per call to the host's HTTP API, both ends in this process), `channel` (the callers'
 * channel, control/api/plugin_channel.ts) and `runner-socket` (the scheduler's direct path to
 * the runner's own socket, control/scheduler/plugins/wasm_direct.ts). Prints wall time, this process's CPU (process
 * `cpuUsage`) and the runner's (its `/proc/<pid>/stat`) per call. CPU per call is what the
 * loaded 2-core machine makes noisy least.
 *
 * Run alone: `deno run -A tests/bench/plugin_call_cpu.ts [label-c|image-locality|label-c-v0.1]`.
 * @module
 */
import process from "node:process";
import { PluginHostCaller } from "../../control/api/plugin_channel.ts";
import type { PluginObject } from "../../control/api/plugins.ts";
import { NodeInfo } from "../../control/scheduler/node_info.ts";
import { nodeRecord, podRecord } from "../../control/scheduler/plugins/wasm_plugins.ts";
import { DirectCycles } from "../../control/scheduler/plugins/wasm_direct.ts";
import { makeNode, makePod } from "../../control/scheduler/testing.ts";
import { nodeView, podView, type ViewContext } from "../../control/scheduler/views.ts";
import { buildPlugin } from "../../plugins/host/build.ts";
import { PluginHost } from "../../plugins/host/server.ts";

const ROOT = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");
const SOURCES: Record<string, string> = {
  "label-c": "plugins/scheduler/examples/label_c/plugin.c",
  "image-locality": "plugins/scheduler/builtin/image_locality/plugin.ts",
  // The C example as written for skiff:scheduler@0.1.0 (built against its WIT).
  "label-c-v0.1": "plugins/scheduler/v0_1/label_c/plugin.c",
};
const IMAGE = "registry.example/app:1.0";
const CALLS = 1000;

const which = Deno.args[0] ?? "label-c";
if (!SOURCES[which]) throw new Error(`no plugin ${which}: one of ${Object.keys(SOURCES).join(", ")}`);
const built = await buildPlugin({
  kind: "scheduler",
  source: `${ROOT}/${SOURCES[which]}`,
  wit: which === "label-c-v0.1" ? `${ROOT}/plugins/scheduler/v0_1/wit` : undefined,
});
const dir = await Deno.makeTempDir({ prefix: "skiff-bench-call-cpu-" });
const host = new PluginHost({ dataDir: dir, pull: () => Promise.resolve(built), log: () => {} });
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, host.handler);
host.listenChannel({ hostname: "127.0.0.1" });
const caller = new PluginHostCaller({ url: `http://127.0.0.1:${server.addr.port}` });
const sockets = new DirectCycles((path, body) => host.post(path, body), "bench");
try {
  await host.apply({
    apiVersion: "skiff.dev/v1alpha1",
    kind: "Plugin",
    metadata: { name: "p", generation: 1 },
    spec: { kind: "scheduler", image: "bench.local/p", scheduler: { filter: true, score: true } },
  } as PluginObject);
  const pid = host.list()[0].pid!;
  const nodes = Array.from({ length: 230 }, (_, i) => {
    const n = makeNode(`node-${i}`, { cpu: "8", memory: "32Gi", pods: "110" });
    if (i % 10 === 0) n.status.images = [{ names: [IMAGE], sizeBytes: 300 << 20 }];
    return nodeRecord(new NodeInfo(nodeView(n)), n);
  });
  const p = makePod("pod-1", { cpu: "100m", memory: "128Mi" });
  p.spec.containers[0].image = IMAGE;
  const ctx: ViewContext = { priorityClasses: { get: () => undefined, globalDefault: () => undefined }, runtimeClass: () => undefined } as never;
  const pod = podRecord(podView(p, ctx), p);
  const request = (full: boolean) => ({
    plugins: [{ name: "p", filter: true, score: true }],
    pod,
    nodes: full ? nodes : nodes.map((n) => n.name),
    session: "bench",
  });
  await host.cycle(request(true));
  const sent = nodes.map((record) => ({ record, json: JSON.stringify(record) }));
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const runnerCpu = () => {
    const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) * 1000 / 100;
  };
  const calls: Record<string, () => Promise<unknown>> = {
    direct: () => host.cycle(request(false)),
    http: async () => {
      const res = await fetch(`http://127.0.0.1:${server.addr.port}/scheduler/cycle`, { method: "POST", body: JSON.stringify(request(false)) });
      return await res.json();
    },
    channel: () => caller.post("/scheduler/cycle", request(false), 10_000),
    // The scheduler's direct path (control/scheduler/plugins/wasm_direct.ts): the runner's socket.
    "runner-socket": async () => {
      const r = await sockets.cycle({ name: "p", filter: true, score: true }, pod, sent, 10_000);
      if (!r || r.failure) throw new Error(`the direct path did not answer: ${JSON.stringify(r)}`);
      return r;
    },
  };
  for (let i = 0; i < 200 && !(await sockets.cycle({ name: "p", filter: true, score: true }, pod, sent, 10_000)); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  console.log(`load average ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  for (let round = 0; round < 2; round++) {
    for (const [mode, call] of Object.entries(calls)) {
      const [c0, r0, t0] = [cpu(), runnerCpu(), performance.now()];
      for (let i = 0; i < CALLS; i++) await call();
      const [t, c, r] = [(performance.now() - t0) / CALLS, (cpu() - c0) / CALLS, (runnerCpu() - r0) / CALLS];
      console.log(`${which} ${mode} (round ${round + 1}): wall ${t.toFixed(3)} ms/call, this process ${c.toFixed(3)} ms CPU/call, runner ${r.toFixed(3)} ms CPU/call`);
    }
  }
} finally {
  caller.close();
  sockets.close();
  await host[Symbol.asyncDispose]();
  await server.shutdown();
  await Deno.remove(dir, { recursive: true });
}
