import assert from "node:assert/strict";
import { CycleState } from "../types.ts";
import { cacheWith, nodeInfo, nv, pv } from "../testing.ts";
import { ERR_REASON_CONFLICT, ERR_REASON_POD, nodeAffinity } from "./node_affinity.ts";

const st = new CycleState();
const required = (...terms: unknown[]) => ({
  nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
});
const snap = cacheWith([]);

Deno.test("NodeAffinity skips pods without a nodeSelector or required node affinity", () => {
  assert.deepEqual(nodeAffinity.preFilter(st, pv("p"), snap), { code: "Skip", reasons: [] });
});

Deno.test("NodeAffinity requires every nodeSelector label", () => {
  const p = pv("p", { nodeSelector: { disk: "ssd" } });
  assert.equal(nodeAffinity.filter(st, p, nodeInfo(nv("a", { labels: { disk: "ssd" } }))), null);
  assert.deepEqual(nodeAffinity.filter(st, p, nodeInfo(nv("b", { labels: { disk: "hdd" } }))), {
    code: "UnschedulableAndUnresolvable",
    reasons: [ERR_REASON_POD],
  });
  assert.equal(ERR_REASON_POD, "node(s) didn't match Pod's node affinity/selector");
});

Deno.test("NodeAffinity ORs terms and ANDs a term's expressions (In, NotIn, Exists, DoesNotExist, Gt, Lt)", () => {
  const p = pv("p", {
    affinity: required(
      {
        matchExpressions: [{ key: "zone", operator: "In", values: ["a", "b"] }, {
          key: "gpu",
          operator: "DoesNotExist",
        }],
      },
      {
        matchExpressions: [{ key: "cores", operator: "Gt", values: ["32"] }, {
          key: "arch",
          operator: "NotIn",
          values: ["arm64"],
        }],
      },
    ),
  });
  const fits = (labels: Record<string, string>) =>
    nodeAffinity.filter(st, p, nodeInfo(nv("n", { labels }))) === null;
  assert.ok(fits({ zone: "a" }));
  assert.ok(!fits({ zone: "a", gpu: "yes" }));
  assert.ok(fits({ cores: "64" }));
  assert.ok(!fits({ cores: "64", arch: "arm64" }));
  assert.ok(!fits({ cores: "16" }));
  assert.ok(!fits({ zone: "c" }));
});

Deno.test("NodeAffinity PreFilter narrows to the nodes named by metadata.name fields", () => {
  const p = pv("p", {
    affinity: required(
      { matchFields: [{ key: "metadata.name", operator: "In", values: ["n1", "n2"] }] },
      { matchFields: [{ key: "metadata.name", operator: "In", values: ["n3"] }] },
    ),
  });
  assert.deepEqual(nodeAffinity.preFilter(st, p, snap), { nodeNames: new Set(["n1", "n2", "n3"]) });
  const conflict = pv("q", {
    affinity: required({
      matchFields: [{ key: "metadata.name", operator: "In", values: ["n1"] }, {
        key: "metadata.name",
        operator: "In",
        values: ["n2"],
      }],
    }),
  });
  assert.deepEqual(nodeAffinity.preFilter(st, conflict, snap), {
    code: "UnschedulableAndUnresolvable",
    reasons: [ERR_REASON_CONFLICT],
  });
  const mixed = pv("r", {
    affinity: required({ matchFields: [{ key: "metadata.name", operator: "In", values: ["n1"] }] }, {
      matchExpressions: [{ key: "x", operator: "Exists" }],
    }),
  });
  assert.equal(nodeAffinity.preFilter(st, mixed, snap), null);
});

Deno.test("NodeAffinity scores the weights of matching preferred terms, normalized to 100", () => {
  const p = pv("p", {
    affinity: {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 2, preference: { matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] } },
          { weight: 8, preference: { matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] } },
        ],
      },
    },
  });
  const nodes = [
    nodeInfo(nv("a", { labels: { disk: "ssd", zone: "a" } })),
    nodeInfo(nv("b", { labels: { zone: "a" } })),
    nodeInfo(nv("c")),
  ];
  assert.equal(nodeAffinity.preScore(st, p, nodes, snap), null);
  const scores = nodes.map((n) => nodeAffinity.score(st, p, n));
  assert.deepEqual(scores, [10, 8, 0]);
  nodeAffinity.normalizeScore!(st, p, nodes, scores);
  assert.deepEqual(scores, [100, 80, 0]);
  assert.deepEqual(nodeAffinity.preScore(st, pv("q"), nodes, snap), { code: "Skip", reasons: [] });
});
