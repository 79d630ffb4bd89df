import assert from "node:assert/strict";
import { CycleState, type NodeView, type PodView } from "../types.ts";
import { cacheWith, nv, pv } from "../testing.ts";
import {
  ERR_REASON_CONSTRAINTS_NOT_MATCH,
  ERR_REASON_NODE_LABEL_NOT_MATCH,
  podTopologySpread,
} from "./pod_topology_spread.ts";

const zone = (z: string) => ({ "topology.kubernetes.io/zone": z });
const spread = (
  whenUnsatisfiable: string,
  topologyKey = "topology.kubernetes.io/zone",
  maxSkew = 1,
  extra = {},
) => [{
  maxSkew,
  topologyKey,
  whenUnsatisfiable,
  labelSelector: { matchLabels: { app: "web" } },
  ...extra,
}];
const web = (name: string, node: string) => ({ ...pv(name, { labels: { app: "web" } }), nodeName: node });

function filterAll(pod: PodView, nodes: NodeView[], pods: PodView[]) {
  const cache = cacheWith(nodes, pods);
  const st = new CycleState();
  assert.equal(podTopologySpread.preFilter(st, pod, cache), null);
  return Object.fromEntries(
    cache.nodes().map((n) => [n.node.name, podTopologySpread.filter(st, pod, n)?.reasons[0] ?? "ok"]),
  );
}

Deno.test("PodTopologySpread skips pods without DoNotSchedule constraints", () => {
  assert.deepEqual(podTopologySpread.preFilter(new CycleState(), pv("p"), cacheWith([])), {
    code: "Skip",
    reasons: [],
  });
});

Deno.test("PodTopologySpread keeps the skew between zones within maxSkew", () => {
  const nodes = [
    nv("a1", { labels: zone("a") }),
    nv("a2", { labels: zone("a") }),
    nv("b1", { labels: zone("b") }),
  ];
  const pod = pv("p", { labels: { app: "web" }, spread: spread("DoNotSchedule") });
  // zone a holds 1 matching pod, zone b none: placing in a would make the skew 2.
  assert.deepEqual(filterAll(pod, nodes, [web("x", "a1")]), {
    a1: ERR_REASON_CONSTRAINTS_NOT_MATCH,
    a2: ERR_REASON_CONSTRAINTS_NOT_MATCH,
    b1: "ok",
  });
});

Deno.test("PodTopologySpread rejects nodes without the topology key as unresolvable", () => {
  const nodes = [nv("a1", { labels: zone("a") }), nv("x")];
  const st = new CycleState();
  const cache = cacheWith(nodes);
  const pod = pv("p", { labels: { app: "web" }, spread: spread("DoNotSchedule") });
  podTopologySpread.preFilter(st, pod, cache);
  assert.deepEqual(podTopologySpread.filter(st, pod, cache.get("x")!), {
    code: "UnschedulableAndUnresolvable",
    reasons: [ERR_REASON_NODE_LABEL_NOT_MATCH],
  });
});

Deno.test("PodTopologySpread does not count pods of other namespaces, non-matching pods or terminating pods", () => {
  const nodes = [nv("a1", { labels: zone("a") }), nv("b1", { labels: zone("b") })];
  const pod = pv("p", { labels: { app: "web" }, spread: spread("DoNotSchedule") });
  const others = [
    { ...pv("o1", { labels: { app: "web" }, namespace: "other" }), nodeName: "a1" },
    { ...pv("o2", { labels: { app: "db" } }), nodeName: "a1" },
    { ...pv("o3", { labels: { app: "web" }, terminating: true }), nodeName: "a1" },
  ];
  assert.deepEqual(filterAll(pod, nodes, others), { a1: "ok", b1: "ok" });
});

Deno.test("PodTopologySpread treats the global minimum as 0 while fewer domains than minDomains exist", () => {
  const nodes = [nv("a1", { labels: zone("a") }), nv("b1", { labels: zone("b") })];
  const pod = pv("p", {
    labels: { app: "web" },
    spread: spread("DoNotSchedule", undefined, 1, { minDomains: 3 }),
  });
  assert.deepEqual(filterAll(pod, nodes, [web("x", "a1"), web("y", "b1")]), {
    a1: ERR_REASON_CONSTRAINTS_NOT_MATCH,
    b1: ERR_REASON_CONSTRAINTS_NOT_MATCH,
  });
});

Deno.test("PodTopologySpread ignores nodes the pod's node affinity excludes when computing the minimum (nodeAffinityPolicy Honor)", () => {
  const nodes = [
    nv("a1", { labels: { ...zone("a"), pool: "x" } }),
    nv("b1", { labels: { ...zone("b"), pool: "y" } }),
  ];
  const pod = pv("p", {
    labels: { app: "web" },
    nodeSelector: { pool: "x" },
    spread: spread("DoNotSchedule"),
  });
  // Zone b is not eligible, so zone a is the minimum and the pod may join it.
  assert.equal(filterAll(pod, nodes, [web("x", "a1")]).a1, "ok");
});

Deno.test("PodTopologySpread's PreFilter state follows pods added and removed by preemption", () => {
  const nodes = [nv("a1", { labels: zone("a") }), nv("b1", { labels: zone("b") })];
  const cache = cacheWith(nodes, [web("x", "a1")]);
  const pod = pv("p", { labels: { app: "web" }, spread: spread("DoNotSchedule") });
  const st = new CycleState();
  podTopologySpread.preFilter(st, pod, cache);
  assert.ok(podTopologySpread.filter(st, pod, cache.get("a1")!));
  const copy = st.clone();
  podTopologySpread.removePod!(copy, pod, web("x", "a1"), cache.get("a1")!);
  assert.equal(podTopologySpread.filter(copy, pod, cache.get("a1")!), null);
  assert.ok(podTopologySpread.filter(st, pod, cache.get("a1")!), "the original state is untouched");
});

Deno.test("PodTopologySpread scores the node in the emptier zone higher for ScheduleAnyway constraints", () => {
  const nodes = [nv("a1", { labels: zone("a") }), nv("b1", { labels: zone("b") })];
  const cache = cacheWith(nodes, [web("x", "a1"), web("y", "a1")]);
  const pod = pv("p", { labels: { app: "web" }, spread: spread("ScheduleAnyway") });
  const st = new CycleState();
  const infos = cache.nodes();
  assert.equal(podTopologySpread.preScore(st, pod, infos, cache), null);
  const scores = infos.map((n) => podTopologySpread.score(st, pod, n));
  // weight ln(2 + 2); zone a: 2 × 1.386 = 2.77 → 3; zone b: 0.
  assert.deepEqual(scores, [3, 0]);
  podTopologySpread.normalizeScore!(st, pod, infos, scores);
  assert.deepEqual(scores, [0, 100]);
});

Deno.test("PodTopologySpread counts pods per node for the hostname key when scoring", () => {
  const nodes = [nv("n1"), nv("n2"), nv("n3")];
  const cache = cacheWith(nodes, [web("x", "n1"), web("y", "n1"), web("z", "n2")]);
  const pod = pv("p", { labels: { app: "web" }, spread: spread("ScheduleAnyway", "kubernetes.io/hostname") });
  const st = new CycleState();
  const infos = cache.nodes();
  podTopologySpread.preScore(st, pod, infos, cache);
  const scores = infos.map((n) => podTopologySpread.score(st, pod, n));
  podTopologySpread.normalizeScore!(st, pod, infos, scores);
  assert.ok(scores[2] > scores[1] && scores[1] > scores[0], `scores ${scores}`);
});
