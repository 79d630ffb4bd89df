import assert from "node:assert/strict";
import { CycleState } from "../types.ts";
import { nodeInfo, nv, pv } from "../testing.ts";
import {
  insufficientResources,
  leastAllocatedScore,
  leastRequestedScore,
  nodeResourcesFit,
} from "./node_resources_fit.ts";

const st = new CycleState();

Deno.test("NodeResourcesFit admits a pod whose requests fit what is left", () => {
  const info = nodeInfo(nv("n", { cpu: "2", memory: "4Gi" }), [pv("a", { cpu: "1", memory: "1Gi" })]);
  assert.equal(nodeResourcesFit.filter(st, pv("p", { cpu: "1", memory: "3Gi" }), info), null);
});

Deno.test("NodeResourcesFit reports every resource that does not fit, in upstream's words", () => {
  const info = nodeInfo(nv("n", { cpu: "2", memory: "4Gi" }), [pv("a", { cpu: "1500m", memory: "3Gi" })]);
  assert.deepEqual(nodeResourcesFit.filter(st, pv("p", { cpu: "1", memory: "2Gi" }), info), {
    code: "Unschedulable",
    reasons: ["Insufficient cpu", "Insufficient memory"],
  });
});

Deno.test("NodeResourcesFit reports 'Too many pods' when the node is full, even for a pod without requests", () => {
  const info = nodeInfo(nv("n", { pods: "1" }), [pv("a")]);
  assert.deepEqual(nodeResourcesFit.filter(st, pv("p"), info), {
    code: "Unschedulable",
    reasons: ["Too many pods"],
  });
});

Deno.test("NodeResourcesFit marks a request larger than the whole node unresolvable", () => {
  const s = nodeResourcesFit.filter(st, pv("p", { cpu: "3" }), nodeInfo(nv("n", { cpu: "2" })));
  assert.deepEqual(s, { code: "UnschedulableAndUnresolvable", reasons: ["Insufficient cpu"] });
});

Deno.test("NodeResourcesFit checks extended and ephemeral-storage requests", () => {
  const pod = pv("p");
  pod.requests = { milliCPU: 0, memory: 0, ephemeralStorage: 10, scalar: { "nvidia.com/gpu": 1 } };
  const missing = insufficientResources(pod, nodeInfo(nv("n")));
  assert.deepEqual(missing.map((m) => m.reason), [
    "Insufficient ephemeral-storage",
    "Insufficient nvidia.com/gpu",
  ]);
});

Deno.test("leastRequestedScore() is the free fraction times 100, truncated", () => {
  assert.equal(leastRequestedScore(0, 4000), 100);
  assert.equal(leastRequestedScore(1000, 3000), 66);
  assert.equal(leastRequestedScore(5000, 4000), 0);
  assert.equal(leastRequestedScore(1, 0), 0);
});

Deno.test("LeastAllocated prefers the emptier node and counts defaults for pods without requests", () => {
  const empty = nodeInfo(nv("a", { cpu: "4", memory: "8Gi" }));
  const busy = nodeInfo(nv("b", { cpu: "4", memory: "8Gi" }), [pv("x", { cpu: "2", memory: "4Gi" })]);
  const p = pv("p", { cpu: "1", memory: "2Gi" });
  // empty: cpu (4000-1000)/4000 = 75, memory 75 → 75; busy: cpu 25, memory 25 → 25.
  assert.equal(leastAllocatedScore(p, empty), 75);
  assert.equal(leastAllocatedScore(p, busy), 25);
  // A pod without requests counts 100m and 200Mi: cpu 97, memory 97 (8Gi - 200Mi).
  assert.equal(leastAllocatedScore(pv("q"), empty), 97);
});
