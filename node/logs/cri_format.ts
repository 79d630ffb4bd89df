/**
 * The CRI container log format, pure: one entry per line,
 * `<RFC3339Nano time> <stream> <tag> <content>`, where the tag is `F` for a full line and `P`
 * for a partial one (a line longer than the maximum, or cut by the end of the stream), as
 * containerd and CRI-O write it and the kubelet reads it.
 *
 * @example
 * ```ts
 * formatEntry(0, "stdout", "F", "hello"); // "1970-01-01T00:00:00.000000000Z stdout F hello\n"
 * parseEntry("2024-01-01T00:00:00.5Z stderr P par"); // { time: "...", stream: "stderr", partial: true, ... }
 * ```
 * @module
 */

export type LogStream = "stdout" | "stderr";

/** One parsed log entry. */
export interface LogEntry {
  /** The timestamp exactly as written (RFC 3339 with nanoseconds). */
  time: string;
  /** Milliseconds since the epoch of `time`. */
  ms: number;
  stream: LogStream;
  partial: boolean;
  /** The line's content, without its newline. */
  content: string;
}

/** RFC 3339 with nine fractional digits (Go's `RFC3339Nano` as the CRI writers use it). */
export function rfc3339Nano(ms: number, nanosWithinMs = 0): string {
  const iso = new Date(ms).toISOString(); // 2024-01-01T00:00:00.123Z
  const frac = iso.slice(20, 23) + String(Math.floor(nanosWithinMs)).padStart(6, "0");
  return `${iso.slice(0, 19)}.${frac}Z`;
}

/** One log line in CRI format, newline included. */
export function formatEntry(
  ms: number,
  stream: LogStream,
  tag: "F" | "P",
  content: string,
  nanos = 0,
): string {
  return `${rfc3339Nano(ms, nanos)} ${stream} ${tag} ${content}\n`;
}

/** Milliseconds since the epoch of an RFC 3339 time with any number of fractional digits. */
export function parseTime(time: string): number {
  const m = time.match(/^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/);
  if (!m) return NaN;
  const frac = (m[2] ?? "").slice(0, 3).padEnd(3, "0");
  return Date.parse(`${m[1]}.${frac}${m[3]}`);
}

/** Parses one line (without its newline); undefined for a line that is not a CRI entry. */
export function parseEntry(line: string): LogEntry | undefined {
  const a = line.indexOf(" ");
  const b = line.indexOf(" ", a + 1);
  if (a < 0 || b < 0) return undefined;
  const stream = line.slice(a + 1, b);
  if (stream !== "stdout" && stream !== "stderr") return undefined;
  const c = line.indexOf(" ", b + 1);
  const tag = c < 0 ? line.slice(b + 1) : line.slice(b + 1, c);
  if (tag !== "F" && tag !== "P") return undefined;
  const time = line.slice(0, a);
  const ms = parseTime(time);
  if (Number.isNaN(ms)) return undefined;
  return { time, ms, stream, partial: tag === "P", content: c < 0 ? "" : line.slice(c + 1) };
}
