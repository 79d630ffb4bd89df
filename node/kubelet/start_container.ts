/**
 * Starting one container, the kubelet's `startContainer`: make sure the image is there
 * (imagePullPolicy, pull back-off), resolve its configuration (env, mounts), create it, start it.
 * Each failure becomes the container's waiting reason (`ErrImagePull`, `ImagePullBackOff`,
 * `ErrImageNeverPull`, `CreateContainerConfigError`, `CreateContainerError`, `RunContainerError`)
 * and the events upstream records (`Pulling`, `Pulled`, `Created`, `Started`, `Failed`,
 * `BackOff`).
 * @module
 */
import { trace } from "../../plugins/host/trace.ts";
import type { ClusterDnsSettings } from "../dns/pod_dns.ts";
import type { Container, Pod } from "kubernetes-types/core/v1.d.ts";
import type { EventRecorder } from "../../control/api/events.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { type ImageService, RuntimeError, type RuntimeService } from "../cri/api.ts";
import { type ConfigLookups, ContainerConfigError, containerEnvironment } from "../env/env_vars.ts";
import { containerMounts, MountError, readOnlyVolumes } from "../volumes/volume_manager.ts";
import type { Backoff } from "./backoff.ts";
import { goDuration } from "./duration.ts";
import { killContainer } from "./kill_container.ts";
import { runHook } from "./lifecycle_hooks.ts";
import type { StartFailure } from "./pod_status.ts";
import { containerConfig, podSandboxConfig } from "./sandbox_config.ts";

export interface StartContext {
  runtime: RuntimeService;
  images: ImageService;
  recorder: EventRecorder;
  imageBackoff: Backoff;
  /**
   * The last pull error per back-off key (`<pod uid>/<image>`), shown in the `ImagePullBackOff`
   * message as upstream's `prevPullErrMsg`. Written here.
   */
  pullErrors: Map<string, string>;
  lookups: ConfigLookups;
  /** Decoded imagePullSecrets of the pod. */
  pullSecrets: unknown[];
  volumes: Map<string, string>;
  logRoot: string;
  /** The node's cluster DNS settings, for the sandbox's DNS configuration. */
  clusterDns?: ClusterDnsSettings;
  now(): number;
}

/** The outcome: started, or the failure to show (and when to retry, for back-offs). */
/**
 * How soon a pod whose pull failed is synced again (at most; half the back-off when that is
 * shorter): the sync then falls inside the back-off and shows ImagePullBackOff, as upstream's
 * relist does within a second. The kubelet does not sync on the echo of its own status write.
 */
export const PULL_FAILURE_RESYNC_MS = 1000;

export type StartOutcome = { ok: true } | { ok: false; failure: StartFailure; retryAfterMs?: number };

function event(
  ctx: StartContext,
  pod: Pod,
  type: "Normal" | "Warning",
  reason: string,
  message: string,
  _container?: string,
) {
  // (Upstream also sets involvedObject.fieldPath `spec.containers{name}`; the recorder has no field for it.)
  ctx.recorder.event({ ...(pod as KubeObject), kind: "Pod", apiVersion: "v1" }, type, reason, message);
}

/**
 * The container's `imagePullPolicy`, or (unset, which the API server's defaulting prevents)
 * upstream's default: `Always` when the tag is `latest`, or when there is neither a tag nor a
 * digest; else `IfNotPresent`.
 */
export function pullPolicy(c: Container): string {
  if (c.imagePullPolicy) return c.imagePullPolicy;
  const [name, digest] = (c.image ?? "").split("@");
  const colon = name.lastIndexOf(":");
  const tag = colon > name.lastIndexOf("/") ? name.slice(colon + 1) : digest === undefined ? "latest" : "";
  return tag === "latest" ? "Always" : "IfNotPresent";
}

/**
 * The kubelet's `EnsureImageExists`: the image as present on the node, or a pull, as the pull
 * policy says; pull failures back off (10 s doubling to 5 min, counted from the last failed pull).
 * The waiting messages are upstream's: the runtime's error for `ErrImagePull`,
 * `Back-off pulling image "<image>": ErrImagePull: <that error>` during the back-off.
 */
export async function ensureImage(
  ctx: StartContext,
  pod: Pod,
  c: Container,
): Promise<{ ref: string } | StartOutcome> {
  const image = c.image ?? "";
  const policy = pullPolicy(c);
  const key = `${pod.metadata!.uid}/${image}`;
  const present = await ctx.images.imageStatus({ image });
  if (present && policy !== "Always") {
    event(ctx, pod, "Normal", "Pulled", `Container image "${image}" already present on machine`, c.name);
    return { ref: present.id };
  }
  if (policy === "Never") {
    const message = `Container image "${image}" is not present with pull policy of Never`;
    event(ctx, pod, "Warning", "ErrImageNeverPull", message, c.name);
    event(ctx, pod, "Warning", "Failed", "Error: ErrImageNeverPull", c.name);
    return { ok: false, failure: { reason: "ErrImageNeverPull", message } };
  }
  const now = ctx.now();
  if (ctx.imageBackoff.inBackoffSinceUpdate(key, now)) {
    let message = `Back-off pulling image "${image}"`;
    event(ctx, pod, "Normal", "BackOff", message, c.name);
    event(ctx, pod, "Warning", "Failed", "Error: ImagePullBackOff", c.name);
    const previous = ctx.pullErrors.get(key);
    if (previous !== undefined) message = `${message}: ${previous}`;
    return {
      ok: false,
      failure: { reason: "ImagePullBackOff", message },
      retryAfterMs: ctx.imageBackoff.remainingSinceUpdate(key, now),
    };
  }
  ctx.pullErrors.delete(key);
  event(ctx, pod, "Normal", "Pulling", `Pulling image "${image}"`, c.name);
  const t0 = performance.now();
  try {
    const ref = await ctx.images.pullImage({ image }, { pullSecrets: ctx.pullSecrets });
    const took = goDuration(Math.round(performance.now() - t0));
    const size = (await ctx.images.imageStatus({ image }))?.size ?? 0;
    event(
      ctx,
      pod,
      "Normal",
      "Pulled",
      `Successfully pulled image "${image}" in ${took} (${took} including waiting). Image size: ${size} bytes.`,
      c.name,
    );
    return { ref };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    event(ctx, pod, "Warning", "Failed", `Failed to pull image "${image}": ${message}`, c.name);
    event(ctx, pod, "Warning", "Failed", "Error: ErrImagePull", c.name);
    ctx.imageBackoff.next(key, ctx.now(), ctx.now());
    ctx.pullErrors.set(key, `ErrImagePull: ${message}`);
    return {
      ok: false,
      failure: { reason: "ErrImagePull", message },
      // Synced again inside the back-off, where the reason becomes ImagePullBackOff (upstream:
      // the PLEG's relist, every second, brings the pod back after the failed sync).
      retryAfterMs: Math.min(ctx.imageBackoff.get(key) / 2, PULL_FAILURE_RESYNC_MS),
    };
  }
}

/**
 * The network of a sandbox made with `runPodSandboxDeferred` failed while one of its containers
 * was being created: the sandbox failed (`FailedCreatePodSandBox`), not the container.
 */
export class SandboxNetworkError extends Error {
  override name = "SandboxNetworkError";
  constructor(readonly reason: unknown) {
    super(reason instanceof Error ? reason.message : String(reason));
  }
}

/** The rejection of `p`, undefined when it resolves. */
function rejection(p: Promise<void>): Promise<unknown> {
  return p.then(() => undefined, (e) => e ?? new Error("the pod's network failed"));
}

/**
 * Pulls, configures, creates and starts `c` (attempt `attempt`) in sandbox `sandboxId`. With
 * `networkReady` (a sandbox whose network is still being set up), the container is created
 * meanwhile and started once it resolves; when it rejects, this throws
 * {@linkcode SandboxNetworkError} and records nothing of the container's.
 */
export async function startContainer(
  ctx: StartContext,
  pod: Pod,
  c: Container,
  sandboxId: string,
  sandboxAttempt: number,
  attempt: number,
  init: boolean,
  networkReady?: Promise<void>,
): Promise<StartOutcome> {
  const image = await ensureImage(ctx, pod, c);
  if ("ok" in image) return image;
  let config;
  try {
    const env = containerEnvironment(pod, c, ctx.lookups);
    config = containerConfig(pod, c, {
      attempt,
      env,
      mounts: containerMounts(c, ctx.volumes, readOnlyVolumes(pod)),
      imageRef: image.ref,
      init,
    });
  } catch (e) {
    if (e instanceof ContainerConfigError || e instanceof MountError) {
      event(ctx, pod, "Warning", "Failed", `Error: ${e.message}`, c.name);
      return { ok: false, failure: { reason: "CreateContainerConfigError", message: e.message } };
    }
    throw e;
  }
  let id: string;
  trace("image-config-done", c.name);
  const sandboxConfig = podSandboxConfig(pod, sandboxAttempt, ctx.logRoot, ctx.clusterDns);
  try {
    id = await ctx.runtime.createContainer(sandboxId, config, sandboxConfig);
  } catch (e) {
    // A create that failed along with its sandbox's network is the sandbox's failure.
    const network = networkReady && await rejection(networkReady);
    if (network) throw new SandboxNetworkError(network);
    const message = e instanceof Error ? e.message : String(e);
    event(ctx, pod, "Warning", "Failed", `Error: ${message}`, c.name);
    const reason = e instanceof RuntimeError ? e.reason : "CreateContainerError";
    return { ok: false, failure: { reason, message } };
  }
  if (networkReady) {
    const network = await rejection(networkReady);
    if (network) throw new SandboxNetworkError(network);
  }
  trace("created", c.name);
  event(ctx, pod, "Normal", "Created", `Created container: ${c.name}`, c.name);
  try {
    await ctx.runtime.startContainer(id);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    event(ctx, pod, "Warning", "Failed", `Error: failed to start container "${c.name}": ${message}`, c.name);
    return { ok: false, failure: { reason: "RunContainerError", message } };
  }
  trace("started", c.name);
  event(ctx, pod, "Normal", "Started", `Started container ${c.name}`, c.name);
  const postStart = c.lifecycle?.postStart;
  if (postStart) {
    const podIP = async () => (await ctx.runtime.podSandboxStatus(sandboxId))?.network?.ip;
    const hook = { runtime: ctx.runtime, pod, container: c, containerId: id, podIP };
    const failed = await runHook(postStart, hook);
    if (failed) {
      // Upstream: the event, the container killed (its preStop runs), `PostStartHookError`.
      event(ctx, pod, "Warning", "FailedPostStartHook", failed, c.name);
      const container = { id, state: "CONTAINER_RUNNING" as const, metadata: { name: c.name, attempt } };
      const target = { runtime: ctx.runtime, recorder: ctx.recorder, pod, container, podIP };
      const grace = pod.spec?.terminationGracePeriodSeconds ?? 30;
      await killContainer({ ...target, message: "FailedPostStartHook" }, grace).catch(() => {});
      return { ok: false, failure: { reason: "PostStartHookError", message: failed } };
    }
  }
  return { ok: true };
}
