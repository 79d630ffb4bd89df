/**
 * Stopping one container, the kubelet's `killContainer`: the `Killing` event, the container's
 * `preStop` hook (when it has one, is running and the grace period is not 0), then the runtime's
 * stop with what the hook left of the grace period, never less than 2 s after a hook (upstream's
 * `minimumGracePeriodInSeconds`). The hook is cut off when the grace period ends; a failed one is
 * a `FailedPreStopHook` event.
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.d.ts";
import type { EventRecorder } from "../../control/api/events.ts";
import type { KubeObject } from "../../control/api/types.ts";
import type { ContainerStatus, RuntimeService } from "../cri/api.ts";
import { runHook } from "./lifecycle_hooks.ts";
import { containerSpec } from "./runtime_pod.ts";

/** The least grace a container gets after its preStop hook ran. */
export const MINIMUM_GRACE_SECONDS = 2;

export interface KillTarget {
  runtime: RuntimeService;
  recorder: EventRecorder;
  pod: Pod;
  container: Pick<ContainerStatus, "id" | "state" | "metadata">;
  /** The `Killing` event's message (default `Stopping container <name>`). */
  message?: string;
  /** The pod's IP, for an `httpGet` hook without a host. */
  podIP: () => Promise<string | undefined>;
}

/** Stops the target's container within `graceSeconds`, its preStop hook first. */
export async function killContainer(target: KillTarget, graceSeconds: number): Promise<void> {
  const { runtime, recorder, pod, container } = target;
  const name = container.metadata.name;
  const event = (type: "Normal" | "Warning", reason: string, message: string) =>
    recorder.event({ ...(pod as KubeObject), kind: "Pod", apiVersion: "v1" }, type, reason, message);
  const running = container.state === "CONTAINER_RUNNING";
  // A container that never ran is stopped without an event, unless the caller says why.
  if (running || target.message !== undefined) {
    event("Normal", "Killing", target.message ?? `Stopping container ${name}`);
  }
  let grace = graceSeconds;
  const spec = containerSpec(pod, name);
  const preStop = spec?.lifecycle?.preStop;
  if (running && spec && preStop && grace > 0) {
    const started = Date.now();
    const failed = await runHook(preStop, {
      runtime,
      pod,
      container: spec,
      containerId: container.id,
      podIP: target.podIP,
      signal: AbortSignal.timeout(grace * 1000),
    });
    if (failed) event("Warning", "FailedPreStopHook", failed);
    grace = Math.max(grace - Math.floor((Date.now() - started) / 1000), MINIMUM_GRACE_SECONDS);
  }
  await runtime.stopContainer(container.id, grace);
}
