import assert from "node:assert/strict";
import { fitErrorMessage } from "./fit_error.ts";
import { Framework } from "./framework.ts";
import { Nominator } from "./nominator.ts";
import { ERR_NO_NODES_AVAILABLE, numFeasibleNodesToFind, PodScheduler, selectHost } from "./schedule_pod.ts";
import { cacheWith, nodeInfo, nv, pv } from "./testing.ts";

Deno.test("numFeasibleNodesToFind() follows upstream's adaptive percentageOfNodesToScore", () => {
  assert.equal(numFeasibleNodesToFind(50), 50);
  assert.equal(numFeasibleNodesToFind(100), 100);
  assert.equal(numFeasibleNodesToFind(1000), 420); // 50 - 8 = 42 %
  assert.equal(numFeasibleNodesToFind(5000), 500); // 50 - 40 = 10 %
  assert.equal(numFeasibleNodesToFind(6000), 300); // 50 - 48 = 2 % → at least 5 %
  assert.equal(numFeasibleNodesToFind(1500, 1), 100); // at least 100
  assert.equal(numFeasibleNodesToFind(1000, 50), 500);
});

Deno.test("PodScheduler picks the node with the most room (LeastAllocated, BalancedAllocation)", () => {
  const cache = cacheWith([nv("a"), nv("b"), nv("c")], [
    { ...pv("x", { cpu: "3", memory: "6Gi" }), nodeName: "a" },
    { ...pv("y", { cpu: "1", memory: "2Gi" }), nodeName: "c" },
  ]);
  const out = new PodScheduler(new Framework()).schedule(pv("p", { cpu: "500m", memory: "1Gi" }), cache);
  assert.equal(out.kind, "scheduled");
  assert.equal(out.kind === "scheduled" && out.node, "b");
});

Deno.test("PodScheduler explains a pod no node fits with one status per node", () => {
  const cache = cacheWith([
    nv("a", { cpu: "1" }),
    nv("b", { cpu: "1" }),
    nv("c", { taints: [{ key: "key", value: "value", effect: "NoSchedule" }] }),
  ]);
  const out = new PodScheduler(new Framework()).schedule(pv("p", { cpu: "2" }), cache);
  assert.equal(out.kind, "unschedulable");
  if (out.kind !== "unschedulable") return;
  assert.equal(
    fitErrorMessage(out.numAllNodes, out.diagnosis),
    "0/3 nodes are available: 1 node(s) had untolerated taint {key: value}, 2 Insufficient cpu.",
  );
  assert.deepEqual([...out.diagnosis.unschedulablePlugins].sort(), ["NodeResourcesFit", "TaintToleration"]);
});

Deno.test("PodScheduler reports 'no nodes available' without nodes", () => {
  const out = new PodScheduler(new Framework()).schedule(pv("p"), cacheWith([]));
  assert.equal(out.kind === "error" && out.status.reasons[0], ERR_NO_NODES_AVAILABLE);
});

Deno.test("PodScheduler only evaluates the nodes PreFilter narrowed to, and says so for the others", () => {
  const cache = cacheWith([nv("a"), nv("b", { cpu: "1" }), nv("c")]);
  const pod = pv("p", {
    cpu: "2",
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["b"] }] }],
        },
      },
    },
  });
  const out = new PodScheduler(new Framework()).schedule(pod, cache);
  assert.equal(out.kind, "unschedulable");
  if (out.kind !== "unschedulable") return;
  assert.equal(
    fitErrorMessage(3, out.diagnosis),
    "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity].",
  );
});

Deno.test("PodScheduler rotates where the Filter pass starts, so every node gets its turn", () => {
  const names = Array.from({ length: 300 }, (_, i) => `n${String(i).padStart(3, "0")}`);
  const cache = cacheWith(names.map((n) => nv(n)));
  const s = new PodScheduler(new Framework());
  s.schedule(pv("p"), cache, { random: () => 0.5 });
  // 300 nodes: all are feasible-to-find (adaptive 48 % → 144, at least 100): 144 processed.
  assert.equal(s.nextStartNodeIndex, numFeasibleNodesToFind(300));
  s.schedule(pv("q"), cache, { random: () => 0.5 });
  assert.equal(s.nextStartNodeIndex, (2 * numFeasibleNodesToFind(300)) % 300);
});

Deno.test("PodScheduler tries the nominated node first and takes it when it fits", () => {
  const cache = cacheWith([nv("a"), nv("b"), nv("c", { cpu: "1" })]);
  const out = new PodScheduler(new Framework()).schedule(pv("p"), cache, { nominatedNode: "c" });
  assert.equal(out.kind === "scheduled" && out.node, "c");
});

Deno.test("PodScheduler keeps room for higher-priority pods nominated to a node", () => {
  const cache = cacheWith([nv("a", { cpu: "2" })]);
  const nominator = new Nominator();
  nominator.set(pv("vip", { cpu: "2", priority: 100 }), "a");
  const s = new PodScheduler(new Framework());
  assert.equal(
    s.schedule(pv("low", { cpu: "1", priority: 1 }), cache, { nominated: nominator }).kind,
    "unschedulable",
  );
  assert.equal(
    s.schedule(pv("higher", { cpu: "1", priority: 1000 }), cache, { nominated: nominator }).kind,
    "scheduled",
  );
});

Deno.test("selectHost() breaks ties at random and never picks a lower score", () => {
  const nodes = ["a", "b", "c"].map((n) => nodeInfo(nv(n)));
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) seen.add(selectHost(nodes, [5, 9, 9], Math.random));
  assert.deepEqual([...seen].sort(), ["b", "c"]);
  assert.equal(selectHost(nodes, [5, 9, 9], () => 0.99), "b");
});
