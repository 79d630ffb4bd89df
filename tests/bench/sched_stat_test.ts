import assert from "node:assert/strict";
import { formatDelta, parseThread, snapshotTree, treeDelta, type TreeSnapshot } from "./sched_stat.ts";

const STATUS = "Name:\tdeno\nvoluntary_ctxt_switches:\t12\nnonvoluntary_ctxt_switches:\t3\n";

Deno.test("parseThread() reads run time, run-queue wait and both context switch counts", () => {
  assert.deepEqual(parseThread("1500000 250000 40\n", STATUS), {
    runNs: 1_500_000,
    delayNs: 250_000,
    voluntary: 12,
    involuntary: 3,
  });
});

Deno.test("treeDelta() sums each role's threads, its main thread apart, and counts a new thread from zero", () => {
  const t = (runNs: number, delayNs: number, voluntary = 0, involuntary = 0) => ({ runNs, delayNs, voluntary, involuntary });
  const before: TreeSnapshot = new Map([
    ["10/10", { role: "scheduler", main: true, stat: t(100, 50, 1, 1) }],
    ["10/11", { role: "scheduler", main: false, stat: t(10, 5) }],
  ]);
  const after: TreeSnapshot = new Map([
    ["10/10", { role: "scheduler", main: true, stat: t(300, 150, 5, 3) }],
    ["10/11", { role: "scheduler", main: false, stat: t(30, 5) }],
    ["20/20", { role: "runner", main: true, stat: t(40, 60, 2, 0) }],
  ]);
  const d = treeDelta(before, after);
  assert.deepEqual(d.get("scheduler"), { all: t(220, 100, 4, 2), main: t(200, 100, 4, 2) });
  assert.deepEqual(d.get("runner"), { all: t(40, 60, 2, 0), main: t(40, 60, 2, 0) });
  assert.equal(
    formatDelta(d, 2).split("; ")[0],
    "scheduler CPU 0.000 (main thread 0.000), run-queue wait 0.000 (main 0.000) ms, switches 2.00 vol / 1.00 invol (main)",
  );
});

Deno.test("snapshotTree() sees this process's own threads with their counters", () => {
  const s = snapshotTree(Deno.pid, () => "self");
  const main = s.get(`${Deno.pid}/${Deno.pid}`);
  assert.ok(main, "the main thread is in the snapshot");
  assert.equal(main.role, "self");
  assert.ok(main.main);
  assert.ok(main.stat.runNs > 0);
});
