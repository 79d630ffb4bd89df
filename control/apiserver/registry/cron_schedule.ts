/**
 * CronJob schedule and time-zone checks, with the error texts of `robfig/cron/v3`'s
 * `ParseStandard`, which upstream returns verbatim (`expected exactly 5 fields, found 1: [foo]`).
 * The parser itself is shared with the CronJob controller (`control/api/cron/`).
 * @module
 */
import { parseSchedule } from "../../api/cron/cron.ts";

/** The parse error for a standard five-field cron schedule, or undefined when it is valid. */
export function cronScheduleError(schedule: string): string | undefined {
  if (schedule.length === 0) return "empty spec string";
  const tz = /^(?:CRON_TZ|TZ)=(\S*)/.exec(schedule)?.[1];
  try {
    parseSchedule(schedule, "UTC");
    return undefined;
  } catch (e) {
    const message = (e as Error).message;
    // robfig reports a bad prefix zone as a bad location.
    if (tz !== undefined && message === `unknown time zone ${tz}`) {
      return `provided bad location ${tz}: unknown time zone ${tz}`;
    }
    if (message.startsWith("time: invalid duration")) return `failed to parse duration ${schedule.trim()}: ${message}`;
    return message;
  }
}

/** Upstream's `validateTimeZone` message, or undefined when the zone is valid. */
export function timeZoneError(tz: string): string | undefined {
  if (tz.length === 0) return "timeZone must be nil or non-empty string";
  for (const part of tz.split("/")) {
    if (part === "." || part === ".." || part.startsWith("-") || !/^[A-Za-z\.\-_0-9+]{1,14}$/.test(part)) {
      return `unknown time zone ${tz}`;
    }
  }
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return undefined;
  } catch {
    return `unknown time zone ${tz}`;
  }
}
