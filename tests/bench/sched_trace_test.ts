import assert from "node:assert/strict";
import {
  cpuByRole,
  parsePerfSched,
  stallKind,
  statesIn,
  timelines,
  waitPlacement,
  wakeupsOf,
} from "./sched_trace.ts";

// perf script -F tid,cpu,time,event,trace; times in seconds (→ ms ×1000).
const TRACE = `
  100 [000]     10.000000: sched:sched_switch: prev_comm=deno prev_pid=100 prev_prio=120 prev_state=R ==> next_comm=worker-1 next_pid=200 next_prio=120
  200 [000]     10.003000: sched:sched_switch: prev_comm=worker-1 prev_pid=200 prev_prio=120 prev_state=S ==> next_comm=deno next_pid=100 next_prio=120
  100 [000]     10.005000: sched:sched_switch: prev_comm=deno prev_pid=100 prev_prio=120 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120
    0 [001]     10.006000: sched:sched_wakeup: comm=deno pid=100 prio=120 target_cpu=001
    0 [001]     10.007000: sched:sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=deno next_pid=100 next_prio=120
not an event line
`;

Deno.test("parsePerfSched() reads switch and wakeup events in ms, skipping other lines", () => {
  const ev = parsePerfSched(TRACE);
  assert.equal(ev.length, 5);
  assert.deepEqual(ev[0], {
    kind: "switch",
    at: 10000,
    cpu: 0,
    prevComm: "deno",
    prev: 100,
    prevState: "R",
    nextComm: "worker-1",
    next: 200,
  });
  assert.deepEqual(ev[3], { kind: "wakeup", at: 10006, cpu: 1, tid: 100, by: 0 });
  assert.deepEqual(wakeupsOf(ev, 100, 10000, 10010), [{ at: 10006, by: 0 }]);
  assert.deepEqual(wakeupsOf(ev, 100, 10007, 10010), []);
});

Deno.test("timelines() counts a switch-out in state D as disk wait until the wakeup", () => {
  const trace = `
  300 [001]     20.000000: sched:sched_switch: prev_comm=sw-1 prev_pid=300 prev_prio=120 prev_state=D ==> next_comm=swapper/1 next_pid=0 next_prio=120
    0 [001]     20.002000: sched:sched_wakeup: comm=sw-1 pid=300 prio=120 target_cpu=001
    0 [001]     20.002500: sched:sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=sw-1 next_pid=300 next_prio=120
`;
  const { threads } = timelines(parsePerfSched(trace), 20003);
  const s = statesIn(threads.get(300), 20000, 20003);
  assert.ok(
    Math.abs(s.disk - 2) < 1e-6 && Math.abs(s.runnable - 0.5) < 1e-6 && Math.abs(s.running - 0.5) < 1e-6,
    JSON.stringify(s),
  );
  assert.equal(stallKind(s), "blocked");
});

Deno.test("timelines() splits a thread into running, preempted-runnable, blocked and woken-runnable", () => {
  const { threads, cpus } = timelines(parsePerfSched(TRACE), 10010);
  const near = (x: number, y: number) => Math.abs(x - y) < 1e-6;
  const s = statesIn(threads.get(100), 10000, 10010);
  // Preempted 10.000–10.003 (runnable), ran 10.003–10.005, blocked 10.005–10.006, woken 10.006–10.007, ran to the end.
  assert.ok(
    near(s.runnable, 4) && near(s.running, 5) && near(s.sleeping, 1) && near(s.disk, 0) && near(s.unknown, 0),
    JSON.stringify(s),
  );
  assert.equal(stallKind(s), "on-CPU");
  assert.equal(stallKind(statesIn(threads.get(100), 10000, 10003)), "run-queue wait");
  assert.equal(stallKind(statesIn(threads.get(100), 10005, 10006)), "blocked");
  // Before a thread's first event its state is unknown.
  assert.ok(near(statesIn(threads.get(100), 9990, 10000).unknown, 10));
  // Who had the CPUs while thread 100 waited runnable: the worker on CPU 0 for 3 ms, then, during
  // its 1 ms wait after the wakeup, CPU 0 was idle (CPU 1 has no event before 10.007: unknown, not counted).
  const waiting = threads.get(100)!.filter((x) => x.state === "runnable");
  const held = cpuByRole(cpus, 10000, 10010, (tid, comm) => `${comm}/${tid}`, waiting);
  assert.deepEqual([...held.keys()].sort(), ["swapper/0/0", "worker-1/200"]);
  assert.ok(near(held.get("worker-1/200")!, 3));
  assert.ok(near(held.get("swapper/0/0")!, 1));
});

Deno.test("waitPlacement() tells a wait behind a busy CPU from a wake-up onto an idle one", () => {
  const { threads, cpus } = timelines(parsePerfSched(TRACE), 10010);
  const [preempted, woken] = threads.get(100)!.filter((x) => x.state === "runnable");
  // Preempted on CPU 0 by the worker for 3 ms, then ran on CPU 0 again; CPU 1 untraced until 10.007.
  assert.deepEqual(waitPlacement(cpus, 100, preempted), { cpu: 0, ownIdle: 0, ownBusy: 3, otherIdle: 0 });
  // Woken at 10.006, ran on CPU 1 at 10.007; CPU 0 sat idle meanwhile.
  const w = waitPlacement(cpus, 100, woken);
  assert.equal(w.cpu, 1);
  assert.ok(Math.abs(w.otherIdle - 1) < 1e-6 && w.ownBusy === 0, JSON.stringify(w));
});
