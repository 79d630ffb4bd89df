import assert from "node:assert/strict";
import { parseGoDuration, parseSchedule } from "./cron.ts";

const at = (iso: string) => Date.parse(iso);
const next = (spec: string, from: string, tz = "UTC") =>
  new Date(parseSchedule(spec, tz).next(at(from))).toISOString();

Deno.test("parseSchedule() handles steps, ranges, lists and names", () => {
  assert.equal(next("*/15 9-17 * * mon-fri", "2025-01-06T09:07:00Z"), "2025-01-06T09:15:00.000Z");
  assert.equal(next("*/15 9-17 * * mon-fri", "2025-01-10T17:50:00Z"), "2025-01-13T09:00:00.000Z"); // Fri -> Mon
  assert.equal(next("0 0 1,15 * *", "2025-01-02T00:00:00Z"), "2025-01-15T00:00:00.000Z");
  assert.equal(next("30 4 * jan-mar/2 *", "2025-01-31T05:00:00Z"), "2025-03-01T04:30:00.000Z");
  assert.equal(next("5 * * * *", "2025-01-01T00:05:00Z"), "2025-01-01T01:05:00.000Z"); // strictly after
  assert.equal(next("10/20 * * * *", "2025-01-01T00:31:00Z"), "2025-01-01T00:50:00.000Z");
});

Deno.test("parseSchedule() matches day-of-month OR day-of-week when both are restricted", () => {
  // the 13th, or any Friday
  assert.equal(next("0 0 13 * fri", "2025-06-01T00:00:00Z"), "2025-06-06T00:00:00.000Z");
  // a star in either field means AND
  assert.equal(next("0 0 * * fri", "2025-06-01T00:00:00Z"), "2025-06-06T00:00:00.000Z");
  assert.equal(next("0 0 13 * *", "2025-06-01T00:00:00Z"), "2025-06-13T00:00:00.000Z");
});

Deno.test("parseSchedule() knows the @ descriptors and @every", () => {
  assert.equal(next("@hourly", "2025-01-01T00:00:01Z"), "2025-01-01T01:00:00.000Z");
  assert.equal(next("@daily", "2025-01-01T10:00:00Z"), "2025-01-02T00:00:00.000Z");
  assert.equal(next("@weekly", "2025-01-01T00:00:00Z"), "2025-01-05T00:00:00.000Z");
  assert.equal(next("@monthly", "2025-01-15T00:00:00Z"), "2025-02-01T00:00:00.000Z");
  assert.equal(next("@yearly", "2025-01-15T00:00:00Z"), "2026-01-01T00:00:00.000Z");
  assert.equal(next("@every 1h30m", "2025-01-01T00:00:00.500Z"), "2025-01-01T01:30:00.000Z");
  assert.equal(parseGoDuration("1.5h"), 5_400_000);
});

Deno.test("parseSchedule() evaluates in the schedule's time zone, skipping and repeating across DST", () => {
  assert.equal(next("0 9 * * *", "2025-07-01T00:00:00Z", "Europe/Berlin"), "2025-07-01T07:00:00.000Z");
  assert.equal(next("TZ=Asia/Tokyo 0 9 * * *", "2025-06-30T12:00:00Z", "UTC"), "2025-07-01T00:00:00.000Z");
  // 02:30 does not exist in New York on 2025-03-09: robfig skips that day
  assert.equal(next("30 2 * * *", "2025-03-08T08:00:00Z", "America/New_York"), "2025-03-10T06:30:00.000Z");
  // 01:30 happens twice on 2025-11-02
  assert.equal(next("30 1 * * *", "2025-11-02T05:30:00Z", "America/New_York"), "2025-11-02T06:30:00.000Z");
});

Deno.test("parseSchedule() returns 0 for schedules that never fire", () => {
  assert.equal(parseSchedule("0 0 30 2 *", "UTC").next(at("2025-01-01T00:00:00Z")), 0);
});

Deno.test("parseSchedule() rejects bad specs with robfig's messages", () => {
  assert.throws(() => parseSchedule("* * * *", "UTC"), /expected exactly 5 fields, found 4/);
  assert.throws(() => parseSchedule("60 * * * *", "UTC"), /end of range \(60\) above maximum \(59\)/);
  assert.throws(() => parseSchedule("* * * * 7", "UTC"), /above maximum \(6\)/);
  assert.throws(() => parseSchedule("5-1 * * * *", "UTC"), /beyond end of range/);
  assert.throws(() => parseSchedule("*/0 * * * *", "UTC"), /step of range should be a positive number/);
  assert.throws(() => parseSchedule("@sometimes", "UTC"), /unrecognized descriptor/);
  assert.throws(() => parseSchedule("* * * * *", "Mars/Olympus"), /unknown time zone Mars\/Olympus/);
});
