import assert from "node:assert/strict";
import type { RuntimeService } from "./api.ts";
import { DeadlineExceededError, withDeadline, withRequestTimeout } from "./request_timeout.ts";

/** A runtime whose `startContainer` never answers and whose other verbs answer at once. */
function wedgedRuntime(): RuntimeService & { stopped: string[] } {
  const never = new Promise<never>(() => {});
  const stopped: string[] = [];
  return {
    stopped,
    version: () => Promise.resolve({ runtimeName: "t", runtimeVersion: "1", runtimeApiVersion: "v1" }),
    capabilities: () => ({ exec: false }) as ReturnType<RuntimeService["capabilities"]>,
    runPodSandbox: () => Promise.resolve("s1"),
    stopPodSandbox: () => Promise.resolve(),
    removePodSandbox: () => Promise.resolve(),
    podSandboxStatus: () => Promise.resolve(null),
    listPodSandbox: () => Promise.resolve([]),
    createContainer: () => Promise.resolve("c1"),
    startContainer: () => never,
    stopContainer: (id, grace) =>
      new Promise((r) => setTimeout(() => (stopped.push(`${id}/${grace}`), r()), 30)),
    removeContainer: () => Promise.resolve(),
    containerStatus: () => Promise.resolve(null),
    listContainers: () => Promise.resolve([]),
    events: () => () => {},
  };
}

Deno.test("a runtime call that never answers fails with DeadlineExceeded after the request timeout", async () => {
  const rs = withRequestTimeout(wedgedRuntime(), 40);
  const t = performance.now();
  await assert.rejects(rs.startContainer("c1"), (e: unknown) => {
    assert.ok(e instanceof DeadlineExceededError);
    assert.equal(e.call, "StartContainer");
    assert.match(e.message, /DeadlineExceeded/);
    return true;
  });
  assert.ok(performance.now() - t >= 35);
  // The other verbs answer as the runtime does.
  assert.equal(await rs.createContainer("s1", {} as never, {} as never), "c1");
  assert.equal(await rs.runPodSandbox({} as never, ""), "s1");
});

Deno.test("StopContainer's deadline adds the grace period, as upstream's", async () => {
  const inner = wedgedRuntime();
  // 30 ms of stop against a 10 ms timeout: only the 1 s grace period lets it finish.
  const rs = withRequestTimeout(inner, 10);
  await rs.stopContainer("c1", 1);
  assert.deepEqual(inner.stopped, ["c1/1"]);
  await assert.rejects(rs.stopContainer("c1", 0), DeadlineExceededError);
});

Deno.test("optional verbs stay absent when the runtime lacks them, and a late rejection is handled", async () => {
  const rs = withRequestTimeout(wedgedRuntime(), 10);
  assert.equal(rs.execSync, undefined);
  assert.equal(rs.runPodSandboxDeferred, undefined);
  // A call that fails after its deadline does not surface as an unhandled rejection.
  const late = new Promise<void>((_, reject) => setTimeout(() => reject(new Error("late")), 30));
  await assert.rejects(withDeadline("X", 5, late), DeadlineExceededError);
  await new Promise((r) => setTimeout(r, 40));
});
