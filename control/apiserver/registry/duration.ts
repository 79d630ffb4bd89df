/**
 * Upstream's `HumanDuration` (`k8s.io/apimachinery/pkg/util/duration`): the AGE-style durations
 * kubectl prints, with ~2-3 significant figures.
 *
 * @example
 * ```ts
 * humanDuration(190_000); // "3m10s"
 * ```
 * @module
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Go's `int(d / unit)`: truncation toward zero. */
function per(ms: number, unit: number): number {
  return Math.trunc(ms / unit);
}

/**
 * A succinct representation of a duration in milliseconds, exactly as upstream's
 * `duration.HumanDuration`: `"<invalid>"` below -1s, `"0s"` for small negative skews,
 * then `"90s"`, `"3m10s"`, `"70m"`, `"5h4m"`, `"47h"`, `"2d1h"`, `"367d"`, `"2y1d"`, `"8y"`.
 */
export function humanDuration(ms: number): string {
  const seconds = per(ms, SECOND);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = per(ms, MINUTE);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = per(ms, HOUR);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${per(hours, 24)}d` : `${per(hours, 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${per(hours, 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = per(hours, 24) % 365;
    const years = per(hours, 24 * 365);
    return dy === 0 ? `${years}y` : `${years}y${dy}d`;
  }
  return `${per(hours, 24 * 365)}y`;
}

/**
 * Upstream's `translateTimestampSince`: `"<unknown>"` for a missing timestamp, else the
 * {@link humanDuration} from `timestamp` to `now`.
 */
export function since(timestamp: string | undefined | null, now: number): string {
  if (!timestamp) return "<unknown>";
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) return "<unknown>";
  return humanDuration(now - t);
}
