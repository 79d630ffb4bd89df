import assert from "node:assert/strict";
import type { Container, LifecycleHandler } from "kubernetes-types/core/v1.d.ts";
import type { EventRecorder } from "../../control/api/events.ts";
import type { RuntimeService } from "../cri/api.ts";
import { killContainer, MINIMUM_GRACE_SECONDS } from "./kill_container.ts";
import { runHook } from "./lifecycle_hooks.ts";
import { testPod } from "./testing.ts";

/** The runtime calls hooks and kills make (pure logic under test: what is asked, in what order). */
function recordingRuntime(exitCode = 0, output = "") {
  const calls: string[] = [];
  const runtime = {
    execSync(id: string, cmd: string[], timeoutMs: number) {
      calls.push(`exec ${id} ${cmd.join(" ")} timeout=${timeoutMs}`);
      const enc = new TextEncoder();
      return Promise.resolve({ exitCode, stdout: enc.encode(output), stderr: enc.encode("") });
    },
    stopContainer(id: string, grace: number) {
      calls.push(`stop ${id} grace=${grace}`);
      return Promise.resolve();
    },
  } as unknown as RuntimeService;
  return { runtime, calls };
}

function recordingRecorder() {
  const events: string[] = [];
  const recorder = {
    event: (_o: unknown, type: string, reason: string, message: string) =>
      events.push(`${type} ${reason}: ${message}`),
  } as unknown as EventRecorder;
  return { recorder, events };
}

const app = (lifecycle: Container["lifecycle"]): Container => ({ name: "app", image: "img", lifecycle });
const pod = (c: Container) => testPod([c]);
const noIP = () => Promise.resolve(undefined);

Deno.test("runHook() runs exec hooks in the container and words a failure as upstream", async () => {
  const ok = recordingRuntime(0);
  const c = app({});
  const exec: LifecycleHandler = { exec: { command: ["sh", "-c", "echo hi"] } };
  const target = { pod: pod(c), container: c, containerId: "ctr-1", podIP: noIP };
  assert.equal(await runHook(exec, { ...target, runtime: ok.runtime }), undefined);
  assert.deepEqual(ok.calls, ["exec ctr-1 sh -c echo hi timeout=0"]);

  const bad = recordingRuntime(3, "oops\n");
  assert.equal(
    await runHook({ exec: { command: ["sh", "-c", "exit 3"] } }, { ...target, runtime: bad.runtime }),
    'Exec lifecycle hook ([sh -c exit 3]) for Container "app" in Pod "web_default(uid-1)" failed - error: ' +
      "command 'sh -c exit 3' exited with 3: , message: \"oops\\n\"",
  );
  const none = { stopContainer: () => Promise.resolve() } as unknown as RuntimeService;
  assert.match(String(await runHook(exec, { ...target, runtime: none })), /not supported by this runtime/);
});

Deno.test("runHook() calls httpGet hooks at the pod IP; any answer passes, a refused one fails", async () => {
  const paths: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    paths.push(`${new URL(req.url).pathname} ${req.headers.get("x-hook")}`);
    return new Response("no", { status: 500 });
  });
  const c: Container = { ...app({}), ports: [{ name: "web", containerPort: server.addr.port }] };
  const { runtime } = recordingRuntime();
  const target = { runtime, pod: pod(c), container: c, containerId: "ctr-1" };
  try {
    const get: LifecycleHandler = {
      httpGet: { path: "drain", port: "web", httpHeaders: [{ name: "X-Hook", value: "1" }] },
    };
    assert.equal(await runHook(get, { ...target, podIP: () => Promise.resolve("127.0.0.1") }), undefined);
    assert.deepEqual(paths, ["/drain 1"]);
    assert.equal(
      await runHook(get, { ...target, podIP: noIP }),
      'HTTP lifecycle hook (drain) for Container "app" in Pod "web_default(uid-1)" failed - error: ' +
        "failed to find networking container: the pod has no IP",
    );
  } finally {
    await server.shutdown();
  }
  const refused = await runHook({ httpGet: { path: "/x", port: server.addr.port, host: "127.0.0.1" } }, {
    ...target,
    podIP: noIP,
  });
  assert.match(
    String(refused),
    new RegExp(`^HTTP lifecycle hook \\(/x\\) .* - error: Get "http://127.0.0.1:${server.addr.port}/x"`),
  );
});

Deno.test("runHook() sleeps, and a sleep cut short fails; tcpSocket is not a hook", async () => {
  const { runtime } = recordingRuntime();
  const c = app({});
  const target = { runtime, pod: pod(c), container: c, containerId: "ctr-1", podIP: noIP };
  assert.equal(await runHook({ sleep: { seconds: 0 } }, target), undefined);
  const t0 = Date.now();
  assert.equal(
    await runHook({ sleep: { seconds: 30 } }, { ...target, signal: AbortSignal.timeout(50) }),
    'Sleep lifecycle hook (30) for Container "app" in Pod "web_default(uid-1)" failed - error: ' +
      "container terminated before sleep hook finished",
  );
  assert.ok(Date.now() - t0 < 5000);
  const tcp = await runHook({ tcpSocket: { port: 80 } }, target);
  assert.match(String(tcp), /^Cannot run handler: invalid handler/);
});

Deno.test("killContainer() runs preStop first and stops with what is left of the grace period", async () => {
  const running = { id: "ctr-1", state: "CONTAINER_RUNNING" as const, metadata: { name: "app", attempt: 0 } };
  const c = app({ preStop: { exec: { command: ["drain"] } } });
  {
    const { runtime, calls } = recordingRuntime();
    const { recorder, events } = recordingRecorder();
    await killContainer({ runtime, recorder, pod: pod(c), container: running, podIP: noIP }, 30);
    assert.deepEqual(calls, ["exec ctr-1 drain timeout=0", "stop ctr-1 grace=30"]);
    assert.deepEqual(events, ["Normal Killing: Stopping container app"]);
  }
  {
    // A failed hook is an event; the stop still comes, with at least the minimum grace.
    const { runtime, calls } = recordingRuntime(1);
    const { recorder, events } = recordingRecorder();
    const target = { runtime, recorder, pod: pod(c), container: running, podIP: noIP };
    await killContainer({ ...target, message: "why" }, 1);
    assert.deepEqual(calls, ["exec ctr-1 drain timeout=0", `stop ctr-1 grace=${MINIMUM_GRACE_SECONDS}`]);
    assert.equal(events[0], "Normal Killing: why");
    assert.match(events[1], /^Warning FailedPreStopHook: Exec lifecycle hook \(\[drain\]\) for Container /);
  }
  {
    // A sleep hook longer than the grace period is cut off when the period ends.
    const { runtime, calls } = recordingRuntime();
    const { recorder, events } = recordingRecorder();
    const sleepy = app({ preStop: { sleep: { seconds: 60 } } });
    await killContainer({ runtime, recorder, pod: pod(sleepy), container: running, podIP: noIP }, 1);
    assert.deepEqual(calls, [`stop ctr-1 grace=${MINIMUM_GRACE_SECONDS}`]);
    assert.match(events[1], /container terminated before sleep hook finished/);
  }
  {
    // No hook with a grace period of 0, nor for a container that is not running.
    const { runtime, calls } = recordingRuntime();
    const { recorder, events } = recordingRecorder();
    await killContainer({ runtime, recorder, pod: pod(c), container: running, podIP: noIP }, 0);
    await killContainer({
      runtime,
      recorder,
      pod: pod(c),
      container: { ...running, state: "CONTAINER_CREATED" },
      podIP: noIP,
    }, 30);
    assert.deepEqual(calls, ["stop ctr-1 grace=0", "stop ctr-1 grace=30"]);
    assert.deepEqual(events, ["Normal Killing: Stopping container app"]);
  }
});
