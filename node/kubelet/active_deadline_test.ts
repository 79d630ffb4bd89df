import assert from "node:assert/strict";
import { activeDeadlineLeft, deadlineStatus } from "./active_deadline.ts";
import { testPod } from "./testing.ts";

Deno.test("activeDeadlineLeft() counts from the pod's start time", () => {
  const start = "2024-06-01T12:00:00Z";
  const t0 = Date.parse(start);
  const pod = testPod([{}], { activeDeadlineSeconds: 30 });
  assert.equal(activeDeadlineLeft(pod, start, t0 + 10_000), 20_000);
  assert.equal(activeDeadlineLeft(pod, start, t0 + 30_000), 0);
  assert.equal(activeDeadlineLeft(pod, start, t0 + 99_000), 0);
  assert.equal(activeDeadlineLeft(pod, undefined, t0), undefined, "not started");
  assert.equal(activeDeadlineLeft(testPod([{}]), start, t0), undefined, "no deadline");
});

Deno.test("deadlineStatus() fails the pod with upstream's reason and message", () => {
  assert.deepEqual(deadlineStatus({ phase: "Running" }), {
    phase: "Failed",
    reason: "DeadlineExceeded",
    message: "Pod was active on the node longer than the specified deadline",
  });
});
