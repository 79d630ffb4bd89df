import assert from "node:assert/strict";
import { callParts, parseTrace, stepDurations } from "./trace_summary.ts";

// One `start-container` as the agent and the runner trace it (ms), a host call inside, and a
// runner line of another plugin in between that must not count.
const TRACE = `
TRACE 1000.000 call> crun.startContainer
TRACE 1000.300 call-read crun.startContainer
TRACE 1000.400 guest> crun.startContainer
TRACE 1000.500 state-get crun c/x 800
TRACE 1001.000 rhost> crun node-images.write-exec-fifo
TRACE 1001.200 state-save> bridge
TRACE 1001.400 host> node-images.write-exec-fifo
TRACE 1001.900 host< node-images.write-exec-fifo
TRACE 1002.000 rhost< crun node-images.write-exec-fifo
TRACE 1002.500 state-set crun c/x 815
TRACE 1002.600 guest< crun.startContainer cpu=1.250
TRACE 1002.650 state-save> crun
TRACE 1002.750 state-save< crun
TRACE 1002.800 answer-sent crun.startContainer
TRACE 1003.000 call< crun.startContainer
TRACE 1003.100 state-save< bridge
`;

const near = (a: number | undefined, b: number) => assert.ok(Math.abs((a ?? NaN) - b) < 1e-6, `${a} ≠ ${b}`);

Deno.test("callParts() splits a runner call into pipes, guest, host calls and saves", () => {
  const parts = callParts(parseTrace(TRACE)).get("crun.startContainer")!;
  assert.ok(parts, "the call is found");
  const one = (k: string) => parts.get(k)![0];
  near(one("total"), 3.0);
  near(one("in"), 0.3);
  near(one("parse"), 0.1);
  near(one("hostWait"), 1.0);
  near(one("hostWork"), 0.5);
  near(one("hostPipe"), 0.5);
  near(one("guest"), 2.2 - 1.0);
  near(one("guestCpu"), 1.25);
  near(one("save"), 0.1);
  near(one("answer"), 0.2);
  near(one("out"), 0.2);
  assert.equal(one("stateOps"), 2);
});

Deno.test("callParts() counts a call that waited for the runner's previous one apart", () => {
  const queued = `
TRACE 2000.000 call> crun.createContainer
TRACE 2000.100 call-read crun.createContainer
TRACE 2000.200 guest> crun.createContainer
TRACE 2001.000 call> crun.runPodSandbox
TRACE 2004.000 guest< crun.createContainer cpu=3.5
TRACE 2004.100 answer-sent crun.createContainer
TRACE 2004.150 call-read crun.runPodSandbox
TRACE 2004.300 call< crun.createContainer
TRACE 2004.400 guest> crun.runPodSandbox
TRACE 2004.900 guest< crun.runPodSandbox cpu=0.5
TRACE 2005.000 answer-sent crun.runPodSandbox
TRACE 2005.200 call< crun.runPodSandbox
`;
  const m = callParts(parseTrace(queued));
  assert.deepEqual([...m.keys()].sort(), ["crun.createContainer", "crun.runPodSandbox (queued)"]);
  near(m.get("crun.runPodSandbox (queued)")!.get("in")![0], 3.15);
});

// Two pods on the current start path (ms): the create answers, and the start is asked for, before
// crun's pid file; the network is set up before the pid file in the first pod, after it in the
// second.
const START_PATH = `
TRACE 1000 post> s-0
TRACE 1001 created httpd
TRACE 1002 network-added a
TRACE 1003 pidfile-seen a-c
TRACE 1004 started httpd
TRACE 1005 ready-seen s-0
TRACE 2000 post> s-1
TRACE 2001 created httpd
TRACE 2003 pidfile-seen b-c
TRACE 2003.5 network-added b
TRACE 2004 started httpd
TRACE 2005 ready-seen s-1
`;

Deno.test("stepDurations() follows the start's path: asked for before crun's pid file, the network after it only where it came later", () => {
  const { steps } = stepDurations(parseTrace(START_PATH));
  assert.deepEqual(steps.get("crun's pid file until the start's answer"), [1, 1]);
  assert.deepEqual(steps.get("plugin `start-container` (asked for while crun creates)"), [3, 3]);
  const late = steps.get("the network set up after crun's pid file (pods where it came later)");
  assert.deepEqual(late, [0.5]);
});
