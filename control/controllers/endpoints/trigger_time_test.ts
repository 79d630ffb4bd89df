import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { rfc3339Nano, TriggerTimeTracker } from "./trigger_time.ts";

const svc: KubeObject = {
  metadata: { name: "web", namespace: "default", creationTimestamp: "2026-01-01T00:00:00Z" },
};
const pod = (name: string, readyAt: string): KubeObject => ({
  metadata: { name },
  status: { conditions: [{ type: "Ready", status: "True", lastTransitionTime: readyAt }] },
});

Deno.test("TriggerTimeTracker reports the earliest change not yet reflected", () => {
  const t = new TriggerTimeTracker();
  const sync = (pods: KubeObject[]) => {
    const r = t.compute(svc, pods);
    r.commit();
    return r.time;
  };
  assert.equal(sync([]), Date.parse("2026-01-01T00:00:00Z"), "the Service's creation");
  assert.equal(sync([]), 0, "nothing new");
  const a = pod("a", "2026-01-01T00:01:00Z"), b = pod("b", "2026-01-01T00:02:00Z");
  assert.equal(sync([a, b]), Date.parse("2026-01-01T00:01:00Z"));
  assert.equal(sync([a, pod("b", "2026-01-01T00:03:00Z")]), Date.parse("2026-01-01T00:03:00Z"));
  t.delete("default", "web");
  assert.equal(sync([]), Date.parse("2026-01-01T00:00:00Z"));
});

Deno.test("TriggerTimeTracker keeps the time of a sync that was not committed (its write failed)", () => {
  const t = new TriggerTimeTracker();
  t.compute(svc, []).commit();
  const a = pod("a", "2026-01-01T00:01:00Z");
  assert.equal(t.compute(svc, [a]).time, Date.parse("2026-01-01T00:01:00Z"));
  assert.equal(t.compute(svc, [a]).time, Date.parse("2026-01-01T00:01:00Z"), "retried with the same time");
});

Deno.test("rfc3339Nano() trims trailing zeros like Go", () => {
  assert.equal(rfc3339Nano(Date.parse("2026-01-01T00:00:00.120Z")), "2026-01-01T00:00:00.12Z");
  assert.equal(rfc3339Nano(Date.parse("2026-01-01T00:00:10Z")), "2026-01-01T00:00:10Z");
});
