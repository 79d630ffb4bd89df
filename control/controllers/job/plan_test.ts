import assert from "node:assert/strict";
import { iso, pod, ref, T0 } from "../workload/testing.ts";
import {
  backoffRemainingMs,
  countUncounted,
  ensureCondition,
  isPodFailed,
  JOB_TRACKING_FINALIZER,
  newFinishedPods,
  nextBackoffRecord,
  pastActiveDeadline,
  pastBackoffLimitOnFailure,
  planManageJob,
  planTracking,
} from "./plan.ts";

const job = (spec: Record<string, unknown> = {}, status: Record<string, unknown> = {}) => ({
  metadata: { name: "pi", namespace: "default", uid: "job-uid" },
  spec: {
    completions: 3,
    parallelism: 2,
    backoffLimit: 2,
    template: { spec: { restartPolicy: "Never" } },
    ...spec,
  },
  status,
});
const owner = ref("Job", "pi", "job-uid", "batch/v1");
const jp = (name: string, o: Record<string, unknown> = {}) =>
  pod(name, { owner, finalizers: [JOB_TRACKING_FINALIZER], ...o });

Deno.test("planManageJob() keeps min(parallelism, remaining completions) pods active", () => {
  assert.deepEqual(planManageJob(job(), [], 0, 0, [], 0), { kind: "create", count: 2 });
  assert.deepEqual(planManageJob(job(), [jp("a")], 2, 0, [], 0), { kind: "none" });
  const del = planManageJob(job({ parallelism: 1 }), [jp("a", { node: "n" }), jp("b")], 0, 0, [], 0);
  assert.equal(del.kind, "delete");
  assert.deepEqual(del.kind === "delete" && del.pods.map((p) => p.metadata.name), ["b"]);
});

Deno.test("planManageJob() waits out the pod failure back-off before creating", () => {
  assert.deepEqual(planManageJob(job(), [], 0, 0, [], 4000), { kind: "wait", ms: 4000 });
});

Deno.test("planManageJob() runs parallelism pods until the first success when completions is unset", () => {
  const work = job({ completions: undefined, parallelism: 3 });
  assert.deepEqual(planManageJob(work, [], 0, 0, [], 0), { kind: "create", count: 3 });
  assert.deepEqual(planManageJob(work, [jp("a")], 1, 0, [], 0), { kind: "none" });
});

Deno.test("planManageJob() deletes every active pod of a suspended Job", () => {
  const plan = planManageJob(job({ suspend: true }), [jp("a"), jp("b")], 0, 0, [], 0);
  assert.equal(plan.kind === "delete" && plan.pods.length, 2);
});

Deno.test("planManageJob() picks the lowest pending indexes for an Indexed Job", () => {
  const plan = planManageJob(job({ completionMode: "Indexed", completions: 4, parallelism: 2 }), [], 1, 0, [{
    first: 0,
    last: 0,
  }], 0);
  assert.deepEqual(plan, { kind: "create", count: 2, indexes: [1, 2] });
});

Deno.test("isPodFailed() counts deleted unfinished pods as failed unless only failed pods are replaced", () => {
  const deleting = jp("a", { deleting: true, phase: "Running" });
  assert.equal(isPodFailed(deleting, job()), true);
  assert.equal(isPodFailed(deleting, job({ podReplacementPolicy: "Failed" })), false);
  assert.equal(isPodFailed(jp("b", { phase: "Failed" }), job()), true);
});

Deno.test("newFinishedPods() ignores pods already uncounted or without the finalizer", () => {
  const done = jp("done", { phase: "Succeeded", uid: "u1" });
  const counted = jp("counted", { phase: "Succeeded", uid: "u2" });
  const untracked = pod("untracked", { owner, phase: "Failed" });
  const failed = jp("failed", { phase: "Failed", uid: "u3" });
  const r = newFinishedPods(job({}, { uncountedTerminatedPods: { succeeded: ["u2"] } }), [
    done,
    counted,
    untracked,
    failed,
  ], new Set());
  assert.deepEqual(r.succeeded.map((p) => p.metadata.name), ["done"]);
  assert.deepEqual(r.failed.map((p) => p.metadata.name), ["failed"]);
});

Deno.test("planTracking() records finished pods as uncounted and releases their finalizers", () => {
  const pods = [
    jp("ok", { phase: "Succeeded", uid: "s1" }),
    jp("bad", { phase: "Failed", uid: "f1" }),
    jp("run", { phase: "Running", uid: "r1" }),
  ];
  const plan = planTracking(job(), pods, new Set(), undefined, []);
  assert.deepEqual(plan.addSucceeded, ["s1"]);
  assert.deepEqual(plan.addFailed, ["f1"]);
  assert.deepEqual(plan.removeFinalizer.map((p) => p.metadata.name), ["ok", "bad"]);
  const failing = planTracking(job(), pods, new Set(), "failure", []);
  assert.deepEqual(failing.addFailed, ["f1", "r1"]);
});

Deno.test("countUncounted() moves UIDs whose finalizer is gone into the counters", () => {
  const counts = {
    succeeded: 1,
    failed: 0,
    uncountedTerminatedPods: { succeeded: ["a", "b"], failed: ["c"] },
  };
  assert.equal(countUncounted(counts, new Set(["b"])), true);
  assert.deepEqual(counts, {
    succeeded: 2,
    failed: 1,
    uncountedTerminatedPods: { succeeded: ["b"], failed: [] },
  });
});

Deno.test("pod failure back-off doubles from the base, capped, and resets after a success", () => {
  const failedAt = (name: string, at: number) => ({
    ...jp(name),
    status: {
      phase: "Failed",
      containerStatuses: [{ name: "c", state: { terminated: { finishedAt: iso(at) } } }],
    },
  });
  let rec = nextBackoffRecord({ failuresAfterLastSuccess: 0 }, [], [failedAt("a", T0)], T0);
  assert.deepEqual(rec, { failuresAfterLastSuccess: 1, lastFailureTime: T0 });
  assert.equal(backoffRemainingMs(rec, T0 + 3000, 10_000, 360_000), 7000);
  rec = nextBackoffRecord(rec, [], [failedAt("b", T0 + 5000), failedAt("c", T0 + 6000)], T0);
  assert.equal(rec.failuresAfterLastSuccess, 3);
  assert.equal(backoffRemainingMs(rec, T0 + 6000, 10_000, 360_000), 40_000);
  assert.equal(
    backoffRemainingMs({ failuresAfterLastSuccess: 20, lastFailureTime: T0 }, T0, 10_000, 360_000),
    360_000,
  );
  const ok = {
    ...jp("ok", { phase: "Succeeded" }),
    status: {
      phase: "Succeeded",
      containerStatuses: [{ name: "c", state: { terminated: { finishedAt: iso(T0 + 7000) } } }],
    },
  };
  assert.deepEqual(nextBackoffRecord(rec, [ok], [], T0), { failuresAfterLastSuccess: 0 });
});

Deno.test("activeDeadlineSeconds and OnFailure restarts end a Job", () => {
  const started = job({ activeDeadlineSeconds: 10 }, { startTime: iso(T0) });
  assert.equal(pastActiveDeadline(started, T0 + 9_000), false);
  assert.equal(pastActiveDeadline(started, T0 + 10_000), true);
  const onFailure = job({ template: { spec: { restartPolicy: "OnFailure" } }, backoffLimit: 2 });
  assert.equal(pastBackoffLimitOnFailure(onFailure, [jp("a", { phase: "Running", restarts: 1 })]), false);
  assert.equal(pastBackoffLimitOnFailure(onFailure, [jp("a", { phase: "Running", restarts: 2 })]), true);
});

Deno.test("ensureCondition() adds True conditions, updates changed ones and never adds False", () => {
  const a = ensureCondition(undefined, "Suspended", "False", "JobResumed", "Job resumed", T0);
  assert.equal(a.changed, false);
  const b = ensureCondition([], "Suspended", "True", "JobSuspended", "Job suspended", T0);
  assert.equal(b.changed, true);
  const c = ensureCondition(b.conditions, "Suspended", "False", "JobResumed", "Job resumed", T0);
  assert.equal(c.changed, true);
  assert.equal(c.conditions[0].status, "False");
});
