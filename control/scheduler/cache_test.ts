import assert from "node:assert/strict";
import { cacheWith, nv, pv } from "./testing.ts";

const bound = (name: string, node: string, cpu = "1") => ({ ...pv(name, { cpu }), nodeName: node });

Deno.test("SchedulerCache counts an assumed pod at once and forgets it after a failed binding", () => {
  const c = cacheWith([nv("n1")]);
  c.assumePod(bound("p", "n1"));
  assert.equal(c.get("n1")!.requested.milliCPU, 1000);
  assert.ok(c.isAssumed("default/p"));
  c.forgetPod("default/p");
  assert.equal(c.get("n1")!.requested.milliCPU, 0);
  assert.equal(c.podCount, 0);
});

Deno.test("SchedulerCache confirms an assumed pod when the informer reports it bound, even on another node", () => {
  const c = cacheWith([nv("n1"), nv("n2")]);
  c.assumePod(bound("p", "n1"));
  c.addPod(bound("p", "n2"));
  assert.equal(c.isAssumed("default/p"), false);
  assert.equal(c.get("n1")!.pods.length, 0);
  assert.equal(c.get("n2")!.pods.length, 1);
  c.forgetPod("default/p");
  assert.equal(c.get("n2")!.pods.length, 1, "a confirmed pod is not forgotten");
});

Deno.test("SchedulerCache keeps pods of a deleted node counted until they go", () => {
  const c = cacheWith([nv("n1"), nv("n2")], [bound("p", "n1")]);
  c.removeNode("n1");
  assert.equal(c.nodes().length, 1);
  assert.equal(c.get("n1"), undefined);
  assert.equal(c.nodeOf("default/p"), "n1");
  c.setNode(nv("n1"));
  assert.equal(c.get("n1")!.pods.length, 1, "the pod is still there when the node comes back");
  c.removePod("default/p");
  assert.equal(c.get("n1")!.pods.length, 0);
});

Deno.test("SchedulerCache lists nodes in a stable order and tracks nodes with affinity pods", () => {
  const c = cacheWith([nv("a"), nv("b"), nv("c")]);
  assert.deepEqual(c.nodes().map((n) => n.node.name), ["a", "b", "c"]);
  assert.equal(c.nodesWithRequiredAntiAffinityPods().length, 0);
  const anti = {
    ...pv("x", {
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: {}, topologyKey: "z" }],
        },
      },
    }),
    nodeName: "b",
  };
  c.addPod(anti);
  assert.deepEqual(c.nodesWithRequiredAntiAffinityPods().map((n) => n.node.name), ["b"]);
  assert.deepEqual(c.nodesWithAffinityPods().map((n) => n.node.name), ["b"]);
  c.removePod("default/x");
  assert.equal(c.nodesWithAffinityPods().length, 0);
});

Deno.test("NodeInfo sums requests as pods come and go, and a clone is independent", () => {
  const c = cacheWith([nv("n")], [bound("a", "n", "1"), bound("b", "n", "2")]);
  const info = c.get("n")!;
  assert.equal(info.requested.milliCPU, 3000);
  const copy = info.clone();
  copy.removePod("default/a");
  assert.equal(copy.requested.milliCPU, 2000);
  assert.equal(info.requested.milliCPU, 3000);
  assert.equal(info.pods.length, 2);
  assert.equal(info.nonZeroRequested.milliCPU, 3000);
});
