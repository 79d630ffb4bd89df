import assert from "node:assert/strict";
import type { SchedulerCache } from "./cache.ts";
import { Framework } from "./framework.ts";
import { Nominator } from "./nominator.ts";
import {
  moreImportant,
  numCandidates,
  pickOneNodeForPreemption,
  preempt,
  type PreemptionResult,
} from "./preemption.ts";
import { PodScheduler } from "./schedule_pod.ts";
import { cacheWith, nv, type PodSpecOptions, pv } from "./testing.ts";
import type { PodView } from "./types.ts";

const fw = new Framework();
const on = (name: string, node: string, o: PodSpecOptions) => ({ ...pv(name, o), nodeName: node });

/** Runs a failed scheduling cycle, then preemption, as the scheduler does. */
function attempt(pod: PodView, cache: SchedulerCache, nominator = new Nominator()): PreemptionResult {
  const out = new PodScheduler(fw).schedule(pod, cache, { nominated: nominator });
  assert.equal(out.kind, "unschedulable");
  if (out.kind !== "unschedulable") throw new Error("unreachable");
  return preempt({
    framework: fw,
    state: out.state,
    pod,
    statuses: out.diagnosis.nodeToStatus,
    snapshot: cache,
    nominated: nominator,
    nominatedNode: "",
    random: () => 0,
  });
}

Deno.test("preempt() evicts the lowest-priority pods needed, and only those", () => {
  const cache = cacheWith([nv("n", { cpu: "4" })], [
    on("low", "n", { cpu: "2", priority: 1 }),
    on("mid", "n", { cpu: "1", priority: 50 }),
    on("critical", "n", { cpu: "1", priority: 1000 }),
  ]);
  const r = attempt(pv("p", { cpu: "2", priority: 100 }), cache);
  assert.equal(r.kind, "preempt");
  if (r.kind !== "preempt") return;
  assert.equal(r.node, "n");
  assert.deepEqual(r.victims.map((v) => v.name), ["low"]);
});

Deno.test("preempt() prefers the node whose most important victim has the lowest priority", () => {
  const cache = cacheWith([nv("a", { cpu: "2" }), nv("b", { cpu: "2" })], [
    on("x", "a", { cpu: "2", priority: 20 }),
    on("y", "b", { cpu: "2", priority: 10 }),
  ]);
  const r = attempt(pv("p", { cpu: "2", priority: 100 }), cache);
  assert.equal(r.kind === "preempt" && r.node, "b");
});

Deno.test("preempt() says 'No preemption victims found' when nothing has lower priority", () => {
  const cache = cacheWith([nv("n", { cpu: "2" })], [on("x", "n", { cpu: "2", priority: 100 })]);
  const r = attempt(pv("p", { cpu: "1", priority: 100 }), cache);
  assert.deepEqual(r, {
    kind: "none",
    message: "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
    clearNomination: true,
  });
});

Deno.test("preempt() does not try nodes rejected for reasons eviction cannot fix", () => {
  const cache = cacheWith([nv("n", { cpu: "2", taints: [{ key: "k", value: "v", effect: "NoSchedule" }] })], [
    on("x", "n", { cpu: "2", priority: 1 }),
  ]);
  const r = attempt(pv("p", { cpu: "1", priority: 100 }), cache);
  assert.equal(
    r.kind === "none" && r.message,
    "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
  );
});

Deno.test("preempt() respects preemptionPolicy Never", () => {
  const cache = cacheWith([nv("n", { cpu: "2" })], [on("x", "n", { cpu: "2", priority: 1 })]);
  const r = attempt(pv("p", { cpu: "1", priority: 100, preemptionPolicy: "Never" }), cache);
  assert.deepEqual(r, {
    kind: "none",
    message: "preemption: not eligible due to preemptionPolicy=Never.",
    clearNomination: false,
  });
});

Deno.test("preempt() waits while victims it chose earlier are still terminating on the nominated node", () => {
  const victim = {
    ...on("x", "n", { cpu: "2", priority: 1, terminating: true }),
    preemptedByScheduler: true,
  };
  const cache = cacheWith([nv("n", { cpu: "2" })], [victim]);
  const pod = pv("p", { cpu: "1", priority: 100 });
  const out = new PodScheduler(fw).schedule(pod, cache);
  if (out.kind !== "unschedulable") throw new Error(out.kind);
  const r = preempt({
    framework: fw,
    state: out.state,
    pod,
    statuses: out.diagnosis.nodeToStatus,
    snapshot: cache,
    nominated: new Nominator(),
    nominatedNode: "n",
  });
  assert.deepEqual(r, {
    kind: "none",
    message: "preemption: not eligible due to a terminating pod on the nominated node.",
    clearNomination: false,
  });
});

Deno.test("preempt() frees room against anti-affinity too, through the PreFilter extensions", () => {
  const anti = {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [{
        labelSelector: { matchLabels: { app: "web" } },
        topologyKey: "kubernetes.io/hostname",
      }],
    },
  };
  const cache = cacheWith([nv("n")], [on("old", "n", { priority: 1, labels: { app: "web" } })]);
  const r = attempt(pv("p", { priority: 100, labels: { app: "web" }, affinity: anti }), cache);
  assert.equal(r.kind === "preempt" && r.victims[0].name, "old");
});

Deno.test("preempt() lists lower-priority pods nominated to the chosen node, to clear them", () => {
  const cache = cacheWith([nv("n", { cpu: "2" })], [on("x", "n", { cpu: "2", priority: 1 })]);
  const nominator = new Nominator();
  nominator.set(pv("waiting", { cpu: "1", priority: 5 }), "n");
  const r = attempt(pv("p", { cpu: "1", priority: 100 }), cache, nominator);
  assert.equal(r.kind === "preempt" && r.clearNominated[0].name, "waiting");
});

Deno.test("pickOneNodeForPreemption() breaks ties by fewer victims, then by the latest start", () => {
  const v = (priority: number, start: number) => ({
    ...pv(`v${priority}-${start}`, { priority }),
    startTime: start,
  });
  assert.equal(
    pickOneNodeForPreemption([{ node: "a", victims: [v(1, 0), v(1, 1)] }, { node: "b", victims: [v(1, 2)] }]),
    "b",
  );
  assert.equal(
    pickOneNodeForPreemption([{ node: "a", victims: [v(1, 10)] }, { node: "b", victims: [v(1, 20)] }]),
    "b",
  );
  assert.equal(
    pickOneNodeForPreemption([{ node: "a", victims: [v(-5, 0)] }, {
      node: "b",
      victims: [v(-5, 0), v(-5, 0)],
    }]),
    "a",
  );
  assert.equal(pickOneNodeForPreemption([]), "");
});

Deno.test("moreImportant() orders by priority, then by the earlier start", () => {
  assert.ok(
    moreImportant({ ...pv("a", { priority: 2 }), startTime: 9 }, {
      ...pv("b", { priority: 1 }),
      startTime: 1,
    }),
  );
  assert.ok(moreImportant({ ...pv("a"), startTime: 1 }, { ...pv("b"), startTime: 2 }));
  assert.equal(numCandidates(5000), 500);
  assert.equal(numCandidates(50), 50);
  assert.equal(numCandidates(300), 100);
});
