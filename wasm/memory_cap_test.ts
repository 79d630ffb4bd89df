import assert from "node:assert/strict";
import { capMemory, definedMemories, MemoryLimitError } from "./memory_cap.ts";

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const MiB = 1024 * 1024;

/** A module with one memory (min pages, optional max) that exports `memory` and `grow(pages)`. */
function moduleWithMemory(min: number, max?: number): Uint8Array {
  const limits = max === undefined ? [0x00, min] : [0x01, min, max];
  return new Uint8Array([
    ...HEADER,
    0x01,
    0x06,
    0x01,
    0x60,
    0x01,
    0x7f,
    0x01,
    0x7f, // type: (i32) -> i32
    0x03,
    0x02,
    0x01,
    0x00, // func 0 has type 0
    0x05,
    limits.length + 1,
    0x01,
    ...limits, // memory section
    0x07,
    0x11,
    0x02,
    0x06,
    ...new TextEncoder().encode("memory"),
    0x02,
    0x00,
    0x04,
    ...new TextEncoder().encode("grow"),
    0x00,
    0x00,
    0x0a,
    0x08,
    0x01,
    0x06,
    0x00,
    0x20,
    0x00,
    0x40,
    0x00,
    0x0b, // grow: memory.grow(local 0)
  ]);
}

Deno.test("capMemory() gives an uncapped memory a maximum that V8 enforces", async () => {
  const original = moduleWithMemory(1);
  assert.deepEqual(definedMemories(original), [{ minBytes: 65536, maxBytes: undefined }]);
  const capped = capMemory(original, 2 * MiB);
  assert.deepEqual(definedMemories(capped), [{ minBytes: 65536, maxBytes: 2 * MiB }]);
  const { instance } = await WebAssembly.instantiate(capped as Uint8Array<ArrayBuffer>);
  const grow = instance.exports.grow as (pages: number) => number;
  assert.equal(grow(31), 1, "growing to the cap works");
  assert.equal(grow(1), -1, "growing past the cap fails inside the guest");
  const { instance: free } = await WebAssembly.instantiate(original as Uint8Array<ArrayBuffer>);
  assert.equal((free.exports.grow as (p: number) => number)(40), 1, "the uncapped module grows freely");
});

Deno.test("capMemory() keeps a lower existing maximum and refuses a minimum above the limit", () => {
  assert.deepEqual(definedMemories(capMemory(moduleWithMemory(1, 4), 2 * MiB)), [{
    minBytes: 65536,
    maxBytes: 4 * 65536,
  }]);
  assert.throws(
    () => capMemory(moduleWithMemory(64), MiB),
    (e) => e instanceof MemoryLimitError && /at least 4 MiB.*limit is 1 MiB/.test(e.message),
  );
});

Deno.test("capMemory() leaves a module without memories as it is", () => {
  const bytes = new Uint8Array([...HEADER, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00]);
  assert.equal(capMemory(bytes, MiB), bytes);
  assert.throws(
    () => capMemory(new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]), MiB),
    /Not a core WebAssembly module/,
  );
});
