import assert from "node:assert/strict";
import { byFile, callers, type CpuProfile, selfTimes, startupWindow } from "./cpu_profile.ts";
import { threadKind } from "./thread_cpu_log.ts";

/** Root → a (file:///x/node/a.ts) → b; samples: b, a, idle, b at 1 ms steps from t = 1000 µs. */
const PROFILE: CpuProfile = {
  nodes: [
    { id: 1, callFrame: { functionName: "(root)", url: "", lineNumber: -1 }, children: [2, 4] },
    { id: 2, callFrame: { functionName: "a", url: "file:///x/node/a.ts", lineNumber: 9 }, children: [3] },
    { id: 3, callFrame: { functionName: "b", url: "file:///x/node/b.ts", lineNumber: 0 } },
    { id: 4, callFrame: { functionName: "(idle)", url: "", lineNumber: -1 } },
  ] as CpuProfile["nodes"],
  startTime: 1000,
  endTime: 6000,
  samples: [3, 2, 4, 3],
  timeDeltas: [1000, 1000, 1000, 1000],
};

Deno.test("selfTimes() sums each function's samples inside the window only", () => {
  const all = selfTimes(PROFILE, 0, 10_000);
  assert.deepEqual(Object.fromEntries(all), { "b node/b.ts:1": 2, "a node/a.ts:10": 1, "(idle)": 1 });
  assert.deepEqual(Object.fromEntries(selfTimes(PROFILE, 2500, 4500)), { "a node/a.ts:10": 1, "(idle)": 1 });
  assert.deepEqual(Object.fromEntries(byFile(all)), { "node/b.ts": 2, "node/a.ts": 1, "(idle)": 1 });
});

Deno.test("callers() gives a function's self time by the chain above it", () => {
  const m = callers(PROFILE, 0, 10_000, "b", 2);
  assert.deepEqual([...m.values()], [2]);
  assert.match([...m.keys()][0], /^a@node\/a\.ts:10 < \(root\)$/);
});

Deno.test("startupWindow() runs from the first pod's post> to the last ready-seen", () => {
  const text = [
    "TRACE 5 post> warm",
    "TRACE 10 post> s-0",
    "TRACE 30 ready-seen s-0",
    "TRACE 31 post> s-1",
    "TRACE 60 ready-seen s-1",
  ]
    .join("\n");
  assert.deepEqual(startupWindow(text), { from: 10, to: 60, pods: 2 });
  assert.throws(() => startupWindow("TRACE 1 post> warm"), /no start-up phase/);
});

Deno.test("threadKind() tells V8's helpers and tokio's pool from the main thread", () => {
  assert.equal(threadKind("deno", true), "main thread");
  assert.equal(threadKind("V8 DefaultWorke", false), "V8 helper threads");
  assert.equal(threadKind("tokio-runtime-w", false), "tokio blocking pool");
});
