import assert from "node:assert/strict";
import { humanDuration, since } from "./duration.ts";

const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

Deno.test("humanDuration() matches upstream's table of cases", () => {
  const cases: [number, string][] = [
    [1 * s, "1s"],
    [70 * s, "70s"],
    [119 * s, "119s"],
    [120 * s, "2m"],
    [190 * s, "3m10s"],
    [10 * m, "10m"],
    [70 * m, "70m"],
    [179 * m, "179m"],
    [3 * h, "3h"],
    [5 * h + 4 * m, "5h4m"],
    [8 * h, "8h"],
    [47 * h, "47h"],
    [48 * h, "2d"],
    [49 * h, "2d1h"],
    [(8 * 24 + 2) * h, "8d"],
    [367 * d, "367d"],
    [(365 * 2 * 24 + 25) * h, "2y1d"],
    [365 * 2 * d, "2y"],
    [(365 * 8 * 24 + 2) * h, "8y"],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms}ms`);
});

Deno.test("humanDuration() tolerates one second of clock skew and rejects more", () => {
  assert.equal(humanDuration(-500), "0s");
  assert.equal(humanDuration(-1999), "0s");
  assert.equal(humanDuration(-2000), "<invalid>");
});

Deno.test("humanDuration() truncates rather than rounds", () => {
  assert.equal(humanDuration(1999), "1s");
  assert.equal(humanDuration(9 * m + 59_999), "9m59s");
});

Deno.test("since() renders a missing timestamp as <unknown>", () => {
  assert.equal(since(undefined, Date.now()), "<unknown>");
  assert.equal(since("2024-01-01T00:00:00Z", Date.parse("2024-01-01T00:05:00Z")), "5m");
});
