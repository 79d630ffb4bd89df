/**
 * Go's `time.Duration.String()` for the messages the kubelet writes (`back-off 1m20s ...`). Pure.
 *
 * @example
 * ```ts
 * goDuration(80_000); // "1m20s"
 * goDuration(400); // "400ms"
 * ```
 * @module
 */

/** Formats milliseconds as Go prints a Duration. */
export function goDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${trim(ms.toFixed(3))}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  const sec = `${trim(s.toFixed(3))}s`;
  if (h) return `${h}h${m}m${sec}`;
  if (m) return `${m}m${sec}`;
  return sec;
}

function trim(n: string): string {
  return n.includes(".") ? n.replace(/0+$/, "").replace(/\.$/, "") : n;
}
