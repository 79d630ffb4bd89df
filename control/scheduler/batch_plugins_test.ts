import assert from "node:assert/strict";
import { fitErrorMessage } from "./fit_error.ts";
import { type BatchPlugin, Framework } from "./framework.ts";
import { defaultPlugins } from "./plugins/default_plugins.ts";
import { PodScheduler } from "./schedule_pod.ts";
import { cacheWith, nv, pv } from "./testing.ts";
import { type NodeInfoView, type PodView, type Status, status } from "./types.ts";

/** A batch plugin that rejects the nodes in `reject`, scores `prefer` 100, and records its calls. */
function recorder(
  reject: Set<string>,
  prefer: string,
): BatchPlugin & { filtered: string[][]; scored: string[][] } {
  return {
    name: "Batch",
    batch: true,
    events: ["NodeAdd"],
    filtered: [],
    scored: [],
    filterBatch(_pod: PodView, nodes: readonly NodeInfoView[]): Promise<(Status | null)[]> {
      this.filtered.push(nodes.map((n) => n.node.name));
      return Promise.resolve(
        nodes.map((n) => reject.has(n.node.name) ? status("Unschedulable", "batch says no") : null),
      );
    },
    scoreBatch(_pod: PodView, nodes: readonly NodeInfoView[]): Promise<number[] | Status> {
      this.scored.push(nodes.map((n) => n.node.name));
      return Promise.resolve(nodes.map((n) => n.node.name === prefer ? 100 : 0));
    },
  };
}

Deno.test("a batch plugin filters only the nodes the built-in filters kept, and scores only the feasible ones", async () => {
  const cache = cacheWith([
    nv("a", { cpu: "1" }),
    nv("b"),
    nv("c", { taints: [{ key: "key", value: "value", effect: "NoSchedule" }] }),
    nv("d"),
    nv("e"),
  ]);
  const batch = recorder(new Set(["d"]), "e");
  const fw = new Framework([...defaultPlugins(), { plugin: batch, weight: 100 }]);
  const out = await new PodScheduler(fw).scheduleWithBatches(pv("p", { cpu: "2" }), cache);
  assert.equal(out.kind === "scheduled" && out.node, "e");
  assert.deepEqual(batch.filtered, [["b", "d", "e"]], "one Filter call, on the nodes the built-ins kept");
  assert.deepEqual(batch.scored, [["b", "e"]], "one Score call, on the feasible nodes");
});

Deno.test("a batch plugin's rejections count in the FitError, and its answers are kept for preemption's dry runs", async () => {
  const cache = cacheWith([nv("a", { cpu: "1" }), nv("b")]);
  const batch = recorder(new Set(["b"]), "");
  const fw = new Framework([...defaultPlugins(), { plugin: batch, weight: 1 }]);
  const pod = pv("p", { cpu: "2" });
  const out = await new PodScheduler(fw).scheduleWithBatches(pod, cache);
  assert.equal(out.kind, "unschedulable");
  if (out.kind !== "unschedulable") return;
  assert.equal(
    fitErrorMessage(out.numAllNodes, out.diagnosis),
    "0/2 nodes are available: 1 Insufficient cpu, 1 batch says no.",
  );
  assert.ok(out.diagnosis.unschedulablePlugins.has("Batch"));
  assert.equal(fw.runFilters(out.state, pod, cache.get("b")!)?.plugin, "Batch");
  assert.equal(
    fw.batchFiltered(pod, "a"),
    false,
    "a node the built-ins rejected never reached the batch plugin",
  );
});

Deno.test("when the batch filter rejects some of the wanted nodes, the next nodes are filtered in another batch", async () => {
  const names = Array.from({ length: 120 }, (_, i) => `n${String(i).padStart(3, "0")}`);
  const cache = cacheWith(names.map((n) => nv(n)));
  const batch = recorder(new Set(names.slice(0, 10)), "");
  const fw = new Framework([...defaultPlugins(), { plugin: batch, weight: 1 }]);
  const s = new PodScheduler(fw);
  const out = await s.scheduleWithBatches(pv("p"), cache);
  assert.equal(
    out.kind === "scheduled" && out.feasible,
    100,
    "upstream finds numFeasibleNodesToFind = 100 feasible nodes",
  );
  assert.equal(batch.filtered.length, 2);
  assert.equal(batch.filtered[0].length, 100);
  assert.equal(batch.filtered[1].length, 10, "only the 10 still wanted");
  assert.equal(s.nextStartNodeIndex, 110);
});
