import assert from "node:assert/strict";
import { T0 } from "../workload/testing.ts";
import { expireAt, needsCleanup } from "./ttl.ts";

const finished = (ttl?: number, extra: Record<string, unknown> = {}) => ({
  metadata: { name: "pi", namespace: "default", ...extra },
  spec: { ttlSecondsAfterFinished: ttl },
  status: { conditions: [{ type: "Complete", status: "True", lastTransitionTime: "2025-01-01T00:00:00Z" }] },
});

Deno.test("expireAt() is the finish time plus ttlSecondsAfterFinished", () => {
  assert.equal(expireAt(finished(30)), T0 + 30_000);
  assert.equal(expireAt(finished(0)), T0);
});

Deno.test("needsCleanup() wants a TTL, a finished Job, and no deletion in progress", () => {
  assert.equal(needsCleanup(finished(undefined)), false);
  assert.equal(needsCleanup(finished(5, { deletionTimestamp: "2025-01-01T00:00:00Z" })), false);
  assert.equal(needsCleanup({ metadata: {}, spec: { ttlSecondsAfterFinished: 5 }, status: {} }), false);
  assert.equal(needsCleanup(finished(5)), true);
});
