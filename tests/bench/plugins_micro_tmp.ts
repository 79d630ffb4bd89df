// TEMPORARY (H5 profiling; deleted before handing back).
import process from "node:process";
import { buildPlugin } from "../../plugins/host/build.ts";
import { PluginHost } from "../../plugins/host/server.ts";
import { makeNode, makePod } from "../../control/scheduler/testing.ts";
import { nodeRecord, podRecord } from "../../control/scheduler/plugins/wasm_plugins.ts";
import { NodeInfo } from "../../control/scheduler/node_info.ts";
import { podView, nodeView } from "../../control/scheduler/views.ts";
const ROOT = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");
const which = Deno.args[0] ?? "label-c";
const src = which === "label-c" ? "plugins/scheduler/examples/label_c/plugin.c" : "plugins/scheduler/builtin/image_locality/plugin.ts";
const b = await buildPlugin({ kind: "scheduler", source: `${ROOT}/${src}` });
const dir = await Deno.makeTempDir();
await using host = new PluginHost({ dataDir: dir, pull: () => Promise.resolve({ digest: b.digest, bytes: b.bytes }), log: () => {} });
await host.apply({ apiVersion: "skiff.dev/v1alpha1", kind: "Plugin", metadata: { name: "p", generation: 1 }, spec: { kind: "scheduler", image: "x", scheduler: { filter: true, score: true } } } as never);
const pid = host.list()[0].pid!;
const IMAGE = "registry.example/app:1.0";
const nodes = Array.from({ length: 230 }, (_, i) => { const n = makeNode(`node-${i}`, { cpu: "8", memory: "32Gi", pods: "110" }); if (i % 10 === 0) n.status.images = [{ names: [IMAGE], sizeBytes: 300 << 20 }]; return n; });
const records = nodes.map((n) => nodeRecord(new NodeInfo(nodeView(n)) as never, n));
const p = makePod("pod-1", { cpu: "100m", memory: "128Mi" }); p.spec.containers[0].image = IMAGE;
const pod = podRecord(podView(p, { priorityClasses: { get: () => undefined, globalDefault: () => undefined }, runtimeClass: () => undefined } as never) as never, p);
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const rcpu = () => { const s = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" "); return (Number(s[11]) + Number(s[12])) * 10; };
const req = (full: boolean) => ({ plugins: [{ name: "p", filter: true, score: true }], pod, nodes: full ? records : records.map((r) => ({ name: r.name, cached: true as const })), session: "s" });
await host.cycle(req(true));
const server = Deno.serve({ port: 0, onListen() {} }, host.handler);
const url = `http://127.0.0.1:${server.addr.port}/scheduler/cycle`;
for (const mode of (Deno.env.get("MODES") ?? "direct,http").split(",")) {
  const N = Number(Deno.env.get("N") ?? 1000);
  const c0 = cpu(), r0 = rcpu(), t0 = performance.now();
  for (let i = 0; i < N; i++) {
    if (mode === "direct") await host.cycle(req(false));
    else await (await fetch(url, { method: "POST", body: JSON.stringify(req(false)) })).json();
  }
  const t = (performance.now() - t0) / N, c = (cpu() - c0) / N, r = (rcpu() - r0) / N;
  console.log(`${which} ${mode}: wall ${t.toFixed(3)} ms/call; this process CPU ${c.toFixed(3)} ms/call; runner CPU ${r.toFixed(3)} ms/call`);
}
await server.shutdown();
