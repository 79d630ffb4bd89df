import assert from "node:assert/strict";
import { PodWorkers } from "./pod_workers.ts";

Deno.test("PodWorkers never runs two syncs of one pod at once and collapses updates", async () => {
  let active = 0, maxActive = 0, runs = 0;
  const gate = Promise.withResolvers<void>();
  await using w = new PodWorkers(async () => {
    active++;
    maxActive = Math.max(maxActive, active);
    runs++;
    if (runs === 1) await gate.promise;
    active--;
  });
  w.update("a");
  for (let i = 0; i < 10; i++) w.update("a");
  gate.resolve();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(maxActive, 1);
  assert.equal(runs, 2, "ten updates during a sync make one more sync");
});

Deno.test("PodWorkers runs different pods concurrently", async () => {
  const started: string[] = [];
  const gate = Promise.withResolvers<void>();
  await using w = new PodWorkers(async (uid) => {
    started.push(uid);
    await gate.promise;
  });
  w.update("a");
  w.update("b");
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(started.sort(), ["a", "b"]);
  gate.resolve();
});

Deno.test("PodWorkers honours requeueAfterMs and retries failures", async () => {
  const times: number[] = [];
  let n = 0;
  await using w = new PodWorkers(() => {
    times.push(performance.now());
    n++;
    if (n === 1) return Promise.resolve({ requeueAfterMs: 30 });
    if (n === 2) return Promise.reject(new Error("boom"));
    return Promise.resolve({ forget: true });
  }, { retryMs: 10, onError: () => {} });
  w.update("a");
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(n, 3);
  assert.ok(times[1] - times[0] >= 25, "requeued after its delay");
  assert.deepEqual(w.uids, [], "forgotten at the end");
});
