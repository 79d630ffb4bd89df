import assert from "node:assert/strict";
import { CycleState } from "../types.ts";
import { nodeInfo, nv, pv } from "../testing.ts";
import { taintToleration } from "./taint_toleration.ts";

const st = new CycleState();

Deno.test("TaintToleration rejects an untolerated NoSchedule or NoExecute taint, naming it", () => {
  for (const effect of ["NoSchedule", "NoExecute"]) {
    const s = taintToleration.filter(
      st,
      pv("p"),
      nodeInfo(nv("n", { taints: [{ key: "dedicated", value: "gpu", effect }] })),
    );
    assert.deepEqual(s, {
      code: "UnschedulableAndUnresolvable",
      reasons: ["node(s) had untolerated taint {dedicated: gpu}"],
    });
  }
});

Deno.test("TaintToleration ignores PreferNoSchedule in the Filter", () => {
  assert.equal(
    taintToleration.filter(
      st,
      pv("p"),
      nodeInfo(nv("n", { taints: [{ key: "k", value: "v", effect: "PreferNoSchedule" }] })),
    ),
    null,
  );
});

Deno.test("TaintToleration honours Equal and Exists tolerations, with and without an effect", () => {
  const node = nodeInfo(nv("n", { taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] }));
  const fits = (tolerations: unknown[]) =>
    taintToleration.filter(st, pv("p", { tolerations }), node) === null;
  assert.ok(fits([{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }]));
  assert.ok(fits([{ key: "dedicated", value: "gpu" }]));
  assert.ok(fits([{ key: "dedicated", operator: "Exists" }]));
  assert.ok(fits([{ operator: "Exists" }]));
  assert.ok(!fits([{ key: "dedicated", value: "cpu" }]));
  assert.ok(!fits([{ key: "dedicated", operator: "Exists", effect: "NoExecute" }]));
});

Deno.test("TaintToleration scores fewer untolerated PreferNoSchedule taints higher", () => {
  const nodes = [
    nodeInfo(nv("a")),
    nodeInfo(nv("b", { taints: [{ key: "x", value: "1", effect: "PreferNoSchedule" }] })),
    nodeInfo(
      nv("c", {
        taints: [{ key: "x", value: "1", effect: "PreferNoSchedule" }, {
          key: "y",
          value: "2",
          effect: "PreferNoSchedule",
        }],
      }),
    ),
  ];
  const p = pv("p", { tolerations: [{ key: "y", operator: "Exists", effect: "PreferNoSchedule" }] });
  const scores = nodes.map((n) => taintToleration.score(st, p, n));
  assert.deepEqual(scores, [0, 1, 1]);
  taintToleration.normalizeScore!(st, p, nodes, scores);
  assert.deepEqual(scores, [100, 0, 0]);
});
