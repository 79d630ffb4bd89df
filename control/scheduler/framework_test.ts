import assert from "node:assert/strict";
import { Framework } from "./framework.ts";
import { Nominator } from "./nominator.ts";
import { cacheWith, nodeInfo, nv, pv } from "./testing.ts";
import { CycleState, type FilterPlugin, type PreFilterPlugin, type ScorePlugin, status } from "./types.ts";

Deno.test("Framework runs Filter plugins in order and reports the first that rejects, naming it", () => {
  const fw = new Framework();
  const st = new CycleState();
  const pod = pv("p", { cpu: "8" });
  fw.runPreFilter(st, pod, cacheWith([]));
  const s = fw.runFilters(
    st,
    pod,
    nodeInfo(nv("n", { cpu: "1", taints: [{ key: "k", value: "v", effect: "NoSchedule" }] })),
  );
  assert.equal(s?.plugin, "TaintToleration");
});

Deno.test("Framework skips the Filter of plugins whose PreFilter said Skip", () => {
  let filtered = 0;
  const plugin: PreFilterPlugin & FilterPlugin = {
    name: "Counting",
    events: [],
    preFilter: () => status("Skip"),
    filter: () => (filtered++, null),
  };
  const fw = new Framework([{ plugin, weight: 0 }]);
  const st = new CycleState();
  fw.runPreFilter(st, pv("p"), cacheWith([]));
  fw.runFilters(st, pv("p"), nodeInfo(nv("n")));
  assert.equal(filtered, 0);
});

Deno.test("Framework names the PreFilter plugins whose node sets do not intersect", () => {
  const only = (name: string, node: string): PreFilterPlugin => ({
    name,
    events: [],
    preFilter: () => ({ nodeNames: new Set([node]) }),
  });
  const fw = new Framework([{ plugin: only("A", "n1"), weight: 0 }, { plugin: only("B", "n2"), weight: 0 }]);
  const out = fw.runPreFilter(new CycleState(), pv("p"), cacheWith([]));
  assert.deepEqual(out.status, {
    code: "UnschedulableAndUnresolvable",
    reasons: ["node(s) didn't satisfy plugin(s) [A B] simultaneously"],
  });
});

Deno.test("Framework requires the pod to fit with and without the nominated pods of at least its priority", () => {
  const fw = new Framework();
  const nominator = new Nominator();
  nominator.set(pv("vip", { cpu: "3", priority: 10 }), "n");
  const st = new CycleState();
  const node = nodeInfo(nv("n", { cpu: "4" }));
  const pod = pv("p", { cpu: "2", priority: 5 });
  fw.runPreFilter(st, pod, cacheWith([]));
  assert.deepEqual(fw.runFiltersWithNominated(st, pod, node, nominator)?.reasons, ["Insufficient cpu"]);
  assert.equal(node.pods.length, 0, "the node itself is not changed");
  const equal = pv("q", { cpu: "2", priority: 20 });
  assert.equal(fw.runFiltersWithNominated(st, equal, node, nominator), null);
});

Deno.test("Framework adds weighted scores and rejects a plugin scoring out of range", () => {
  const fixed = (name: string, v: number): ScorePlugin => ({ name, events: [], score: () => v });
  const fw = new Framework([{ plugin: fixed("A", 10), weight: 3 }, { plugin: fixed("B", 20), weight: 1 }]);
  const nodes = [nodeInfo(nv("n"))];
  assert.deepEqual(fw.runScore(new CycleState(), pv("p"), nodes), [50]);
  const bad = new Framework([{ plugin: fixed("Bad", 101), weight: 1 }]);
  const s = bad.runScore(new CycleState(), pv("p"), nodes);
  assert.ok(!Array.isArray(s) && s.code === "Error");
});

Deno.test("Framework.eventMatters() asks the plugins that rejected the pod", () => {
  const fw = new Framework();
  assert.ok(fw.eventMatters("AssignedPodDelete", new Set(["NodeResourcesFit"])));
  assert.ok(!fw.eventMatters("AssignedPodDelete", new Set(["NodeAffinity"])));
  assert.ok(fw.eventMatters("NodeLabel", new Set(["NodeAffinity"])));
  assert.ok(fw.eventMatters("NodeRuntimeHandlers", new Set(["RuntimeClass"])));
  assert.ok(fw.eventMatters("PriorityClassChange", new Set(["PriorityClass"])));
  assert.ok(fw.eventMatters("NodeAdd", new Set()), "an error'd pod is retried on any event");
});

Deno.test("Nominator tracks one node per pod", () => {
  const n = new Nominator();
  const p = pv("p");
  n.set(p, "a");
  n.set(p, "b");
  assert.equal(n.nodeFor(p.key), "b");
  assert.equal(n.nominatedPodsForNode("a").length, 0);
  n.set(p, "");
  assert.equal(n.size, 0);
});
