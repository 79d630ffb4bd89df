import assert from "node:assert/strict";
import type { ContainerStatus } from "../cri/api.ts";
import { generatePodStatus, type StartFailure, type StatusInputs } from "./pod_status.ts";
import type { RuntimePodStatus } from "./runtime_pod.ts";
import { instance, runtime, sandbox, testPod } from "./testing.ts";

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);

function inputs(rs: RuntimePodStatus, extra: Partial<StatusInputs> = {}): StatusInputs {
  return {
    runtime: rs,
    startFailures: new Map(),
    readiness: new Map(),
    startup: new Map(),
    hostIP: "127.0.0.1",
    terminal: false,
    now: NOW,
    runtimeName: "wasm",
    ...extra,
  };
}

function cond(status: ReturnType<typeof generatePodStatus>, type: string) {
  return status.conditions!.find((c) => c.type === type);
}

Deno.test("generatePodStatus() reports a new pod as Pending with ContainerCreating", () => {
  const s = generatePodStatus(testPod([{}]), inputs(runtime([], [])));
  assert.equal(s.phase, "Pending");
  assert.deepEqual(s.containerStatuses![0].state, { waiting: { reason: "ContainerCreating" } });
  assert.equal(cond(s, "PodReadyToStartContainers")?.status, "False");
  assert.equal(cond(s, "Ready")?.message, "containers with unready status: [c0]");
  assert.equal(cond(s, "PodScheduled")?.status, "True", "foreign conditions are kept");
  assert.equal(s.hostIP, "127.0.0.1");
  assert.equal(s.startTime, "2024-06-01T12:00:00Z");
});

Deno.test("generatePodStatus() reports running containers as Running and Ready with the pod IP", () => {
  const c = instance("c0", "CONTAINER_RUNNING", { createdAt: NOW - 5000 });
  const s = generatePodStatus(testPod([{}]), inputs(runtime([sandbox("s1")], [c])));
  assert.equal(s.phase, "Running");
  assert.equal(s.podIP, "198.18.0.9");
  assert.deepEqual(s.podIPs, [{ ip: "198.18.0.9" }]);
  const cs = s.containerStatuses![0];
  assert.equal(cs.ready, true);
  assert.equal(cs.started, true);
  assert.equal(cs.containerID, `wasm://${c.id}`);
  assert.equal(cs.imageID, "img@sha256:abc");
  assert.deepEqual(Object.keys(cs.state!), ["running"]);
  for (const t of ["PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"]) {
    assert.equal(cond(s, t)?.status, "True", t);
  }
});

Deno.test("generatePodStatus() waits for readiness and startup probes", () => {
  const c = instance("c0", "CONTAINER_RUNNING");
  const pod = testPod([{
    readinessProbe: { tcpSocket: { port: 80 } },
    startupProbe: { tcpSocket: { port: 80 } },
  }]);
  const before = generatePodStatus(pod, inputs(runtime([sandbox("s1")], [c])));
  assert.equal(before.containerStatuses![0].started, false);
  assert.equal(before.containerStatuses![0].ready, false);
  const after = generatePodStatus(
    pod,
    inputs(runtime([sandbox("s1")], [c]), {
      startup: new Map([[c.id, true]]),
      readiness: new Map([[c.id, true]]),
    }),
  );
  assert.equal(after.containerStatuses![0].ready, true);
  assert.equal(cond(after, "Ready")?.status, "True");
});

Deno.test("generatePodStatus() shows CrashLoopBackOff with the last termination and restart count", () => {
  const old = instance("c0", "CONTAINER_EXITED", { attempt: 0, exitCode: 3 });
  const last = instance("c0", "CONTAINER_EXITED", { attempt: 1, exitCode: 3 });
  const failures = new Map<string, StartFailure>([["c0", {
    reason: "CrashLoopBackOff",
    message: "back-off 10s restarting failed container=c0 pod=web_default(uid-1)",
  }]]);
  const s = generatePodStatus(
    testPod([{}]),
    inputs(runtime([sandbox("s1")], [old, last]), { startFailures: failures }),
  );
  const cs = s.containerStatuses![0];
  assert.equal(cs.state?.waiting?.reason, "CrashLoopBackOff");
  assert.equal(cs.lastState?.terminated?.exitCode, 3);
  assert.equal(cs.lastState?.terminated?.reason, "Error");
  assert.equal(cs.restartCount, 1);
  assert.equal(s.phase, "Running", "restartPolicy Always keeps a crash-looping pod Running");
});

Deno.test("generatePodStatus() reports Succeeded and Failed for finished pods", () => {
  const ok: ContainerStatus = instance("c0", "CONTAINER_EXITED", { exitCode: 0 });
  const s = generatePodStatus(
    testPod([{}], { restartPolicy: "Never" }),
    inputs(runtime([sandbox("s1", "SANDBOX_NOTREADY")], [ok])),
  );
  assert.equal(s.phase, "Succeeded");
  assert.equal(s.containerStatuses![0].state?.terminated?.reason, "Completed");
  assert.equal(cond(s, "Ready")?.reason, "PodCompleted");
  const bad = instance("c0", "CONTAINER_EXITED", { exitCode: 137, reason: "OOMKilled" });
  const f = generatePodStatus(testPod([{}], { restartPolicy: "Never" }), inputs(runtime([], [bad])));
  assert.equal(f.phase, "Failed");
  assert.equal(f.containerStatuses![0].state?.terminated?.reason, "OOMKilled");
});

Deno.test("generatePodStatus() marks init containers and keeps app containers PodInitializing", () => {
  const pod = testPod([{}], { initContainers: [{ name: "i0", image: "img" }] });
  const s = generatePodStatus(pod, inputs(runtime([sandbox("s1")], [instance("i0", "CONTAINER_RUNNING")])));
  assert.equal(s.phase, "Pending");
  assert.equal(s.containerStatuses![0].state?.waiting?.reason, "PodInitializing");
  assert.equal(cond(s, "Initialized")?.message, "containers with incomplete status: [i0]");
  const done = generatePodStatus(
    pod,
    inputs(
      runtime([sandbox("s1")], [instance("i0", "CONTAINER_EXITED"), instance("c0", "CONTAINER_RUNNING")]),
    ),
  );
  assert.equal(cond(done, "Initialized")?.status, "True");
  assert.equal(done.initContainerStatuses![0].state?.terminated?.reason, "Completed");
  assert.equal(done.phase, "Running");
});

Deno.test("generatePodStatus() keeps transition times while a condition holds", () => {
  const pod = testPod([{}]);
  const first = generatePodStatus(pod, inputs(runtime([], [])));
  const later = generatePodStatus({ ...pod, status: first }, {
    ...inputs(runtime([], [])),
    now: NOW + 60_000,
  });
  assert.deepEqual(later, first);
});

Deno.test("generatePodStatus() never leaves a terminal phase", () => {
  const pod = { ...testPod([{}]), status: { phase: "Succeeded" as const } };
  assert.equal(generatePodStatus(pod, inputs(runtime([], []))).phase, "Succeeded");
});

Deno.test("generatePodStatus() counts a sidecar as initialized once started, and for readiness", () => {
  const initContainers = [{
    name: "proxy",
    image: "img",
    restartPolicy: "Always",
    readinessProbe: { tcpSocket: { port: 1 } },
  }];
  const pod = testPod([{ name: "app" }], { initContainers, restartPolicy: "Never" });
  const proxy = instance("proxy", "CONTAINER_RUNNING", { createdAt: NOW - 5000 });
  const app = instance("app", "CONTAINER_RUNNING", { createdAt: NOW - 4000 });
  const sb = [sandbox("s1")];
  const starting = generatePodStatus(pod, inputs(runtime(sb, [proxy])));
  assert.equal(starting.phase, "Pending");
  assert.equal(cond(starting, "Initialized")?.status, "True");
  assert.deepEqual(starting.containerStatuses![0].state, { waiting: { reason: "ContainerCreating" } });

  const readiness = (ok: boolean) => ({ readiness: new Map([[proxy.id, ok]]) });
  const unready = generatePodStatus(pod, inputs(runtime(sb, [proxy, app]), readiness(false)));
  assert.equal(unready.phase, "Running");
  assert.equal(cond(unready, "Ready")?.message, "containers with unready status: [proxy]");
  assert.equal(unready.initContainerStatuses![0].started, true);
  assert.equal(unready.initContainerStatuses![0].ready, false);
  const ready = generatePodStatus(pod, inputs(runtime(sb, [proxy, app]), readiness(true)));
  assert.equal(cond(ready, "Ready")?.status, "True");

  // A crashed sidecar does not fail a Never pod: it is started again.
  const crashed = instance("proxy", "CONTAINER_EXITED", { exitCode: 1, createdAt: NOW - 5000 });
  const restarting = generatePodStatus(pod, inputs(runtime(sb, [crashed, app]), {
    startFailures: new Map([["proxy", { reason: "CrashLoopBackOff", message: "back-off" }]]),
  }));
  assert.equal(restarting.phase, "Running");
  assert.equal(restarting.initContainerStatuses![0].state?.waiting?.reason, "CrashLoopBackOff");
  // The app done: the pod succeeds, whatever its sidecar's exit.
  const done = instance("app", "CONTAINER_EXITED", { createdAt: NOW - 4000 });
  const end = generatePodStatus(pod, inputs(runtime(sb, [crashed, done]), { terminal: true }));
  assert.equal(end.phase, "Succeeded");
});

Deno.test("generatePodStatus() reports ephemeral containers, never ready, outside readiness", () => {
  const pod = testPod([{ name: "app" }], { ephemeralContainers: [{ name: "debugger", image: "img" }] });
  const app = instance("app", "CONTAINER_RUNNING", { createdAt: NOW - 5000 });
  const debug = instance("debugger", "CONTAINER_RUNNING", { createdAt: NOW - 1000 });
  const s = generatePodStatus(pod, inputs(runtime([sandbox("s1")], [app, debug])));
  assert.equal(cond(s, "Ready")?.status, "True");
  const e = s.ephemeralContainerStatuses![0];
  assert.equal(e.name, "debugger");
  assert.ok(e.state?.running);
  assert.equal(e.ready, false);
  assert.equal(e.started, undefined);
  const waiting = generatePodStatus(pod, inputs(runtime([sandbox("s1")], [app])));
  assert.deepEqual(waiting.ephemeralContainerStatuses![0].state, {
    waiting: { reason: "ContainerCreating" },
  });
});
