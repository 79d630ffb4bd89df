/**
 * Wall-clock time in IANA time zones with `Intl.DateTimeFormat`: the fields of an instant in a
 * zone, and the instant of a wall-clock time (with Go's `time.Date` handling of gaps and overlaps).
 *
 * @example
 * ```ts
 * wallClock(Date.UTC(2025, 0, 1, 12), "Europe/Berlin").hour; // 13
 * ```
 * @module
 */

/** Calendar fields of an instant in a zone. `month` is 1-12, `weekday` 0 (Sunday) - 6. */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      weekday: "short",
      era: "short",
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Throws a Go-style "unknown time zone" error for names `Intl` does not know. */
export function checkTimeZone(tz: string): void {
  try {
    formatter(tz);
  } catch {
    throw new Error(`unknown time zone ${tz}`);
  }
}

/** The process's local time zone (what a controller without `spec.timeZone` uses, as upstream). */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC";
}

/** The wall-clock fields of instant `ms` in `tz`. */
export function wallClock(ms: number, tz: string): WallClock {
  const parts: Record<string, string> = {};
  for (const p of formatter(tz).formatToParts(new Date(ms))) parts[p.type] = p.value;
  let year = Number(parts.year);
  if (parts.era === "BC" || parts.era === "B") year = 1 - year;
  return {
    year,
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: WEEKDAYS[parts.weekday] ?? 0,
  };
}

/** The zone's offset from UTC at instant `ms`, in ms (whole seconds). */
export function offsetAt(ms: number, tz: string): number {
  const base = Math.floor(ms / 1000) * 1000;
  const w = wallClock(base, tz);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - base;
}

/**
 * The instant of a wall-clock time in `tz`, as Go's `time.Date` computes it (fields may overflow,
 * as with `Date.UTC`: month 13 is January of the next year). The offset in effect at the wall
 * time read as UTC is tried first; if the result falls outside that offset's period, the offset
 * at the result is used. So a time in a spring-forward gap maps to the instant an hour earlier,
 * and an ambiguous fall-back time to its first occurrence.
 */
export function zonedTime(
  tz: string,
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
): number {
  const unix = Date.UTC(year, month - 1, day, hour, minute, second);
  let offset = offsetAt(unix, tz);
  if (offset !== 0) {
    const utc = unix - offset;
    const there = offsetAt(utc, tz);
    if (there !== offset) offset = there;
  }
  return unix - offset;
}
