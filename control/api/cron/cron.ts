/**
 * Cron schedules, pure, as `robfig/cron/v3`'s `ParseStandard` (which Kubernetes uses): five
 * fields (minute, hour, day of month, month, day of week) with `*`, `?`, ranges, steps, lists and
 * names (`jan`, `mon`), the `@yearly`/`@annually`/`@monthly`/`@weekly`/`@daily`/`@midnight`/
 * `@hourly` descriptors, `@every <duration>`, and a `TZ=`/`CRON_TZ=` prefix. `next` follows
 * robfig's `SpecSchedule.Next` in the schedule's time zone.
 *
 * @example
 * ```ts
 * const s = parseSchedule("*\/15 9-17 * * mon-fri", "UTC");
 * new Date(s.next(Date.UTC(2025, 0, 6, 9, 7))).toISOString(); // "2025-01-06T09:15:00.000Z"
 * ```
 * @module
 */
import { checkTimeZone, wallClock, zonedTime } from "./time_zone.ts";

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTHS: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};
const DAYS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const FIELDS: Bounds[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTHS },
  { min: 0, max: 6, names: DAYS },
];
const DESCRIPTORS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** A parsed schedule: the next activation strictly after an instant (ms), or 0 within five years none. */
export interface Schedule {
  next(after: number): number;
  timeZone: string;
}

/** A field's allowed values, and whether it was `*`/`?` (robfig's star bit). */
interface Field {
  values: Set<number>;
  star: boolean;
}

function parseInt10(s: string, expr: string): number {
  if (!/^-?\d+$/.test(s)) {
    throw new Error(`failed to parse int from ${s}: strconv.Atoi: parsing "${s}": invalid syntax`);
  }
  const n = Number(s);
  if (n < 0) throw new Error(`negative number (${n}) not allowed: ${expr}`);
  return n;
}

function parseValue(s: string, b: Bounds, expr: string): number {
  const named = b.names?.[s.toLowerCase()];
  return named ?? parseInt10(s, expr);
}

/** robfig `getRange`. */
function parseRange(expr: string, b: Bounds, field: Field): void {
  const slash = expr.split("/");
  if (slash.length > 2) throw new Error(`too many slashes: ${expr}`);
  const dash = slash[0].split("-");
  if (dash.length > 2) throw new Error(`too many hyphens: ${expr}`);
  let start: number, end: number, star = false;
  if (slash[0] === "*" || slash[0] === "?") {
    start = b.min;
    end = b.max;
    star = true;
  } else {
    start = parseValue(dash[0], b, expr);
    end = dash.length === 2 ? parseValue(dash[1], b, expr) : start;
  }
  let step = 1;
  if (slash.length === 2) {
    step = parseInt10(slash[1], expr);
    if (step === 0) throw new Error(`step of range should be a positive number: ${expr}`);
    if (dash.length === 1 && !star) end = b.max;
    if (step > 1) star = false;
  }
  if (start < b.min) throw new Error(`beginning of range (${start}) below minimum (${b.min}): ${expr}`);
  if (end > b.max) throw new Error(`end of range (${end}) above maximum (${b.max}): ${expr}`);
  if (start > end) throw new Error(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  for (let v = start; v <= end; v += step) field.values.add(v);
  if (star) field.star = true;
}

function parseField(text: string, b: Bounds): Field {
  const field: Field = { values: new Set(), star: false };
  for (const part of text.split(",")) parseRange(part, b, field);
  return field;
}

/** Parses a Go duration (`1h30m`, `90s`, `1.5h`). */
export function parseGoDuration(s: string): number {
  const units: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    "µs": 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  if (s === "0") return 0;
  let total = 0, pos = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * units[m[2]];
    pos = re.lastIndex;
  }
  if (pos !== s.length || s.length === 0) throw new Error(`time: invalid duration "${s}"`);
  return total;
}

/** robfig `dayMatches`: with a star in either day field both must match, else either. */
function dayMatches(dom: Field, dow: Field, w: { day: number; weekday: number }): boolean {
  const d = dom.values.has(w.day), wd = dow.values.has(w.weekday);
  return dom.star || dow.star ? d && wd : d || wd;
}

/**
 * Parses a standard cron spec. `timeZone` applies unless the spec starts with `TZ=` or
 * `CRON_TZ=`. Throws with robfig's messages.
 */
export function parseSchedule(spec: string, timeZone: string): Schedule {
  let text = spec.trim();
  let tz = timeZone;
  const tzm = /^(?:CRON_TZ|TZ)=(\S+)\s*/.exec(text);
  if (tzm) {
    tz = tzm[1];
    text = text.slice(tzm[0].length);
  }
  checkTimeZone(tz);
  if (text.startsWith("@every ")) {
    let delay = parseGoDuration(text.slice("@every ".length).trim());
    if (delay < 1000) delay = 1000;
    delay -= delay % 1000;
    return { timeZone: tz, next: (after) => Math.floor(after / 1000) * 1000 + delay };
  }
  if (text.startsWith("@")) {
    const d = DESCRIPTORS[text.toLowerCase()];
    if (!d) throw new Error(`unrecognized descriptor: ${text}`);
    text = d;
  }
  const parts = text.split(/\s+/).filter(Boolean);
  if (parts.length !== 5) {
    throw new Error(`expected exactly 5 fields, found ${parts.length}: [${parts.join(" ")}]`);
  }
  const [minute, hour, dom, month, dow] = parts.map((p, i) => parseField(p, FIELDS[i]));
  return { timeZone: tz, next: (after) => nextSpec({ minute, hour, dom, month, dow }, after, tz) };
}

/** robfig `SpecSchedule.Next` with seconds fixed at 0, on wall-clock fields in `tz`. */
function nextSpec(
  s: { minute: Field; hour: Field; dom: Field; month: Field; dow: Field },
  after: number,
  tz: string,
): number {
  let t = Math.floor(after / 1000) * 1000 + 1000; // the upcoming second
  let added = false;
  const yearLimit = wallClock(t, tz).year + 5;
  wrap: for (;;) {
    let w = wallClock(t, tz);
    if (w.year > yearLimit) return 0;
    while (!s.month.values.has(w.month)) {
      if (!added) {
        added = true;
        t = zonedTime(tz, w.year, w.month, 1);
        w = wallClock(t, tz);
      }
      t = zonedTime(tz, w.year, w.month + 1, w.day, w.hour, w.minute, w.second);
      w = wallClock(t, tz);
      if (w.month === 1) continue wrap;
    }
    while (!dayMatches(s.dom, s.dow, w)) {
      if (!added) {
        added = true;
        t = zonedTime(tz, w.year, w.month, w.day);
        w = wallClock(t, tz);
      }
      t = zonedTime(tz, w.year, w.month, w.day + 1, w.hour, w.minute, w.second);
      w = wallClock(t, tz);
      if (w.hour !== 0) {
        t += (w.hour > 12 ? 24 - w.hour : -w.hour) * 3_600_000;
        w = wallClock(t, tz);
      }
      if (w.day === 1) continue wrap;
    }
    while (!s.hour.values.has(w.hour)) {
      if (!added) {
        added = true;
        t = zonedTime(tz, w.year, w.month, w.day, w.hour);
      }
      t += 3_600_000;
      w = wallClock(t, tz);
      if (w.hour === 0) continue wrap;
    }
    while (!s.minute.values.has(w.minute)) {
      if (!added) {
        added = true;
        t = Math.floor(t / 60_000) * 60_000;
      }
      t += 60_000;
      w = wallClock(t, tz);
      if (w.minute === 0) continue wrap;
    }
    while (w.second !== 0) {
      if (!added) {
        added = true;
        t = Math.floor(t / 1000) * 1000;
      }
      t += 1000;
      w = wallClock(t, tz);
      if (w.second === 0) continue wrap;
    }
    return t;
  }
}
