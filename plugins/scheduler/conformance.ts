/**
 * The scheduler conformance suite: batched filter and score over projected records.
 * @module
 */
import assert from "node:assert/strict";
import type { FilterRecord, NodeRecord, PodRecord } from "../../control/api/plugins.ts";
import type { Case } from "../host/conformance.ts";

const POD: PodRecord = {
  namespace: "default",
  name: "p",
  uid: "u1",
  labels: [["app", "web"]],
  nodeSelector: [],
  milliCpu: 100,
  memory: 64 << 20,
  priority: 0,
  images: ["registry.example/app:1.0"],
  runtimeClass: null,
};

export function node(i: number, labels: [string, string][] = []): NodeRecord {
  return {
    name: `node-${i}`,
    labels: [["kubernetes.io/hostname", `node-${i}`], ...labels],
    unschedulable: false,
    taints: [],
    allocatableMilliCpu: 4000,
    allocatableMemory: 8 << 30,
    requestedMilliCpu: 100 * i,
    requestedMemory: 0,
    podCount: i,
    images: i % 2 ? [{ names: ["registry.example/app:1.0"], sizeBytes: 300 << 20 }] : [],
  };
}

type Out = { filter?: FilterRecord[]; scores?: number[] };
const BOTH = { filter: true, score: true };

export const schedulerCases: Case[] = [
  {
    name: "one filter result and one score in [0, 100] per node, in order",
    async fn(newImpl) {
      await using p = await newImpl();
      for (const n of [1, 7, 60]) {
        const nodes = Array.from({ length: n }, (_, i) => node(i));
        const out = (await p.call("cycle", POD, nodes, BOTH)) as Out;
        assert.equal(out.filter?.length, n);
        assert.equal(out.scores?.length, n);
        for (const s of out.scores!) assert.ok(s >= 0 && s <= 100);
        for (const f of out.filter!) assert.ok(["Success", "Unschedulable", "UnschedulableAndUnresolvable"].includes(f.code));
      }
    },
  },
  {
    name: "no nodes: empty answers",
    async fn(newImpl) {
      await using p = await newImpl();
      const out = (await p.call("cycle", POD, [], BOTH)) as Out;
      assert.deepEqual(out.filter, []);
      assert.deepEqual(out.scores, []);
    },
  },
  {
    name: "a filtered node scores 0 and a rejection says why",
    async fn(newImpl) {
      await using p = await newImpl();
      const nodes = Array.from({ length: 6 }, (_, i) => node(i));
      const out = (await p.call("cycle", POD, nodes, BOTH)) as Out;
      out.filter!.forEach((f, i) => {
        if (f.code !== "Success") {
          assert.equal(out.scores![i], 0);
          assert.ok(f.reason.length > 0);
        }
      });
    },
  },
  {
    name: "answers are deterministic (the same cycle twice)",
    async fn(newImpl) {
      await using p = await newImpl();
      const nodes = Array.from({ length: 5 }, (_, i) => node(i));
      assert.deepEqual(await p.call("cycle", POD, nodes, BOTH), await p.call("cycle", POD, nodes, BOTH));
    },
  },
];
