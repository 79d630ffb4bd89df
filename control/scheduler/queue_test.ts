import assert from "node:assert/strict";
import { SchedulingQueue } from "./queue.ts";
import { makePod, pv } from "./testing.ts";
import type { ClusterEvent } from "./types.ts";

function queue(clock = { t: 0 }) {
  const q = new SchedulingQueue({
    now: () => clock.t,
    // A toy framework: NodeResourcesFit cares about pod deletions, NodeAffinity about node labels.
    eventMatters: (e: ClusterEvent, by) =>
      e === "UnschedulableTimeout" || by.size === 0 ||
      (by.has("NodeResourcesFit") && (e === "AssignedPodDelete" || e === "NodeAdd")) ||
      (by.has("NodeAffinity") && (e === "NodeLabel" || e === "NodeAdd")),
  });
  return { q, clock };
}

function add(q: SchedulingQueue, name: string, priority = 0) {
  q.add(`default/${name}`, makePod(name, { priority }), pv(name, { priority }));
}

Deno.test("SchedulingQueue pops the highest priority first, then the earliest added", () => {
  const { q, clock } = queue();
  add(q, "low", 1);
  clock.t = 1;
  add(q, "high", 100);
  clock.t = 2;
  add(q, "low2", 1);
  assert.deepEqual([q.tryPop()?.key, q.tryPop()?.key, q.tryPop()?.key], [
    "default/high",
    "default/low",
    "default/low2",
  ]);
  assert.equal(q.schedulingCycle, 3);
});

Deno.test("SchedulingQueue backs off 1 s, 2 s, 4 s ... up to 10 s", () => {
  const { q } = queue();
  add(q, "p");
  const p = q.tryPop()!;
  const durations = [];
  for (let i = 1; i <= 6; i++) {
    p.attempts = i;
    durations.push(q.backoffDuration(p));
  }
  assert.deepEqual(durations, [1000, 2000, 4000, 8000, 10000, 10000]);
});

Deno.test("SchedulingQueue parks an unschedulable pod until an event its rejecting plugin cares about", () => {
  const { q, clock } = queue();
  add(q, "p");
  const p = q.tryPop()!;
  p.unschedulablePlugins = new Set(["NodeAffinity"]);
  q.addUnschedulable(p, q.schedulingCycle);
  assert.equal(q.where("default/p"), "unschedulable");
  assert.equal(q.moveAllToActiveOrBackoff("AssignedPodDelete"), 0);
  assert.equal(q.where("default/p"), "unschedulable");
  clock.t = 5000;
  assert.equal(q.moveAllToActiveOrBackoff("NodeLabel"), 1);
  assert.equal(q.where("default/p"), "active");
});

Deno.test("SchedulingQueue moves a pod still backing off to the backoff queue, then to active when it expires", () => {
  const { q, clock } = queue();
  add(q, "p");
  const p = q.tryPop()!;
  p.unschedulablePlugins = new Set(["NodeResourcesFit"]);
  q.addUnschedulable(p, q.schedulingCycle);
  q.moveAllToActiveOrBackoff("AssignedPodDelete");
  assert.equal(q.where("default/p"), "backoff");
  clock.t = 999;
  assert.equal(q.flushBackoffCompleted(), 0);
  clock.t = 1000;
  assert.equal(q.flushBackoffCompleted(), 1);
  assert.equal(q.where("default/p"), "active");
});

Deno.test("SchedulingQueue sends a pod to backoff when a move request came during its cycle", () => {
  const { q } = queue();
  add(q, "p");
  const p = q.tryPop()!;
  const cycle = q.schedulingCycle;
  q.moveAllToActiveOrBackoff("NodeAdd");
  p.unschedulablePlugins = new Set(["NodeAffinity"]);
  q.addUnschedulable(p, cycle);
  assert.equal(q.where("default/p"), "backoff");
});

Deno.test("SchedulingQueue sends pods that failed with an error straight to backoff", () => {
  const { q } = queue();
  add(q, "p");
  const p = q.tryPop()!;
  q.addUnschedulable(p, q.schedulingCycle);
  assert.equal(q.where("default/p"), "backoff");
});

Deno.test("SchedulingQueue retries pods unschedulable for more than 5 minutes", () => {
  const { q, clock } = queue();
  add(q, "p");
  const p = q.tryPop()!;
  p.unschedulablePlugins = new Set(["NodeAffinity"]);
  q.addUnschedulable(p, q.schedulingCycle);
  clock.t = 5 * 60_000;
  assert.equal(q.flushUnschedulableLeftover(), 0);
  clock.t = 5 * 60_000 + 1;
  assert.equal(q.flushUnschedulableLeftover(), 1);
  assert.equal(q.where("default/p"), "active");
});

Deno.test("SchedulingQueue retries an unschedulable pod whose spec changed, not one whose status changed", () => {
  const { q, clock } = queue();
  add(q, "p");
  const p = q.tryPop()!;
  p.unschedulablePlugins = new Set(["NodeAffinity"]);
  q.addUnschedulable(p, q.schedulingCycle);
  q.update("default/p", makePod("p"), pv("p"), false);
  assert.equal(q.where("default/p"), "unschedulable");
  clock.t = 10_000;
  q.update("default/p", makePod("p"), pv("p"), true);
  assert.equal(q.where("default/p"), "active");
});

Deno.test("SchedulingQueue's pop waits for a pod and resolves undefined on abort or close", async () => {
  const { q } = queue();
  const waiting = q.pop();
  add(q, "p");
  assert.equal((await waiting)?.key, "default/p");
  const ac = new AbortController();
  const aborted = q.pop(ac.signal);
  ac.abort();
  assert.equal(await aborted, undefined);
  add(q, "after-abort");
  assert.equal(q.lengths.active, 1, "an aborted pop does not swallow pods");
  q.tryPop();
  const closing = q.pop();
  q.close();
  assert.equal(await closing, undefined);
});

Deno.test("SchedulingQueue deletes a pod from whichever queue holds it", () => {
  const { q } = queue();
  add(q, "p");
  q.delete("default/p");
  assert.equal(q.where("default/p"), undefined);
  assert.deepEqual(q.lengths, { active: 0, backoff: 0, unschedulable: 0 });
});
