import assert from "node:assert/strict";
import { CycleState } from "../types.ts";
import { nodeInfo, nv, pv } from "../testing.ts";
import { ERR_REASON_UNSCHEDULABLE, nodeUnschedulable } from "./node_unschedulable.ts";

Deno.test("NodeUnschedulable rejects a cordoned node", () => {
  const s = nodeUnschedulable.filter(new CycleState(), pv("p"), nodeInfo(nv("n", { unschedulable: true })));
  assert.deepEqual(s, { code: "UnschedulableAndUnresolvable", reasons: [ERR_REASON_UNSCHEDULABLE] });
  assert.equal(ERR_REASON_UNSCHEDULABLE, "node(s) were unschedulable");
});

Deno.test("NodeUnschedulable admits a pod tolerating the unschedulable taint, and any pod on an uncordoned node", () => {
  const tolerant = pv("p", {
    tolerations: [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" }],
  });
  assert.equal(
    nodeUnschedulable.filter(new CycleState(), tolerant, nodeInfo(nv("n", { unschedulable: true }))),
    null,
  );
  assert.equal(nodeUnschedulable.filter(new CycleState(), pv("p"), nodeInfo(nv("n"))), null);
});
