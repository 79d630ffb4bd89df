import assert from "node:assert/strict";
import type { Container } from "kubernetes-types/core/v1.d.ts";
import type { EventRecorder } from "../../control/api/events.ts";
import {
  type Image,
  ImagePullError,
  type ImageService,
  type ImageSpec,
  type RuntimeService,
} from "../cri/api.ts";
import { Backoff } from "./backoff.ts";
import { ensureImage, pullPolicy, type StartContext } from "./start_container.ts";
import { testPod } from "./testing.ts";

Deno.test("pullPolicy() keeps an explicit policy and otherwise defaults as the API server does", () => {
  const policy = (image: string, imagePullPolicy?: string) =>
    pullPolicy({ name: "c", image, imagePullPolicy });
  assert.equal(policy("r/app"), "Always", "no tag means latest");
  assert.equal(policy("r/app:latest"), "Always");
  assert.equal(policy("127.0.0.1:5000/app"), "Always", "a registry port is not a tag");
  assert.equal(policy("127.0.0.1:5000/app:v1"), "IfNotPresent");
  assert.equal(policy("r/app@sha256:abcd"), "IfNotPresent", "a digest pins the image");
  assert.equal(policy("r/app:v1@sha256:abcd"), "IfNotPresent");
  assert.equal(policy("r/app:latest@sha256:abcd"), "Always", "the tag decides, as upstream's ParseImageName");
  assert.equal(policy("r/app:latest", "Never"), "Never");
  assert.equal(policy("r/app:v1", "Always"), "Always");
});

/** An image service over a table of present images; `pullImage` answers from `pulls`. */
class FakeImages implements ImageService {
  present = new Map<string, Image>();
  pulled: string[] = [];
  constructor(readonly pulls: (image: string) => string | Error) {}
  pullImage(spec: ImageSpec): Promise<string> {
    this.pulled.push(spec.image);
    const r = this.pulls(spec.image);
    if (r instanceof Error) return Promise.reject(r);
    this.present.set(spec.image, { id: r, repoTags: [spec.image], repoDigests: [r], size: 42 });
    return Promise.resolve(r);
  }
  imageStatus(spec: ImageSpec): Promise<Image | null> {
    return Promise.resolve(this.present.get(spec.image) ?? null);
  }
  listImages(): Promise<Image[]> {
    return Promise.resolve([...this.present.values()]);
  }
  removeImage(spec: ImageSpec): Promise<void> {
    this.present.delete(spec.image);
    return Promise.resolve();
  }
}

function context(images: ImageService, clock: { now: number }) {
  const events: string[] = [];
  const recorder: EventRecorder = {
    event: (_obj, type, reason, message) => events.push(`${type} ${reason}: ${message}`),
    flush: () => Promise.resolve(),
  };
  const ctx: StartContext = {
    runtime: {} as RuntimeService, // ensureImage never reaches the runtime
    images,
    recorder,
    imageBackoff: new Backoff({ baseMs: 10_000, capMs: 300_000 }),
    pullErrors: new Map(),
    lookups: { configMap: () => undefined, secret: () => undefined, allocatable: {} },
    pullSecrets: [],
    volumes: new Map(),
    logRoot: "/logs",
    now: () => clock.now,
  };
  return { ctx, events };
}

const pod = testPod([]);
const container = (image: string, imagePullPolicy?: string): Container => ({
  name: "app",
  image,
  imagePullPolicy,
});

Deno.test("ensureImage() with Never and no image gives ErrImageNeverPull without pulling", async () => {
  const images = new FakeImages(() => "r/app@sha256:1");
  const { ctx, events } = context(images, { now: 0 });
  const out = await ensureImage(ctx, pod, container("r/app:v1", "Never"));
  assert.deepEqual(out, {
    ok: false,
    failure: {
      reason: "ErrImageNeverPull",
      message: 'Container image "r/app:v1" is not present with pull policy of Never',
    },
  });
  assert.deepEqual(images.pulled, []);
  assert.deepEqual(events, [
    'Warning ErrImageNeverPull: Container image "r/app:v1" is not present with pull policy of Never',
    "Warning Failed: Error: ErrImageNeverPull",
  ]);
});

Deno.test("ensureImage() uses a present image for IfNotPresent and Never, and pulls again for Always", async () => {
  const images = new FakeImages(() => "r/app@sha256:new");
  images.present.set("r/app:v1", { id: "r/app@sha256:old", repoTags: [], repoDigests: [], size: 1 });
  const { ctx, events } = context(images, { now: 0 });
  assert.deepEqual(await ensureImage(ctx, pod, container("r/app:v1", "IfNotPresent")), {
    ref: "r/app@sha256:old",
  });
  assert.deepEqual(await ensureImage(ctx, pod, container("r/app:v1", "Never")), { ref: "r/app@sha256:old" });
  assert.deepEqual(images.pulled, []);
  assert.equal(events[0], 'Normal Pulled: Container image "r/app:v1" already present on machine');
  assert.deepEqual(await ensureImage(ctx, pod, container("r/app:v1", "Always")), { ref: "r/app@sha256:new" });
  assert.deepEqual(images.pulled, ["r/app:v1"]);
  assert.match(
    events.at(-1)!,
    /^Normal Pulled: Successfully pulled image "r\/app:v1" in .* Image size: 42 bytes\.$/,
  );
  // No policy and no tag: Always, so a present image is pulled again.
  images.present.set("r/app", { id: "r/app@sha256:old", repoTags: [], repoDigests: [], size: 1 });
  assert.deepEqual(await ensureImage(ctx, pod, container("r/app")), { ref: "r/app@sha256:new" });
  assert.deepEqual(images.pulled, ["r/app:v1", "r/app"]);
});

Deno.test("ensureImage() backs off failed pulls from the last attempt and shows the registry's error", async () => {
  let fail = true;
  const images = new FakeImages(() =>
    fail
      ? new ImagePullError("GET r/app/manifests/v9: 404 MANIFEST_UNKNOWN: manifest unknown")
      : "r/app@sha256:9"
  );
  const clock = { now: 1_000_000 };
  const { ctx, events } = context(images, clock);
  const c = container("r/app:v9", "IfNotPresent");

  const first = await ensureImage(ctx, pod, c);
  assert.deepEqual(first, {
    ok: false,
    failure: {
      reason: "ErrImagePull",
      message: "GET r/app/manifests/v9: 404 MANIFEST_UNKNOWN: manifest unknown",
    },
    retryAfterMs: 1_000, // synced again inside the back-off (10 s), to show ImagePullBackOff
  });
  assert.deepEqual(events.slice(-2), [
    'Warning Failed: Failed to pull image "r/app:v9": GET r/app/manifests/v9: 404 MANIFEST_UNKNOWN: manifest unknown',
    "Warning Failed: Error: ErrImagePull",
  ]);

  clock.now += 4_000;
  const waiting = await ensureImage(ctx, pod, c);
  assert.deepEqual(waiting, {
    ok: false,
    failure: {
      reason: "ImagePullBackOff",
      message:
        'Back-off pulling image "r/app:v9": ErrImagePull: GET r/app/manifests/v9: 404 MANIFEST_UNKNOWN: manifest unknown',
    },
    retryAfterMs: 6_000,
  });
  assert.deepEqual(events.slice(-2), [
    'Normal BackOff: Back-off pulling image "r/app:v9"',
    "Warning Failed: Error: ImagePullBackOff",
  ]);
  assert.equal(images.pulled.length, 1, "no pull during the back-off");

  // Once the delay has passed since the failed pull, the kubelet pulls again; the next delay doubles.
  clock.now += 6_000;
  const second = await ensureImage(ctx, pod, c);
  assert.equal(images.pulled.length, 2);
  assert.ok("ok" in second && !second.ok && second.retryAfterMs === 1_000, JSON.stringify(second));
  clock.now += 19_999;
  assert.equal(
    (await ensureImage(ctx, pod, c) as { failure: { reason: string } }).failure.reason,
    "ImagePullBackOff",
  );
  clock.now += 1;
  fail = false;
  assert.deepEqual(await ensureImage(ctx, pod, c), { ref: "r/app@sha256:9" });
  assert.equal(images.pulled.length, 3);
  assert.equal(ctx.pullErrors.size, 0, "the previous error is dropped once a pull is attempted");
});
