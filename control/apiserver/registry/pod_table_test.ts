import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { podSummary, podTable } from "./pod_table.ts";

const NOW = Date.parse("2024-05-01T12:00:00Z");
const ago = (ms: number) => new Date(NOW - ms).toISOString();

function pod(
  spec: Record<string, unknown>,
  status: Record<string, unknown>,
  meta: Record<string, unknown> = {},
): KubeObject {
  return {
    metadata: { name: "p", creationTimestamp: ago(300_000), ...meta },
    spec: { containers: [{ name: "app", image: "nginx" }], ...spec },
    status,
  };
}

const running = (ready = true, restartCount = 0, extra: Record<string, unknown> = {}) => ({
  name: "app",
  ready,
  restartCount,
  state: { running: { startedAt: ago(60_000) } },
  ...extra,
});

Deno.test("podSummary() shows a running, ready pod", () => {
  const s = podSummary(pod({}, { phase: "Running", containerStatuses: [running()] }), NOW);
  assert.deepEqual(s, { ready: "1/1", reason: "Running", restarts: "0" });
});

Deno.test("podSummary() shows the pod phase when no container status exists yet", () => {
  assert.equal(podSummary(pod({}, { phase: "Pending" }), NOW).reason, "Pending");
});

Deno.test("podSummary() shows a waiting reason such as CrashLoopBackOff with restarts and time since", () => {
  const cs = {
    name: "app",
    ready: false,
    restartCount: 3,
    state: { waiting: { reason: "CrashLoopBackOff" } },
    lastState: { terminated: { exitCode: 1, reason: "Error", finishedAt: ago(5 * 60_000) } },
  };
  const s = podSummary(pod({}, { phase: "Running", containerStatuses: [cs] }), NOW);
  assert.deepEqual(s, { ready: "0/1", reason: "CrashLoopBackOff", restarts: "3 (5m ago)" });
});

Deno.test("podSummary() shows Completed for a terminated container", () => {
  const cs = {
    name: "app",
    ready: false,
    restartCount: 0,
    state: { terminated: { exitCode: 0, reason: "Completed" } },
  };
  assert.equal(podSummary(pod({}, { phase: "Succeeded", containerStatuses: [cs] }), NOW).reason, "Completed");
});

Deno.test("podSummary() shows ExitCode and Signal when a termination has no reason", () => {
  const exit = { name: "app", state: { terminated: { exitCode: 2 } } };
  assert.equal(podSummary(pod({}, { phase: "Failed", containerStatuses: [exit] }), NOW).reason, "ExitCode:2");
  const sig = { name: "app", state: { terminated: { exitCode: 137, signal: 9 } } };
  assert.equal(podSummary(pod({}, { phase: "Failed", containerStatuses: [sig] }), NOW).reason, "Signal:9");
});

Deno.test("podSummary() shows Init:x/y while init containers run", () => {
  const spec = { initContainers: [{ name: "a", image: "x" }, { name: "b", image: "x" }] };
  const status = {
    phase: "Pending",
    initContainerStatuses: [
      { name: "a", state: { terminated: { exitCode: 0, reason: "Completed" } } },
      { name: "b", state: { running: {} } },
    ],
    containerStatuses: [{ name: "app", state: { waiting: { reason: "PodInitializing" } } }],
  };
  assert.equal(podSummary(pod(spec, status), NOW).reason, "Init:1/2");
});

Deno.test("podSummary() shows an init container's failure and waiting reasons", () => {
  const spec = { initContainers: [{ name: "a", image: "x" }] };
  const failed = {
    phase: "Pending",
    initContainerStatuses: [{ name: "a", state: { terminated: { exitCode: 1, reason: "Error" } } }],
  };
  assert.equal(podSummary(pod(spec, failed), NOW).reason, "Init:Error");
  const crash = {
    phase: "Pending",
    initContainerStatuses: [{ name: "a", state: { waiting: { reason: "CrashLoopBackOff" } } }],
  };
  assert.equal(podSummary(pod(spec, crash), NOW).reason, "Init:CrashLoopBackOff");
});

Deno.test("podSummary() counts a started sidecar as a ready container", () => {
  const spec = { initContainers: [{ name: "side", image: "x", restartPolicy: "Always" }] };
  const status = {
    phase: "Running",
    conditions: [{ type: "Initialized", status: "True" }],
    initContainerStatuses: [{
      name: "side",
      ready: true,
      started: true,
      restartCount: 1,
      state: { running: {} },
    }],
    containerStatuses: [running()],
  };
  const s = podSummary(pod(spec, status), NOW);
  assert.equal(s.ready, "2/2");
  assert.equal(s.reason, "Running");
  assert.equal(s.restarts, "1");
});

Deno.test("podSummary() shows Terminating once a running pod is being deleted", () => {
  const p = pod({}, { phase: "Running", containerStatuses: [running()] }, { deletionTimestamp: ago(0) });
  assert.equal(podSummary(p, NOW).reason, "Terminating");
  const lost = pod({}, { phase: "Running", reason: "NodeLost" }, { deletionTimestamp: ago(0) });
  assert.equal(podSummary(lost, NOW).reason, "Unknown");
});

Deno.test("podSummary() prefers status.reason and SchedulingGated", () => {
  assert.equal(podSummary(pod({}, { phase: "Failed", reason: "Evicted" }), NOW).reason, "Evicted");
  const gated = {
    phase: "Pending",
    conditions: [{ type: "PodScheduled", status: "False", reason: "SchedulingGated" }],
  };
  assert.equal(podSummary(pod({}, gated), NOW).reason, "SchedulingGated");
});

Deno.test("podSummary() reports NotReady when a Completed container leaves others running", () => {
  const spec = { containers: [{ name: "a", image: "x" }, { name: "b", image: "x" }] };
  const status = {
    phase: "Running",
    containerStatuses: [
      { name: "a", state: { terminated: { exitCode: 0, reason: "Completed" } } },
      { name: "b", ready: true, state: { running: {} } },
    ],
  };
  assert.equal(podSummary(pod(spec, status), NOW).reason, "NotReady");
});

Deno.test("podTable renders every column, wide ones included", () => {
  assert.deepEqual(podTable.columns.map((c) => c.name), [
    "Name",
    "Ready",
    "Status",
    "Restarts",
    "Age",
    "IP",
    "Node",
    "Nominated Node",
    "Readiness Gates",
  ]);
  assert.deepEqual(podTable.columns.map((c) => c.priority ?? 0), [0, 0, 0, 0, 0, 1, 1, 1, 1]);
  const p = pod({ nodeName: "n1", readinessGates: [{ conditionType: "x" }] }, {
    phase: "Running",
    podIP: "10.0.0.5",
    conditions: [{ type: "x", status: "True" }],
    containerStatuses: [running()],
  });
  assert.deepEqual(podTable.cells(p, NOW), [
    "p",
    "1/1",
    "Running",
    "0",
    "5m",
    "10.0.0.5",
    "n1",
    "<none>",
    "1/1",
  ]);
});
