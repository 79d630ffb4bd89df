import { Client, R } from "../../control/api/client.ts";
import { startControlPlane } from "../../control/mod.ts";
import { makeNode, makePod } from "../../control/scheduler/testing.ts";
const mode = Deno.args[0];
const dir = await Deno.makeTempDir();
const kv = await Deno.openKv(mode === "mem" ? ":memory:" : `${dir}/state.kv`);
const cp = await startControlPlane({ kv, port: 0, compactionIntervalMs: 0 });
const client = new Client({ server: cp.url });
async function pool(n: number, c: number, fn: (i: number) => Promise<unknown>) { let next = 0; await Promise.all(Array.from({ length: c }, async () => { while (next < n) await fn(next++); })); }
await pool(100, 16, (i) => client.create(R.nodes, makeNode(`n${i}`)));
const N = 3000;
let t = performance.now();
await pool(N, 32, (i) => { const p = makePod(`p${i}`, { cpu: "100m" }); delete p.metadata.uid; delete p.metadata.resourceVersion; delete p.status; return client.create(R.pods, p); });
console.log(mode, "create/s", (N / ((performance.now() - t) / 1000)).toFixed(0));
for (const c of [1, 8, 32, 128]) {
  t = performance.now();
  const M = 600;
  const base = [1, 8, 32, 128].indexOf(c) * M;
  await pool(M, c, (i) => client.bind("default", `p${base + i}`, `n${i % 100}`));
  console.log(mode, "conc", c, "bind/s", (M / ((performance.now() - t) / 1000)).toFixed(0));
}
t = performance.now();
await pool(500, 32, (i) => client.create(R.events, { apiVersion: "v1", kind: "Event", metadata: { name: `e${i}`, namespace: "default" }, involvedObject: { kind: "Pod", name: "x", namespace: "default" }, reason: "Scheduled", message: "m", type: "Normal" }));
console.log(mode, "event create/s", (500 / ((performance.now() - t) / 1000)).toFixed(0));
await cp.close(); kv.close();
