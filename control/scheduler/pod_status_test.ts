import assert from "node:assert/strict";
import {
  clearNominationPatch,
  preemptionVictimPatch,
  schedulingFailurePatch,
  updateCondition,
} from "./pod_status.ts";
import { makePod } from "./testing.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");

Deno.test("schedulingFailurePatch() sets PodScheduled=False with the reason and message", () => {
  const patch = schedulingFailurePatch(
    makePod("p"),
    "Unschedulable",
    "0/1 nodes are available: 1 Too many pods.",
    { mode: "noop" },
    T0,
  );
  assert.deepEqual(patch, {
    status: {
      conditions: [{
        type: "PodScheduled",
        status: "False",
        reason: "Unschedulable",
        message: "0/1 nodes are available: 1 Too many pods.",
        lastProbeTime: null,
        lastTransitionTime: "2026-01-01T00:00:00Z",
      }],
    },
  });
});

Deno.test("schedulingFailurePatch() is null when the condition and nomination already say it", () => {
  const pod = makePod("p");
  pod.status.conditions = [{
    type: "PodScheduled",
    status: "False",
    reason: "Unschedulable",
    message: "m",
    lastTransitionTime: "x",
  }];
  assert.equal(schedulingFailurePatch(pod, "Unschedulable", "m", { mode: "noop" }, T0), null);
  assert.equal(schedulingFailurePatch(pod, "Unschedulable", "m", { mode: "override", node: "" }, T0), null);
});

Deno.test("schedulingFailurePatch() keeps lastTransitionTime when only the message changes", () => {
  const pod = makePod("p");
  pod.status.conditions = [{
    type: "PodScheduled",
    status: "False",
    reason: "Unschedulable",
    message: "old",
    lastTransitionTime: "then",
  }];
  const patch = schedulingFailurePatch(pod, "Unschedulable", "new", { mode: "noop" }, T0) as {
    status: { conditions: { lastTransitionTime: string }[] };
  };
  assert.equal(patch.status.conditions[0].lastTransitionTime, "then");
});

Deno.test("schedulingFailurePatch() nominates a node and clears a nomination with null", () => {
  const pod = makePod("p", { nominatedNodeName: "n1" });
  pod.status.conditions = [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "m" }];
  assert.deepEqual(schedulingFailurePatch(pod, "Unschedulable", "m", { mode: "override", node: "n2" }, T0), {
    status: { nominatedNodeName: "n2" },
  });
  assert.deepEqual(schedulingFailurePatch(pod, "Unschedulable", "m", { mode: "override", node: "" }, T0), {
    status: { nominatedNodeName: null },
  });
});

Deno.test("preemptionVictimPatch() marks the victim DisruptionTarget=True by PreemptionByScheduler", () => {
  const patch = preemptionVictimPatch(makePod("v"), "default-scheduler", T0) as {
    status: { conditions: Record<string, unknown>[] };
  };
  assert.equal(patch.status.conditions[0].type, "DisruptionTarget");
  assert.equal(patch.status.conditions[0].reason, "PreemptionByScheduler");
  assert.equal(
    patch.status.conditions[0].message,
    "default-scheduler: preempting to accommodate a higher priority pod",
  );
});

Deno.test("updateCondition() reports a status flip with a new transition time", () => {
  const c = updateCondition([{ type: "PodScheduled", status: "True", lastTransitionTime: "old" }], {
    type: "PodScheduled",
    status: "False",
  }, T0);
  assert.equal(c?.lastTransitionTime, "2026-01-01T00:00:00Z");
  assert.deepEqual(clearNominationPatch(), { status: { nominatedNodeName: null } });
});
