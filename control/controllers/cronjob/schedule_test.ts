import assert from "node:assert/strict";
import { parseSchedule } from "../../api/cron/cron.ts";
import { mostRecentScheduleTime, nextScheduleDelay, nextScheduleTime } from "./schedule.ts";

const at = (iso: string) => Date.parse(iso);
const hourly = parseSchedule("0 * * * *", "UTC");

Deno.test("mostRecentScheduleTime() finds the latest missed activation and counts them", () => {
  assert.deepEqual(mostRecentScheduleTime(at("2025-01-01T00:00:00Z"), at("2025-01-01T00:30:00Z"), hourly), {
    missed: 0,
  });
  assert.deepEqual(mostRecentScheduleTime(at("2025-01-01T00:00:00Z"), at("2025-01-01T01:30:00Z"), hourly), {
    time: at("2025-01-01T01:00:00Z"),
    missed: 1,
  });
  assert.deepEqual(mostRecentScheduleTime(at("2025-01-01T00:00:00Z"), at("2025-01-01T05:10:00Z"), hourly), {
    time: at("2025-01-01T05:00:00Z"),
    missed: 5,
  });
});

Deno.test("nextScheduleTime() counts from the last schedule time, or creation, bounded by the starting deadline", () => {
  const cj = { metadata: { creationTimestamp: "2025-01-01T00:00:00Z" }, spec: {}, status: {} };
  assert.equal(nextScheduleTime(cj, at("2025-01-01T02:10:00Z"), hourly).time, at("2025-01-01T02:00:00Z"));
  const ran = { ...cj, status: { lastScheduleTime: "2025-01-01T02:00:00Z" } };
  assert.equal(nextScheduleTime(ran, at("2025-01-01T02:10:00Z"), hourly).time, undefined);
  const tight = { ...cj, spec: { startingDeadlineSeconds: 60 } };
  assert.equal(nextScheduleTime(tight, at("2025-01-01T02:10:00Z"), hourly).time, undefined);
});

Deno.test("nextScheduleTime() reports too many missed start times", () => {
  const cj = { metadata: { creationTimestamp: "2025-01-01T00:00:00Z" }, spec: {}, status: {} };
  const r = nextScheduleTime(cj, at("2025-01-10T00:30:00Z"), hourly);
  assert.equal(r.tooMany, true);
  assert.equal(r.time, at("2025-01-10T00:00:00Z"));
});

Deno.test("nextScheduleDelay() aims 100 ms after the next activation", () => {
  const cj = {
    metadata: { creationTimestamp: "2025-01-01T00:00:00Z" },
    spec: {},
    status: { lastScheduleTime: "2025-01-01T01:00:00Z" },
  };
  assert.equal(nextScheduleDelay(cj, at("2025-01-01T01:59:00Z"), hourly), 60_100);
});
