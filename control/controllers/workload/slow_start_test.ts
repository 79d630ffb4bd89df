import assert from "node:assert/strict";
import { slowStartBatch } from "./slow_start.ts";

Deno.test("slowStartBatch() runs calls in batches of 1, 2, 4, ...", async () => {
  let inFlight = 0;
  const peaks: number[] = [];
  const r = await slowStartBatch(7, 1, async () => {
    inFlight++;
    peaks.push(inFlight);
    await new Promise((res) => setTimeout(res, 1));
    inFlight--;
  });
  assert.equal(r.successes, 7);
  assert.equal(r.attempted, 7);
  assert.equal(Math.max(...peaks), 4);
});

Deno.test("slowStartBatch() stops after the first batch with an error", async () => {
  let calls = 0;
  const r = await slowStartBatch(10, 1, (i) => {
    calls++;
    return i === 2 ? Promise.reject(new Error("quota exceeded")) : Promise.resolve();
  });
  assert.equal(calls, 3); // batches: [0], [1, 2]
  assert.equal(r.successes, 2);
  assert.equal((r.error as Error).message, "quota exceeded");
});
