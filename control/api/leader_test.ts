import assert from "node:assert/strict";
import { decideLease, microTime, releasedSpec, sleep, validateDurations } from "./leader.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");

Deno.test("microTime() formats a MicroTime with six fractional digits", () => {
  assert.equal(microTime(T0 + 123), "2026-01-01T00:00:00.123000Z");
});

Deno.test("decideLease() creates a fresh record when there is no Lease", () => {
  const d = decideLease(undefined, 0, T0, "a", 15);
  assert.ok(d.take);
  assert.deepEqual(d.spec, {
    holderIdentity: "a",
    leaseDurationSeconds: 15,
    acquireTime: microTime(T0),
    renewTime: microTime(T0),
    leaseTransitions: 0,
  });
});

Deno.test("decideLease() refuses a lease another holder renewed within its duration, by the local clock", () => {
  // The remote renewTime says 2020 (a skewed clock), but we saw the record change 5 s ago: still valid.
  const current = {
    holderIdentity: "b",
    leaseDurationSeconds: 15,
    renewTime: "2020-01-01T00:00:00.000000Z",
    leaseTransitions: 3,
  };
  const d = decideLease(current, T0 - 5_000, T0, "a", 15);
  assert.deepEqual(d, { take: false, holder: "b" });
});

Deno.test("decideLease() takes over an expired lease and counts a transition", () => {
  // The remote renewTime is in the future (another skewed clock): only our observation counts.
  const current = {
    holderIdentity: "b",
    leaseDurationSeconds: 15,
    renewTime: "2099-01-01T00:00:00.000000Z",
    leaseTransitions: 3,
  };
  const d = decideLease(current, T0 - 15_001, T0, "a", 10);
  assert.ok(d.take && d.transition);
  assert.equal(d.spec.holderIdentity, "a");
  assert.equal(d.spec.leaseTransitions, 4);
  assert.equal(d.spec.leaseDurationSeconds, 10);
  assert.equal(d.spec.acquireTime, microTime(T0));
});

Deno.test("decideLease() renews our own lease keeping acquireTime and transitions", () => {
  const current = {
    holderIdentity: "a",
    leaseDurationSeconds: 15,
    acquireTime: "2025-12-31T23:00:00.000000Z",
    leaseTransitions: 7,
  };
  const d = decideLease(current, T0 - 1_000, T0, "a", 15);
  assert.ok(d.take && !d.transition);
  assert.equal(d.spec.acquireTime, "2025-12-31T23:00:00.000000Z");
  assert.equal(d.spec.leaseTransitions, 7);
  assert.equal(d.spec.renewTime, microTime(T0));
});

Deno.test("decideLease() takes a released lease (empty holder) at once", () => {
  const current = releasedSpec({ holderIdentity: "b", leaseTransitions: 2 }, T0);
  const d = decideLease(current, T0, T0, "a", 15);
  assert.ok(d.take && d.transition);
  assert.equal(d.spec.leaseTransitions, 3);
});

Deno.test("releasedSpec() empties the holder and shortens the duration to one second", () => {
  assert.deepEqual(releasedSpec({ holderIdentity: "a", leaseTransitions: 5 }, T0), {
    holderIdentity: "",
    leaseDurationSeconds: 1,
    acquireTime: microTime(T0),
    renewTime: microTime(T0),
    leaseTransitions: 5,
  });
});

Deno.test("validateDurations() enforces lease > renew deadline > jittered retry period", () => {
  validateDurations(15_000, 10_000, 2_000);
  assert.throws(
    () => validateDurations(10_000, 10_000, 2_000),
    /leaseDuration must be greater than renewDeadline/,
  );
  assert.throws(() => validateDurations(15_000, 2_000, 2_000), /renewDeadline must be greater/);
});

Deno.test("sleep() resolves early when its signal aborts", async () => {
  const ac = new AbortController();
  const t = performance.now();
  const p = sleep(10_000, ac.signal);
  ac.abort();
  await p;
  assert.ok(performance.now() - t < 1_000);
});
