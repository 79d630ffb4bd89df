import assert from "node:assert/strict";
import { cronScheduleError, timeZoneError } from "./cron_schedule.ts";

Deno.test("cronScheduleError() accepts standard schedules and descriptors", () => {
  for (
    const s of [
      "*/5 * * * *",
      "0 3 * * mon-fri",
      "15,45 1-5 1 jan *",
      "@hourly",
      "@every 1h30m",
      "TZ=UTC 0 0 * * *",
    ]
  ) {
    assert.equal(cronScheduleError(s), undefined, s);
  }
});

Deno.test("cronScheduleError() returns robfig/cron's messages", () => {
  assert.equal(cronScheduleError("foo"), "expected exactly 5 fields, found 1: [foo]");
  assert.equal(cronScheduleError("61 * * * *"), "end of range (61) above maximum (59): 61");
  assert.equal(cronScheduleError("* * 0 * *"), "beginning of range (0) below minimum (1): 0");
  assert.equal(
    cronScheduleError("x * * * *"),
    'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax',
  );
  assert.equal(cronScheduleError("@sometimes"), "unrecognized descriptor: @sometimes");
  assert.equal(cronScheduleError(""), "empty spec string");
});

Deno.test("timeZoneError() rejects unknown zones", () => {
  assert.equal(timeZoneError("Europe/Paris"), undefined);
  assert.equal(timeZoneError("Mars/Olympus"), "unknown time zone Mars/Olympus");
});

Deno.test("cronScheduleError() reports bad @every durations and TZ prefixes as robfig does", () => {
  assert.equal(cronScheduleError("@every 1x"), 'failed to parse duration @every 1x: time: invalid duration "1x"');
  assert.equal(
    cronScheduleError("TZ=Mars/Olympus 0 0 * * *"),
    "provided bad location Mars/Olympus: unknown time zone Mars/Olympus",
  );
});
