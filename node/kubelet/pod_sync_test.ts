import assert from "node:assert/strict";
import type { Container } from "kubernetes-types/core/v1.d.ts";
import { ANNOTATION_CONTAINER_HASH, type ImageService, type RuntimeService } from "../cri/api.ts";
import { Backoff } from "./backoff.ts";
import { type SyncContext, syncPod } from "./pod_sync.ts";
import { containerHash } from "./runtime_pod.ts";
import { instance, runtime, sandbox, testPod } from "./testing.ts";

/** A runtime that records every verb asked of it and answers none (the syncs here need none). */
function recordingRuntime(calls: string[]): RuntimeService {
  return new Proxy({} as RuntimeService, {
    get: (_, verb) => () => {
      calls.push(String(verb));
      return Promise.reject(new Error(`unexpected runtime call ${String(verb)}`));
    },
  });
}

function context(runtimeService: RuntimeService): SyncContext {
  const images: Partial<ImageService> = { imageStatus: () => Promise.resolve(null) };
  return {
    runtime: runtimeService,
    images: images as ImageService,
    recorder: { event: () => {}, flush: () => Promise.resolve() },
    imageBackoff: new Backoff(),
    pullErrors: new Map(),
    lookups: { configMap: () => undefined, secret: () => undefined, allocatable: {} },
    pullSecrets: [],
    volumes: new Map(),
    logRoot: "/nonexistent",
    now: () => 1_000_000,
    backoff: new Backoff(),
    handler: "oci",
    probes: { livenessFailed: new Set() },
    startFailures: new Map(),
  };
}

Deno.test("syncPod() of a pod whose containers all run asks nothing of the runtime and says so", async () => {
  const pod = testPod([{}]);
  const c = pod.spec!.containers[0] as Container;
  const running = instance("c0", "CONTAINER_RUNNING", {
    annotations: { [ANNOTATION_CONTAINER_HASH]: containerHash(c) },
  });
  const calls: string[] = [];
  const result = await syncPod(context(recordingRuntime(calls)), pod, runtime([sandbox("s1")], [running]));
  assert.deepEqual(calls, []);
  assert.equal(result.changedRuntime, false);
  assert.equal(result.requeueAfterMs, undefined);
});

Deno.test("syncPod() that plans a start reports a changed runtime, even when the start fails early", async () => {
  // imagePullPolicy Never and no image: ErrImageNeverPull before any runtime call.
  const pod = testPod([{ imagePullPolicy: "Never" }]);
  const calls: string[] = [];
  const ctx = context(recordingRuntime(calls));
  const result = await syncPod(ctx, pod, runtime([sandbox("s1")], []));
  assert.deepEqual(calls, []);
  assert.equal(result.changedRuntime, true);
  assert.equal(ctx.startFailures.get("c0")?.reason, "ErrImageNeverPull");
});

Deno.test("syncPod() of a new pod makes its sandbox without reading the runtime again (nothing was killed)", async () => {
  const pod = testPod([{ imagePullPolicy: "Never" }]);
  const calls: string[] = [];
  const runtimeService = new Proxy({} as RuntimeService, {
    get: (_, verb) => () => {
      calls.push(String(verb));
      return verb === "runPodSandbox"
        ? Promise.resolve("sb-1")
        : Promise.reject(new Error(`unexpected ${String(verb)}`));
    },
  });
  const result = await syncPod(context(runtimeService), pod, runtime([], []));
  assert.deepEqual(calls, ["runPodSandbox"]);
  assert.equal(result.changedRuntime, true);
});
