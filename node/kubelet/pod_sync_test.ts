import assert from "node:assert/strict";
import type { Container } from "kubernetes-types/core/v1.d.ts";
import { ANNOTATION_CONTAINER_HASH, type ImageService, type RuntimeService } from "../cri/api.ts";
import { Backoff } from "./backoff.ts";
import { killGrace, type SyncContext, syncPod } from "./pod_sync.ts";
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
  // The image is not on the node (and may not be pulled): the sandbox's network comes first, as
  // upstream's, not alongside the create.
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

/** A runtime whose new sandbox's network settles when `network` does; it logs each verb. */
function deferredRuntime(calls: string[], network: Promise<void>): RuntimeService {
  const verbs: Record<string, (...args: unknown[]) => Promise<unknown>> = {
    runPodSandboxDeferred: () => Promise.resolve({ id: "sb-1", networkReady: network }),
    createContainer: () => Promise.resolve("ctr-1"),
    startContainer: () => Promise.resolve(),
    removePodSandbox: () => Promise.resolve(),
  };
  return new Proxy({} as RuntimeService, {
    get: (_, verb) => (...args: unknown[]) => {
      calls.push(String(verb));
      return verbs[String(verb)]?.(...args) ?? Promise.reject(new Error(`unexpected ${String(verb)}`));
    },
  });
}

function presentImage(ctx: SyncContext, events: string[]): SyncContext {
  const images: Partial<ImageService> = { imageStatus: () => Promise.resolve({ id: "sha256:1" } as never) };
  return {
    ...ctx,
    images: images as ImageService,
    recorder: { event: (_o, _t, reason) => void events.push(reason), flush: () => Promise.resolve() },
  };
}

Deno.test("syncPod() creates a new sandbox's container while its network is set up, and starts it after", async () => {
  const calls: string[] = [];
  let ready!: () => void;
  const network = new Promise<void>((r) => ready = r);
  const events: string[] = [];
  const ctx = presentImage(context(deferredRuntime(calls, network)), events);
  const sync = syncPod(ctx, testPod([{ imagePullPolicy: "IfNotPresent" }]), runtime([], []));
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(calls, ["runPodSandboxDeferred", "createContainer"]);
  ready();
  const result = await sync;
  assert.deepEqual(calls, ["runPodSandboxDeferred", "createContainer", "startContainer"]);
  assert.deepEqual(events, ["Pulled", "Created", "Started"]);
  assert.equal(result.requeueAfterMs, undefined);
});

Deno.test("syncPod() fails the sandbox, not the container, when its network fails during the create", async () => {
  const calls: string[] = [];
  const events: string[] = [];
  const network = Promise.reject(new Error("bridge: no address left"));
  const ctx = presentImage(context(deferredRuntime(calls, network)), events);
  const result = await syncPod(ctx, testPod([{ imagePullPolicy: "IfNotPresent" }]), runtime([], []));
  assert.deepEqual(calls, ["runPodSandboxDeferred", "createContainer", "removePodSandbox"]);
  assert.deepEqual(events, ["Pulled", "FailedCreatePodSandBox"]);
  assert.equal(ctx.startFailures.size, 0);
  assert.ok(result.requeueAfterMs !== undefined && result.requeueAfterMs > 0);
});

Deno.test("killGrace() takes a failed probe's own terminationGracePeriodSeconds, else the pod's", () => {
  const pod = testPod([{
    name: "app",
    livenessProbe: { tcpSocket: { port: 1 }, terminationGracePeriodSeconds: 3 },
    startupProbe: { tcpSocket: { port: 1 } },
  }]);
  const why = (reason: "LivenessProbe" | "StartupProbe" | "DefinitionChanged") => ({
    name: "app",
    message: "",
    reason,
  });
  assert.equal(killGrace(pod, why("LivenessProbe"), 30), 3);
  assert.equal(killGrace(pod, why("StartupProbe"), 30), 30);
  assert.equal(killGrace(pod, why("DefinitionChanged"), 30), 30);
});
