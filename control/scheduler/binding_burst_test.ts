import assert from "node:assert/strict";
import { BindingBurst, burstDue, type BurstState } from "./binding_burst.ts";

const state = (o: Partial<BurstState>): BurstState => ({
  held: 1,
  oldestAt: 0,
  now: 0,
  busy: true,
  maxHeld: 16,
  maxWaitMs: 2,
  ...o,
});

Deno.test("burstDue() holds bindings while more pods wait and the burst is young and not full", () => {
  assert.equal(burstDue(state({ held: 1, now: 1.9 })), false);
  assert.equal(burstDue(state({ held: 15, now: 1 })), false);
});

Deno.test("burstDue() releases when the queue is empty, the burst is full or the oldest is old enough", () => {
  assert.equal(burstDue(state({ busy: false })), true);
  assert.equal(burstDue(state({ held: 16 })), true);
  assert.equal(burstDue(state({ oldestAt: 10, now: 12 })), true);
});

Deno.test("burstDue() has nothing to release when nothing is held", () => {
  assert.equal(burstDue(state({ held: 0, busy: false, now: 100 })), false);
});

Deno.test("BindingBurst starts held bindings together, oldest first, once due", () => {
  let now = 0;
  const started: number[] = [];
  const burst = new BindingBurst({ maxHeld: 3, maxWaitMs: 2, now: () => now });
  burst.hold(() => started.push(1));
  now = 1;
  assert.equal(burst.settle({ busy: true }), 0);
  burst.hold(() => started.push(2));
  assert.equal(burst.settle({ busy: true }), 0);
  assert.equal(started.length, 0);
  // Age counts from the oldest held binding.
  now = 2;
  assert.equal(burst.settle({ busy: true }), 2);
  assert.deepEqual(started, [1, 2]);
  // A new burst starts its own clock: full at three.
  for (const i of [3, 4, 5]) {
    burst.hold(() => started.push(i));
    if (i < 5) assert.equal(burst.settle({ busy: true }), 0);
  }
  assert.equal(burst.settle({ busy: true }), 3);
  // An isolated binding (queue empty after it) starts at once.
  burst.hold(() => started.push(6));
  assert.equal(burst.settle({ busy: false }), 1);
  assert.deepEqual(started, [1, 2, 3, 4, 5, 6]);
  assert.equal(burst.size, 0);
});

Deno.test("BindingBurst with maxHeld 1 starts every binding at once", () => {
  const burst = new BindingBurst({ maxHeld: 1, now: () => 0 });
  let n = 0;
  burst.hold(() => n++);
  assert.equal(burst.settle({ busy: true }), 1);
  assert.equal(n, 1);
});

Deno.test("BindingBurst rejects a size or a wait that is not a finite number", () => {
  assert.throws(() => new BindingBurst({ maxHeld: NaN }), /finite size/);
  assert.throws(() => new BindingBurst({ maxWaitMs: -1 }), /non-negative wait/);
});
