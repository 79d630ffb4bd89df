import assert from "node:assert/strict";
import { CycleState } from "../types.ts";
import { nodeInfo, nv, pv } from "../testing.ts";
import { ERR_REASON_NODE_NAME, nodeName } from "./node_name.ts";

Deno.test("NodeName passes a pod without spec.nodeName on any node", () => {
  assert.equal(nodeName.filter(new CycleState(), pv("p"), nodeInfo(nv("n1"))), null);
});

Deno.test("NodeName passes only the named node", () => {
  const p = pv("p", { node: "n1" });
  assert.equal(nodeName.filter(new CycleState(), p, nodeInfo(nv("n1"))), null);
  assert.deepEqual(nodeName.filter(new CycleState(), p, nodeInfo(nv("n2"))), {
    code: "UnschedulableAndUnresolvable",
    reasons: [ERR_REASON_NODE_NAME],
  });
});
