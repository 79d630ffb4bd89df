import assert from "node:assert/strict";
import {
  formatGoDuration,
  formatMicroTime,
  formatTime,
  fromBase64,
  int64ToBigInt,
  int64ToNumber,
  parseGoDuration,
  parseTime,
  toBase64,
} from "./well_known.ts";

Deno.test("formatTime() prints RFC 3339 seconds in UTC and null for the zero time", () => {
  assert.equal(formatTime(1700000000, 0), "2023-11-14T22:13:20Z");
  assert.equal(formatTime(1700000000, 999_999_999), "2023-11-14T22:13:20Z");
  assert.equal(formatTime(-1, 0), "1969-12-31T23:59:59Z");
  assert.equal(formatTime(0, 0), null);
});

Deno.test("formatMicroTime() prints six fraction digits, truncating nanoseconds", () => {
  assert.equal(formatMicroTime(1700000000, 123_456_789), "2023-11-14T22:13:20.123456Z");
  assert.equal(formatMicroTime(1700000000, 1_000), "2023-11-14T22:13:20.000001Z");
  assert.equal(formatMicroTime(1700000000, 0), "2023-11-14T22:13:20.000000Z");
  assert.equal(formatMicroTime(0, 0), null);
});

Deno.test("parseTime() reads RFC 3339 with offsets and fractions into seconds and nanos", () => {
  assert.deepEqual(parseTime("2023-11-14T22:13:20Z"), { seconds: 1700000000, nanos: 0 });
  assert.deepEqual(parseTime("2023-11-14T23:13:20.5+01:00"), { seconds: 1700000000, nanos: 500_000_000 });
  assert.deepEqual(parseTime("2023-11-14T22:13:20.123456Z"), { seconds: 1700000000, nanos: 123_456_000 });
  assert.throws(() => parseTime("yesterday"), /not an RFC 3339 time/);
});

Deno.test("formatGoDuration() matches Go's time.Duration.String()", () => {
  const cases: [bigint, string][] = [
    [0n, "0s"],
    [1n, "1ns"],
    [1_100n, "1.1µs"],
    [2_200_000n, "2.2ms"],
    [3_300_000_000n, "3.3s"],
    [60_000_000_000n, "1m0s"],
    [4_000_000_000_000n + 5_000_000_000n, "1h6m45s"],
    [3_600_000_000_000n, "1h0m0s"],
    [-1_500_000_000n, "-1.5s"],
    [9_223_372_036_854_775_807n, "2562047h47m16.854775807s"],
  ];
  for (const [ns, text] of cases) assert.equal(formatGoDuration(ns), text, `${ns}`);
});

Deno.test("parseGoDuration() reads what Go's time.ParseDuration reads", () => {
  assert.equal(parseGoDuration("1h30m"), 5_400_000_000_000n);
  assert.equal(parseGoDuration("1.5s"), 1_500_000_000n);
  assert.equal(parseGoDuration("-300ms"), -300_000_000n);
  assert.equal(parseGoDuration("1µs1ns"), 1_001n);
  assert.equal(parseGoDuration("0"), 0n);
  for (const ns of [0n, 1_100n, 3_300_000_000n, 4_005_000_000_000n, -1_500_000_000n]) {
    assert.equal(parseGoDuration(formatGoDuration(ns)), ns);
  }
  assert.throws(() => parseGoDuration("5 minutes"), /not a Go duration/);
  assert.throws(() => parseGoDuration("10"), /not a Go duration/);
});

Deno.test("int64ToNumber() and int64ToBigInt() accept numbers, bigints and Long-like objects", () => {
  const long = { toString: () => "9007199254740993", toNumber: () => 9007199254740992 };
  assert.equal(int64ToNumber(5), 5);
  assert.equal(int64ToNumber(5n), 5);
  assert.equal(int64ToNumber(long), 9007199254740992);
  assert.equal(int64ToBigInt(long), 9007199254740993n);
  assert.equal(int64ToBigInt(-7), -7n);
});

Deno.test("toBase64() and fromBase64() round-trip bytes that are not UTF-8", () => {
  const bytes = new Uint8Array([0x00, 0xff, 0xfe, 0x80, 0x7f, 0x0a, 0xc3, 0x28]);
  assert.equal(toBase64(bytes), "AP/+gH8Kwyg=");
  assert.deepEqual(fromBase64("AP/+gH8Kwyg="), bytes);
  const big = new Uint8Array(100_000).map((_, i) => i % 251);
  assert.deepEqual(fromBase64(toBase64(big)), big);
  assert.equal(toBase64(new Uint8Array()), "");
});
