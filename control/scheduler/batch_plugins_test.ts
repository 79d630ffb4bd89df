import assert from "node:assert/strict";
import { fitErrorMessage } from "./fit_error.ts";
import { type BatchPlugin, Framework } from "./framework.ts";
import { defaultPlugins } from "./plugins/default_plugins.ts";
import { PodScheduler } from "./schedule_pod.ts";
import { cacheWith, nv, pv } from "./testing.ts";
import { type NodeInfoView, type PodView, type ScorePlugin, type Status, status } from "./types.ts";

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

/**
 * An in-process Score plugin whose scores depend on the set of nodes scored (it normalizes to
 * the share of the nodes given, as upstream normalizers do over the feasible nodes): each call
 * records the nodes scored and whether `batch` had answered by then.
 */
function setDependentScore(
  answered: () => boolean,
): ScorePlugin & { calls: { nodes: string[]; answered: boolean }[] } {
  return {
    name: "SetDependent",
    events: [],
    calls: [],
    score: (_s, _p, n) => n.node.name.charCodeAt(0),
    normalizeScore(_s, _p, nodes, scores) {
      this.calls.push({ nodes: nodes.map((n) => n.node.name), answered: answered() });
      // The highest score goes to the node just after the middle of the set given.
      const pick = Math.floor(nodes.length / 2);
      scores.forEach((_, i) => (scores[i] = i === pick ? 100 : 0));
    },
  };
}

Deno.test("the in-process scores are computed while the batch filter call is in flight, and again when it rejects a node", async () => {
  for (const reject of [new Set<string>(), new Set(["b"])]) {
    const cache = cacheWith(["a", "b", "c", "d"].map((n) => nv(n)));
    let answered = false;
    const batch = recorder(reject, "");
    const filterBatch = batch.filterBatch.bind(batch);
    batch.filterBatch = async (pod, nodes) => {
      const got = await filterBatch(pod, nodes);
      await new Promise((r) => setTimeout(r, 5));
      answered = true;
      return got;
    };
    const score = setDependentScore(() => answered);
    const fw = new Framework([{ plugin: score, weight: 1 }, { plugin: batch, weight: 1 }]);
    const out = await new PodScheduler(fw).scheduleWithBatches(pv("p"), cache);
    assert.equal(score.calls[0].answered, false, "the first in-process scoring overlaps the batch call");
    if (reject.size === 0) {
      assert.deepEqual(
        score.calls.map((c) => c.nodes),
        [["a", "b", "c", "d"]],
        "scored once: every node stayed feasible",
      );
      assert.equal(out.kind === "scheduled" && out.node, "c");
    } else {
      // Upstream scores the feasible nodes only: the nodes without "b", scored again after the answer.
      assert.deepEqual(score.calls.map((c) => c.nodes), [["a", "b", "c", "d"], ["a", "c", "d"]]);
      assert.equal(score.calls[1].answered, true);
      assert.equal(out.kind === "scheduled" && out.node, "c", "the middle of a, c, d");
    }
  }
});
