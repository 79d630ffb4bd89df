/**
 * The scheduler conformance suite: batched filter and score over projected records, through the
 * runner's `cycle` operation as the plugin host calls it (for a 0.2.0 plugin: put-nodes, then
 * filter-and-score over handles). The cases hold for 0.1.0 plugins too.
 * @module
 */
import assert from "node:assert/strict";
import {
  type CachedNodeRef,
  filterAnswers,
  type FilterRecord,
  type NodeRecord,
  type PodRecord,
  type RejectionRecord,
} from "../../control/api/plugins.ts";
import type { Case, PluginImpl } from "../host/conformance.ts";

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

/** One cycle, its filter answers expanded to one per node (the runner sends only rejections). */
async function cycle(
  p: PluginImpl,
  nodes: (NodeRecord | CachedNodeRef)[],
  what = BOTH,
  pod = POD,
): Promise<Out> {
  const raw = (await p.call("cycle", pod, nodes, what)) as {
    rejected?: RejectionRecord[];
    filter?: FilterRecord[];
    scores?: number[];
  };
  const out: Out = {};
  if (raw.rejected || raw.filter) {
    const f = filterAnswers(raw, nodes.length);
    assert.ok(
      f,
      `the filter answers do not fit ${nodes.length} nodes: ${JSON.stringify(raw.rejected ?? raw.filter)}`,
    );
    out.filter = f;
  }
  if (raw.scores) out.scores = raw.scores;
  return out;
}

export const schedulerCases: Case[] = [
  {
    name: "one filter result and one score in [0, 100] per node, in order",
    async fn(newImpl) {
      await using p = await newImpl();
      for (const n of [1, 7, 60]) {
        const nodes = Array.from({ length: n }, (_, i) => node(i));
        const out = await cycle(p, nodes);
        assert.equal(out.filter?.length, n);
        assert.equal(out.scores?.length, n);
        for (const s of out.scores!) assert.ok(s >= 0 && s <= 100);
        for (const f of out.filter!) {
          assert.ok(["Success", "Unschedulable", "UnschedulableAndUnresolvable"].includes(f.code));
        }
      }
    },
  },
  {
    name: "no nodes: empty answers",
    async fn(newImpl) {
      await using p = await newImpl();
      const out = await cycle(p, []);
      assert.deepEqual(out.filter, []);
      assert.deepEqual(out.scores, []);
    },
  },
  {
    name: "a filtered node scores 0 and a rejection says why",
    async fn(newImpl) {
      await using p = await newImpl();
      const nodes = Array.from({ length: 6 }, (_, i) => node(i));
      const out = await cycle(p, nodes);
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
      assert.deepEqual(await cycle(p, nodes), await cycle(p, nodes));
    },
  },
  {
    name: "nodes held from earlier cycles, by reference, in another order: the answers of a fresh instance",
    async fn(newImpl) {
      await using p = await newImpl();
      await using q = await newImpl();
      const nodes = Array.from(
        { length: 10 },
        (_, i) => node(i, i % 3 ? [] : [["skiff.dev/c-reject", "true"]]),
      );
      await cycle(p, nodes);
      const pick = [7, 3, 5, 0, 9];
      const held = await cycle(p, pick.map((i) => nodes[i].name));
      assert.deepEqual(held, await cycle(q, pick.map((i) => nodes[i])));
    },
  },
  {
    name: "a node sent again with new fields replaces the held one",
    async fn(newImpl) {
      await using p = await newImpl();
      await using q = await newImpl();
      const nodes = Array.from({ length: 4 }, (_, i) => node(i));
      await cycle(p, nodes);
      const changed = [nodes[0].name, {
        ...node(1, [["skiff.dev/c-reject", "true"], ["skiff.dev/c-prefer", "yes"]]),
        podCount: 9,
      }, nodes[2].name];
      assert.deepEqual(
        await cycle(p, changed),
        await cycle(q, [nodes[0], changed[1] as NodeRecord, nodes[2]]),
      );
    },
  },
  {
    name: "filter only and score only",
    async fn(newImpl) {
      await using p = await newImpl();
      const nodes = Array.from({ length: 5 }, (_, i) => node(i));
      const f = await cycle(p, nodes, { filter: true, score: false });
      assert.equal(f.filter?.length, 5);
      assert.equal(f.scores, undefined);
      const s = await cycle(p, nodes, { filter: false, score: true });
      assert.equal(s.filter, undefined);
      assert.equal(s.scores?.length, 5);
    },
  },
];
