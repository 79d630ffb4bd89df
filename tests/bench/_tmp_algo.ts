import { Framework } from "../../control/scheduler/framework.ts";
import { PodScheduler } from "../../control/scheduler/schedule_pod.ts";
import { cacheWith, makePod, nv } from "../../control/scheduler/testing.ts";
import { podView } from "../../control/scheduler/views.ts";
import { priorityClassLookup } from "../../control/scheduler/priority.ts";
const cache = cacheWith(Array.from({ length: 5000 }, (_, i) => nv(`node-${i}`, { cpu: "4", memory: "16Gi", labels: { "topology.kubernetes.io/zone": `zone-${i % 10}` } })));
const algo = new PodScheduler(new Framework());
const ctx = { priorityClasses: priorityClassLookup([]), runtimeClass: () => undefined };
const n = 20000;
const pods = Array.from({ length: n }, (_, i) => podView(makePod(`p${i}`, { cpu: "100m", memory: "128Mi" }), ctx));
const t0 = performance.now();
for (const p of pods) { const out = algo.schedule(p, cache); if (out.kind !== "scheduled") throw 1; cache.assumePod({ ...p, nodeName: out.node }); }
console.log("pods/s", n / ((performance.now() - t0) / 1000));
