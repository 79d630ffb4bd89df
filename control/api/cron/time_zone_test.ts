import assert from "node:assert/strict";
import { checkTimeZone, offsetAt, wallClock, zonedTime } from "./time_zone.ts";

Deno.test("wallClock() gives the calendar fields of an instant in a zone", () => {
  const w = wallClock(Date.UTC(2025, 0, 1, 12, 30, 15), "Asia/Kolkata");
  assert.deepEqual(w, { year: 2025, month: 1, day: 1, hour: 18, minute: 0, second: 15, weekday: 3 });
  assert.equal(offsetAt(Date.UTC(2025, 6, 1), "Europe/Berlin"), 2 * 3_600_000);
});

Deno.test("zonedTime() inverts wallClock and normalizes overflowing fields", () => {
  assert.equal(zonedTime("Europe/Berlin", 2025, 7, 1, 9), Date.UTC(2025, 6, 1, 7));
  assert.equal(zonedTime("UTC", 2025, 13, 1), Date.UTC(2026, 0, 1));
  // 02:30 on the spring-forward night does not exist: Go's time.Date gives 01:30 EST (06:30Z)
  assert.equal(zonedTime("America/New_York", 2025, 3, 9, 2, 30), Date.UTC(2025, 2, 9, 6, 30));
  // 01:30 on the fall-back night happens twice: the first (EDT) is chosen
  assert.equal(zonedTime("America/New_York", 2025, 11, 2, 1, 30), Date.UTC(2025, 10, 2, 5, 30));
});

Deno.test("checkTimeZone() rejects unknown zones like Go's LoadLocation", () => {
  checkTimeZone("America/Sao_Paulo");
  assert.throws(() => checkTimeZone("Nowhere/Land"), /unknown time zone Nowhere\/Land/);
});
