import assert from "node:assert/strict";
import { SchedulerCache } from "./cache.ts";
import {
  nodeHandler,
  nodeUpdateEvents,
  podHandler,
  podSpecChanged,
  responsibleFor,
} from "./event_handlers.ts";
import { Framework } from "./framework.ts";
import { Nominator } from "./nominator.ts";
import { SchedulingQueue } from "./queue.ts";
import { makeNode, makePod, nv, viewContext } from "./testing.ts";
import { podView } from "./views.ts";

function target() {
  const fw = new Framework();
  const t = {
    cache: new SchedulerCache(),
    queue: new SchedulingQueue({ eventMatters: (e, by) => fw.eventMatters(e, by) }),
    nominator: new Nominator(),
    view: (p: Parameters<typeof podView>[0]) => podView(p, viewContext()),
    schedulerNames: new Set(["default-scheduler"]),
  };
  return t;
}

Deno.test("pod events queue pending pods and cache bound ones", () => {
  const t = target();
  const h = podHandler(t);
  const pending = makePod("p", { cpu: "1" });
  h.onAdd!(pending);
  assert.equal(t.queue.where("default/p"), "active");
  const bound = { ...pending, spec: { ...pending.spec, nodeName: "n1" } };
  h.onUpdate!(pending, bound);
  assert.equal(t.queue.where("default/p"), undefined);
  assert.equal(t.cache.nodeOf("default/p"), "n1");
  h.onDelete!(bound);
  assert.equal(t.cache.nodeOf("default/p"), undefined);
});

Deno.test("pod events ignore pods of other schedulers, gated pods and finished pods", () => {
  const t = target();
  const h = podHandler(t);
  h.onAdd!(makePod("other", { schedulerName: "my-scheduler" }));
  const gated = makePod("gated");
  gated.spec.schedulingGates = [{ name: "wait" }];
  h.onAdd!(gated);
  const done = makePod("done");
  done.status.phase = "Succeeded";
  h.onAdd!(done);
  assert.deepEqual(t.queue.lengths, { active: 0, backoff: 0, unschedulable: 0 });
  assert.ok(responsibleFor(makePod("x"), t.schedulerNames));
});

Deno.test("a bound pod that finishes frees its node's resources", () => {
  const t = target();
  const h = podHandler(t);
  const running = makePod("p", { cpu: "1", node: "n1" });
  h.onAdd!(running);
  assert.equal(t.cache.podCount, 1);
  const finished = { ...running, status: { phase: "Succeeded" } };
  h.onUpdate!(running, finished);
  assert.equal(t.cache.podCount, 0);
});

Deno.test("updates of an assumed pod are left to its binding", () => {
  const t = target();
  const h = podHandler(t);
  const p = makePod("p");
  t.cache.assumePod({ ...t.view(p), nodeName: "n1" });
  h.onAdd!(p);
  assert.equal(t.queue.where("default/p"), undefined);
});

Deno.test("node events retry unschedulable pods the change may help", () => {
  const t = target();
  const h = nodeHandler(t);
  h.onAdd!(makeNode("n1"));
  t.queue.add("default/p", makePod("p"), t.view(makePod("p")));
  const q = t.queue.tryPop()!;
  q.unschedulablePlugins = new Set(["NodeAffinity"]);
  t.queue.addUnschedulable(q, t.queue.schedulingCycle);
  assert.equal(t.queue.where("default/p"), "unschedulable");
  const old = makeNode("n1");
  h.onUpdate!(old, makeNode("n1", { memory: "16Gi" }));
  assert.equal(t.queue.where("default/p"), "unschedulable", "allocatable changes do not help NodeAffinity");
  h.onUpdate!(old, makeNode("n1", { labels: { disk: "ssd" } }));
  assert.notEqual(t.queue.where("default/p"), "unschedulable");
  assert.equal(t.cache.get("n1")!.node.labels.disk, "ssd");
});

Deno.test("nodeUpdateEvents() names what changed", () => {
  assert.deepEqual(nodeUpdateEvents(nv("n"), nv("n", { unschedulable: true })), ["NodeTaint"]);
  assert.deepEqual(nodeUpdateEvents(nv("n"), nv("n", { cpu: "8", handlers: ["wasmtime"] })), [
    "NodeAllocatable",
    "NodeRuntimeHandlers",
  ]);
  assert.deepEqual(nodeUpdateEvents(nv("n"), nv("n"), true), ["NodeCondition"]);
});

Deno.test("podSpecChanged() ignores status and resourceVersion", () => {
  const a = makePod("p");
  const b = {
    ...a,
    metadata: { ...a.metadata, resourceVersion: "9" },
    status: { phase: "Pending", conditions: [{ type: "PodScheduled" }] },
  };
  assert.equal(podSpecChanged(a, b), false);
  assert.equal(podSpecChanged(a, { ...a, metadata: { ...a.metadata, labels: { x: "y" } } }), true);
});
