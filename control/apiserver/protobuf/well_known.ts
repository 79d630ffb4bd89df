/**
 * The JSON forms of the apimachinery types whose Go types marshal themselves: `metav1.Time`,
 * `metav1.MicroTime`, `metav1.Duration`, int64 numbers and `[]byte`. Pure functions, both ways.
 *
 * @example
 * ```ts
 * formatTime(1700000000, 0);            // "2023-11-14T22:13:20Z"
 * formatGoDuration(5_400_000_000_000n); // "1h30m0s"
 * parseGoDuration("1.5s");              // 1_500_000_000n
 * ```
 * @module
 */

/** A protobufjs 64-bit value: a number, a bigint, or a `Long`. */
export type Int64 = number | bigint | { toString(): string; toNumber(): number };

/** An int64 as a JS number, as `encoding/json` would print it (exact up to 2^53). */
export function int64ToNumber(v: Int64): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return v.toNumber();
}

/** An int64 as an exact bigint. */
export function int64ToBigInt(v: Int64): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return BigInt(Math.trunc(v));
  return BigInt(v.toString());
}

function isoSeconds(seconds: number): string {
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) throw new RangeError(`time ${seconds} s is out of range`);
  return d.toISOString().slice(0, 19);
}

/**
 * `metav1.Time` JSON: RFC 3339 in UTC with seconds precision, or `null` for the zero time (which
 * the protobuf form carries as seconds 0, nanos 0).
 */
export function formatTime(seconds: number, nanos: number): string | null {
  if (seconds === 0 && nanos === 0) return null;
  return isoSeconds(seconds) + "Z";
}

/** `metav1.MicroTime` JSON: RFC 3339 in UTC with six fraction digits, or `null` for zero. */
export function formatMicroTime(seconds: number, nanos: number): string | null {
  if (seconds === 0 && nanos === 0) return null;
  return `${isoSeconds(seconds)}.${String(Math.floor(nanos / 1000)).padStart(6, "0")}Z`;
}

/** Parses an RFC 3339 timestamp into protobuf `Timestamp` parts (seconds since the epoch, nanos). */
export function parseTime(text: string): { seconds: number; nanos: number } {
  const m = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) throw new SyntaxError(`"${text}" is not an RFC 3339 time`);
  const ms = Date.parse(`${m[1]}T${m[2]}${m[4].toUpperCase()}`);
  if (Number.isNaN(ms)) throw new SyntaxError(`"${text}" is not an RFC 3339 time`);
  return { seconds: Math.floor(ms / 1000), nanos: Number((m[3] ?? "").padEnd(9, "0")) };
}

/** `digits` fraction digits of `v / 10^digits`, trailing zeros and a bare point removed. */
function fraction(v: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits);
  const frac = (v % scale).toString().padStart(digits, "0").replace(/0+$/, "");
  return (v / scale).toString() + (frac ? "." + frac : "");
}

/** Go's `time.Duration.String()` for a number of nanoseconds (`1h0m0s`, `1.5s`, `300ms`, `0s`). */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return "0s";
  const sign = ns < 0n ? "-" : "";
  const u = ns < 0n ? -ns : ns;
  if (u < 1_000n) return `${sign}${u}ns`;
  if (u < 1_000_000n) return `${sign}${fraction(u, 3)}µs`;
  if (u < 1_000_000_000n) return `${sign}${fraction(u, 6)}ms`;
  let out = fraction(u % 60_000_000_000n, 9) + "s";
  const minutes = u / 60_000_000_000n;
  if (minutes > 0n) {
    out = `${minutes % 60n}m` + out;
    const hours = minutes / 60n;
    if (hours > 0n) out = `${hours}h` + out;
  }
  return sign + out;
}

const PARSE_UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  "µs": 1_000n,
  "μs": 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Go's `time.ParseDuration`: `"1h30m"`, `"1.5s"`, `"-300ms"` → nanoseconds. */
export function parseGoDuration(text: string): bigint {
  const m = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.exec(text);
  if (text === "0" || text === "-0" || text === "+0") return 0n;
  if (!m) throw new SyntaxError(`"${text}" is not a Go duration`);
  let total = 0n;
  for (const part of text.replace(/^[-+]/, "").matchAll(/(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/g)) {
    const unit = PARSE_UNITS[part[3]];
    const frac = part[2] ?? "";
    total += BigInt(part[1] || "0") * unit + (frac ? BigInt(frac) * unit / 10n ** BigInt(frac.length) : 0n);
  }
  return m[1] === "-" ? -total : total;
}

/** Standard base64 of bytes, as Go's `encoding/json` prints a `[]byte`. */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Decodes standard base64 (what a JSON `[]byte` holds). */
export function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
