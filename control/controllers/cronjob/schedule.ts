/**
 * When a CronJob should run, pure (upstream `cronjob/utils.go`): the most recent missed schedule
 * time since the last one (or creation, or the starting deadline), how many were missed, and how
 * long to wait for the next.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import type { Schedule } from "../../api/cron/cron.ts";

/** Upstream `nextScheduleDelta`: requeue this long after the next schedule time. */
export const NEXT_SCHEDULE_DELTA_MS = 100;

/** Upstream `mostRecentScheduleTime`: the latest activation in (earliest, now] and a rough count of them. */
export function mostRecentScheduleTime(
  earliest: number,
  now: number,
  schedule: Schedule,
): { time?: number; missed: number } {
  const t1 = schedule.next(earliest);
  const t2 = schedule.next(t1);
  if (!t1 || now < t1) return { missed: 0 };
  if (!t2 || now < t2) return { time: t1, missed: 1 };
  const between = Math.round((t2 - t1) / 1000);
  if (between < 1) throw new Error("time difference between two schedules is less than 1 second");
  const elapsed = Math.floor((now - t1) / 1000);
  const missed = Math.floor(elapsed / between) + 1;
  const potentialEarliest = t1 + (missed - 1 - 1) * between * 1000;
  let mostRecent = 0;
  for (let t = schedule.next(potentialEarliest); t && t <= now; t = schedule.next(t)) mostRecent = t;
  return mostRecent ? { time: mostRecent, missed } : { missed };
}

function time(s: string | undefined): number | undefined {
  const t = s ? Date.parse(s) : NaN;
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Upstream `nextScheduleTime`: the schedule time to act on now, if any, counting from the last
 * schedule time (or creation), but not earlier than `startingDeadlineSeconds` ago. `tooMany`
 * reports more than 100 missed times (upstream's "too many missed start times" warning).
 */
export function nextScheduleTime(
  cj: KubeObject,
  now: number,
  schedule: Schedule,
): { time?: number; missed: number; tooMany: boolean } {
  let earliest = time(cj.status?.lastScheduleTime) ?? time(cj.metadata.creationTimestamp) ?? now;
  const deadline = cj.spec?.startingDeadlineSeconds;
  if (deadline !== undefined && deadline !== null) earliest = Math.max(earliest, now - deadline * 1000);
  const r = mostRecentScheduleTime(earliest, now, schedule);
  return { ...r, tooMany: r.missed > 100 };
}

/** Upstream `nextScheduleTimeDuration`: how long until the next activation after the latest one due. */
export function nextScheduleDelay(cj: KubeObject, now: number, schedule: Schedule): number | undefined {
  const earliest = time(cj.status?.lastScheduleTime) ?? time(cj.metadata.creationTimestamp) ?? now;
  let recent: number;
  try {
    recent = mostRecentScheduleTime(earliest, now, schedule).time ?? earliest;
  } catch {
    recent = now;
  }
  const next = schedule.next(recent);
  if (!next) return undefined;
  return next + NEXT_SCHEDULE_DELTA_MS - now;
}
