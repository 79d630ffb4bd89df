import assert from "node:assert/strict";
import { ANNOTATION_CONTAINER_HASH } from "../cri/api.ts";
import { computePodActions, podSandboxChanged } from "./pod_actions.ts";
import { containerHash } from "./runtime_pod.ts";
import { instance, runtime, sandbox, testPod } from "./testing.ts";

const none = { livenessFailed: new Set<string>() };

Deno.test("computePodActions() creates a sandbox and starts every container of a new pod", () => {
  const a = computePodActions(testPod([{}, {}]), runtime([], []), none);
  assert.equal(a.createSandbox, true);
  assert.equal(a.attempt, 0);
  assert.deepEqual(a.containersToStart, [0, 1]);
});

Deno.test("computePodActions() starts only the first init container in a new sandbox", () => {
  const pod = testPod([{}], { initContainers: [{ name: "i0", image: "img" }, { name: "i1", image: "img" }] });
  const a = computePodActions(pod, runtime([], []), none);
  assert.equal(a.nextInitContainerToStart?.name, "i0");
  assert.deepEqual(a.containersToStart, []);
});

Deno.test("computePodActions() runs init containers in order, then the app containers", () => {
  const pod = testPod([{}], { initContainers: [{ name: "i0", image: "img" }, { name: "i1", image: "img" }] });
  const sb = [sandbox("s1")];
  const after0 = computePodActions(pod, runtime(sb, [instance("i0", "CONTAINER_EXITED")]), none);
  assert.equal(after0.nextInitContainerToStart?.name, "i1");
  const running1 = computePodActions(
    pod,
    runtime(sb, [instance("i0", "CONTAINER_EXITED"), instance("i1", "CONTAINER_RUNNING")]),
    none,
  );
  assert.equal(running1.nextInitContainerToStart, undefined);
  assert.deepEqual(running1.containersToStart, []);
  assert.equal(running1.killPod, false);
  const done = computePodActions(
    pod,
    runtime(sb, [instance("i0", "CONTAINER_EXITED"), instance("i1", "CONTAINER_EXITED")]),
    none,
  );
  assert.deepEqual(done.containersToStart, [0]);
});

Deno.test("computePodActions() restarts a failed init container unless restartPolicy is Never", () => {
  const inits = { initContainers: [{ name: "i0", image: "img" }] };
  const failed = runtime([sandbox("s1")], [instance("i0", "CONTAINER_EXITED", { exitCode: 2 })]);
  assert.equal(computePodActions(testPod([{}], inits), failed, none).nextInitContainerToStart?.name, "i0");
  const never = computePodActions(testPod([{}], { ...inits, restartPolicy: "Never" }), failed, none);
  assert.equal(never.killPod, true);
  assert.equal(never.nextInitContainerToStart, undefined);
});

Deno.test("computePodActions() follows restartPolicy for exited containers", () => {
  const sb = [sandbox("s1")];
  const ok = [instance("c0", "CONTAINER_EXITED", { exitCode: 0 })];
  const bad = [instance("c0", "CONTAINER_EXITED", { exitCode: 1 })];
  assert.deepEqual(
    computePodActions(testPod([{}], { restartPolicy: "Always" }), runtime(sb, ok), none).containersToStart,
    [0],
  );
  assert.deepEqual(
    computePodActions(testPod([{}], { restartPolicy: "OnFailure" }), runtime(sb, ok), none).containersToStart,
    [],
  );
  assert.deepEqual(
    computePodActions(testPod([{}], { restartPolicy: "OnFailure" }), runtime(sb, bad), none)
      .containersToStart,
    [0],
  );
  const never = computePodActions(testPod([{}], { restartPolicy: "Never" }), runtime(sb, bad), none);
  assert.deepEqual(never.containersToStart, []);
  assert.equal(never.killPod, true, "nothing left to run: the sandbox goes");
});

Deno.test("computePodActions() does not recreate the sandbox of a finished Never pod", () => {
  const pod = testPod([{}], { restartPolicy: "Never" });
  const a = computePodActions(
    pod,
    runtime([sandbox("s1", "SANDBOX_NOTREADY")], [instance("c0", "CONTAINER_EXITED")]),
    none,
  );
  assert.equal(a.createSandbox, false);
});

Deno.test("computePodActions() kills and restarts a container whose liveness probe failed", () => {
  const c = instance("c0", "CONTAINER_RUNNING");
  const a = computePodActions(testPod([{}]), runtime([sandbox("s1")], [c]), {
    livenessFailed: new Set([c.id]),
  });
  assert.deepEqual(a.containersToStart, [0]);
  assert.equal(a.containersToKill.get(c.id)?.reason, "LivenessProbe");
  assert.equal(
    a.containersToKill.get(c.id)?.message,
    "Container c0 failed liveness probe, will be restarted",
  );
  assert.equal(a.killPod, false);
});

Deno.test("computePodActions() restarts a container whose spec changed", () => {
  const pod = testPod([{ image: "img:2" }]);
  const c = instance("c0", "CONTAINER_RUNNING", { annotations: { [ANNOTATION_CONTAINER_HASH]: "stale" } });
  const a = computePodActions(pod, runtime([sandbox("s1")], [c]), none);
  assert.equal(a.containersToKill.get(c.id)?.reason, "DefinitionChanged");
  const same = instance("c0", "CONTAINER_RUNNING", {
    annotations: { [ANNOTATION_CONTAINER_HASH]: containerHash(pod.spec!.containers[0]) },
  });
  assert.equal(computePodActions(pod, runtime([sandbox("s1")], [same]), none).containersToKill.size, 0);
});

Deno.test("podSandboxChanged() asks for a new sandbox when the latest is not ready or has no IP", () => {
  const pod = testPod([{}]);
  assert.deepEqual(podSandboxChanged(pod, runtime([sandbox("s1")], [])), {
    create: false,
    attempt: 0,
    sandboxId: "s1",
  });
  assert.deepEqual(podSandboxChanged(pod, runtime([sandbox("s1", "SANDBOX_NOTREADY", 2)], [])), {
    create: true,
    attempt: 3,
    sandboxId: "s1",
  });
  const noIp = { ...sandbox("s1"), network: undefined };
  assert.equal(podSandboxChanged(pod, runtime([noIp], [])).create, true);
});

Deno.test("computePodActions() starts a sidecar first, keeps it running and restarts it", () => {
  const initContainers = [
    { name: "proxy", image: "img", restartPolicy: "Always" },
    { name: "setup", image: "img" },
  ];
  const pod = testPod([{ name: "app" }], { initContainers, restartPolicy: "Never" });
  const sb = [sandbox("s1")];
  // The sidecar first.
  assert.equal(computePodActions(pod, runtime(sb, []), none).nextInitContainerToStart?.name, "proxy");
  // Running (no startup probe): the next init container may start while it runs.
  const proxy = instance("proxy", "CONTAINER_RUNNING");
  const next = computePodActions(pod, runtime(sb, [proxy]), none);
  assert.equal(next.nextInitContainerToStart?.name, "setup");
  assert.deepEqual(next.sidecarsToStart, []);
  // The regular init container done: the app starts, the sidecar keeps running.
  const setup = instance("setup", "CONTAINER_EXITED");
  const app = computePodActions(pod, runtime(sb, [proxy, setup]), none);
  assert.deepEqual(app.containersToStart, [0]);
  assert.equal(app.killPod, false);
  // The sidecar exits while the app runs: started again, even with restartPolicy Never.
  const crashed = instance("proxy", "CONTAINER_EXITED", { exitCode: 1 });
  const running = instance("app", "CONTAINER_RUNNING");
  const again = computePodActions(pod, runtime(sb, [crashed, setup, running]), none);
  assert.deepEqual(again.sidecarsToStart.map((c) => c.name), ["proxy"]);
  assert.equal(again.killPod, false);
  // The app finished: nothing of the pod's own work is left, so the pod (and its sidecar) stops.
  const finished = instance("app", "CONTAINER_EXITED");
  const end = computePodActions(pod, runtime(sb, [proxy, setup, finished]), none);
  assert.equal(end.killPod, true);
  assert.deepEqual(end.sidecarsToStart, []);
});

Deno.test("computePodActions() holds initialization until a sidecar's startup probe passes", () => {
  const initContainers = [
    { name: "proxy", image: "img", restartPolicy: "Always", startupProbe: { tcpSocket: { port: 1 } } },
    { name: "setup", image: "img" },
  ];
  const pod = testPod([{ name: "app" }], { initContainers });
  const sb = [sandbox("s1")];
  const proxy = instance("proxy", "CONTAINER_RUNNING");
  const verdicts = (passed: boolean) => ({ ...none, startup: new Map([[proxy.id, passed]]) });
  const waiting = computePodActions(pod, runtime(sb, [proxy]), verdicts(false));
  assert.equal(waiting.nextInitContainerToStart, undefined);
  assert.equal(waiting.killPod, false);
  const started = computePodActions(pod, runtime(sb, [proxy]), verdicts(true));
  assert.equal(started.nextInitContainerToStart?.name, "setup");
  // A failed liveness probe kills the sidecar and starts it again.
  const setup = instance("setup", "CONTAINER_EXITED");
  const app = instance("app", "CONTAINER_RUNNING");
  const live = computePodActions(pod, runtime(sb, [proxy, setup, app]), {
    livenessFailed: new Set([proxy.id]),
    startup: new Map([[proxy.id, true]]),
  });
  assert.deepEqual(live.containersToKill.get(proxy.id), {
    name: "proxy",
    message: "Init container proxy failed liveness probe, will be restarted",
    reason: "LivenessProbe",
  });
  assert.deepEqual(live.sidecarsToStart.map((c) => c.name), ["proxy"]);
});

Deno.test("computePodActions() starts an ephemeral container once and never restarts it", () => {
  const debug = { name: "debugger", image: "img", stdin: true, tty: true };
  const pod = testPod([{ name: "app" }], { ephemeralContainers: [debug] });
  const sb = [sandbox("s1")];
  const app = instance("app", "CONTAINER_RUNNING");
  assert.deepEqual(computePodActions(pod, runtime(sb, [app]), none).ephemeralToStart.map((c) => c.name), [
    "debugger",
  ]);
  const exited = instance("debugger", "CONTAINER_EXITED", { exitCode: 1 });
  const after = computePodActions(pod, runtime(sb, [app, exited]), none);
  assert.deepEqual(after.ephemeralToStart, []);
  assert.equal(after.killPod, false);
});
