import assert from "node:assert/strict";
import { lineReader } from "./runner.ts";

/** A blocking read over `chunks`, as Deno.stdin.readSync answers (null at the end). */
function reads(chunks: Uint8Array[]): (b: Uint8Array) => number | null {
  let pending = chunks.slice();
  return (b) => {
    const c = pending.shift();
    if (!c) return null;
    const n = Math.min(b.length, c.length);
    b.set(c.subarray(0, n));
    if (n < c.length) pending = [c.subarray(n), ...pending];
    return n;
  };
}

Deno.test("lineReader() splits lines across reads, keeps UTF-8 intact and grows past its buffer", () => {
  const e = new TextEncoder();
  const big = "x".repeat(200_000);
  const text = `{"a":1}\n\n{"b":"é😀"}\n${big}\nlast`;
  const bytes = e.encode(text);
  // Split in odd places, including inside the multi-byte characters.
  const chunks = [bytes.subarray(0, 3), bytes.subarray(3, 17), bytes.subarray(17, 19), bytes.subarray(19)];
  const r = lineReader(reads(chunks));
  const lines: string[] = [];
  for (let l = r.next(); l !== null; l = r.next()) lines.push(l);
  // A last line without a newline is not a complete call: it is not returned.
  assert.deepEqual(lines, ['{"a":1}', "", '{"b":"é😀"}', big]);
});
