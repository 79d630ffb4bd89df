/**
 * The kubelet's `SyncPod` and `KillPod` over a CRI runtime: read the pod's runtime state, decide
 * with `computePodActions`, then act — kill what must go, create the sandbox, start the next init
 * container or the containers due (respecting the crash-loop back-off), prune old container
 * instances — and report how long until a back-off expires so the worker comes back then.
 * @module
 */
import type { Container, Pod } from "kubernetes-types/core/v1.d.ts";
import type { EventRecorder } from "../../control/api/events.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { type ContainerStatus, LABEL_POD_UID, type RuntimeService } from "../cri/api.ts";
import type { Backoff } from "./backoff.ts";
import { goDuration } from "./duration.ts";
import { computePodActions, type ProbeVerdicts } from "./pod_actions.ts";
import type { StartFailure } from "./pod_status.ts";
import { latestStatus, type RuntimePodStatus, sortNewestFirst, statusesOf } from "./runtime_pod.ts";
import { podSandboxConfig } from "./sandbox_config.ts";
import { startContainer, type StartContext } from "./start_container.ts";

/** The runtime state of pod `uid`, newest first. */
export async function runtimePodStatus(runtime: RuntimeService, uid: string): Promise<RuntimePodStatus> {
  if (runtime.podStatus) return sortNewestFirst({ uid, ...await runtime.podStatus(uid) });
  const selector = { [LABEL_POD_UID]: uid };
  const sandboxes = (await Promise.all(
    (await runtime.listPodSandbox({ labelSelector: selector })).map((s) => runtime.podSandboxStatus(s.id)),
  )).filter((s) => s !== null);
  const containers = (await Promise.all(
    (await runtime.listContainers({ labelSelector: selector })).map((c) => runtime.containerStatus(c.id)),
  )).filter((s) => s !== null) as ContainerStatus[];
  return sortNewestFirst({ uid, sandboxes, containers });
}

export interface SyncContext extends StartContext {
  backoff: Backoff;
  /** The runtime handler for this pod's RuntimeClass. */
  handler: string;
  probes: ProbeVerdicts;
  /** Container name → last start failure (mutated: set on failure, cleared on start). */
  startFailures: Map<string, StartFailure>;
}

function podEvent(
  recorder: EventRecorder,
  pod: Pod,
  type: "Normal" | "Warning",
  reason: string,
  message: string,
) {
  recorder.event({ ...(pod as KubeObject), kind: "Pod", apiVersion: "v1" }, type, reason, message);
}

/** `<name>_<namespace>(<uid>)`, upstream's `format.Pod`. */
export function formatPod(pod: Pod): string {
  return `${pod.metadata!.name}_${pod.metadata!.namespace}(${pod.metadata!.uid})`;
}

/**
 * Stops every running container of the pod (gracefully, killing after `graceSeconds`) and its
 * sandboxes. Resolves to whether there was anything to stop.
 */
export async function killPod(
  runtime: RuntimeService,
  recorder: EventRecorder,
  pod: Pod,
  status: RuntimePodStatus,
  graceSeconds: number,
): Promise<boolean> {
  const running = status.containers.filter((c) =>
    c.state === "CONTAINER_RUNNING" || c.state === "CONTAINER_CREATED"
  );
  const ready = status.sandboxes.filter((s) => s.state === "SANDBOX_READY");
  await Promise.all(running.map(async (c) => {
    if (c.state === "CONTAINER_RUNNING") {
      podEvent(recorder, pod, "Normal", "Killing", `Stopping container ${c.metadata.name}`);
    }
    await runtime.stopContainer(c.id, graceSeconds);
  }));
  for (const s of ready) await runtime.stopPodSandbox(s.id);
  return running.length > 0 || ready.length > 0;
}

/**
 * Removes container instances beyond the newest two per name (current and previous). Resolves
 * to whether it removed any.
 */
async function pruneInstances(runtime: RuntimeService, pod: Pod, status: RuntimePodStatus): Promise<boolean> {
  const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);
  let removed = false;
  for (const name of names) {
    for (const old of statusesOf(status, name).slice(2)) {
      if (old.state === "CONTAINER_EXITED") {
        await runtime.removeContainer(old.id);
        removed = true;
      }
    }
  }
  return removed;
}

/**
 * Starts `c` unless its crash-loop back-off says to wait. Returns the ms until it may start when
 * it must wait.
 */
async function startWithBackoff(
  ctx: SyncContext,
  pod: Pod,
  c: Container,
  status: RuntimePodStatus,
  sandboxId: string,
  sandboxAttempt: number,
  init: boolean,
): Promise<number | undefined> {
  const prev = latestStatus(status, c.name);
  const key = `${pod.metadata!.uid}/${c.name}`;
  const now = ctx.now();
  if (prev && prev.state === "CONTAINER_EXITED") {
    const finishedAt = prev.finishedAt || now;
    if (ctx.backoff.inBackoffSince(key, finishedAt, now)) {
      const delay = goDuration(ctx.backoff.get(key));
      ctx.startFailures.set(c.name, {
        reason: "CrashLoopBackOff",
        message: `back-off ${delay} restarting failed container=${c.name} pod=${formatPod(pod)}`,
      });
      podEvent(
        ctx.recorder,
        pod,
        "Warning",
        "BackOff",
        `Back-off restarting failed container ${c.name} in pod ${formatPod(pod)}`,
      );
      return ctx.backoff.remaining(key, finishedAt, now);
    }
    ctx.backoff.next(key, finishedAt, now);
  }
  const attempt = prev ? prev.metadata.attempt + 1 : 0;
  const outcome = await startContainer(ctx, pod, c, sandboxId, sandboxAttempt, attempt, init);
  if (outcome.ok) {
    ctx.startFailures.delete(c.name);
    return undefined;
  }
  ctx.startFailures.set(c.name, outcome.failure);
  // Config errors and runtime errors retry on the container back-off too.
  if (outcome.retryAfterMs !== undefined) return outcome.retryAfterMs;
  ctx.backoff.next(key, now, now);
  return ctx.backoff.get(key);
}

/**
 * What one sync did: when to come back (a back-off expiry), and whether it asked the runtime to
 * change anything. A sync that changed nothing leaves the runtime state it read as it was, so
 * the caller need not read it again to report the pod's status.
 */
export interface SyncPodResult {
  requeueAfterMs?: number;
  changedRuntime: boolean;
}

/** One sync of a pod that should be running. */
export async function syncPod(
  ctx: SyncContext,
  pod: Pod,
  status: RuntimePodStatus,
): Promise<SyncPodResult> {
  const actions = computePodActions(pod, status, ctx.probes);
  const grace = pod.spec?.terminationGracePeriodSeconds ?? 30;
  const delays: number[] = [];
  const requeue = () => delays.length ? Math.min(...delays) : undefined;
  // Any plan that kills, creates or starts something changes the runtime state (even a start
  // that its back-off then skips is counted: a needless re-read, never a stale one).
  let changedRuntime = actions.killPod || actions.containersToKill.size > 0 || actions.createSandbox ||
    actions.nextInitContainerToStart !== undefined || actions.containersToStart.length > 0;

  // A new pod's plan kills first too (upstream's KillPod with a new sandbox), with nothing to kill.
  let killed = actions.containersToKill.size > 0;
  if (actions.killPod) {
    killed = await killPod(ctx.runtime, ctx.recorder, pod, status, grace);
  } else {
    await Promise.all([...actions.containersToKill].map(async ([id, why]) => {
      podEvent(ctx.recorder, pod, "Normal", "Killing", why.message);
      await ctx.runtime.stopContainer(id, grace);
    }));
  }

  let sandboxId = actions.sandboxId;
  let sandboxAttempt = actions.attempt;
  if (actions.createSandbox) {
    try {
      sandboxId = await ctx.runtime.runPodSandbox(
        podSandboxConfig(pod, actions.attempt, ctx.logRoot, ctx.clusterDns),
        ctx.handler,
      );
      sandboxAttempt = actions.attempt;
    } catch (e) {
      const message = `Failed to create pod sandbox: ${e instanceof Error ? e.message : e}`;
      podEvent(ctx.recorder, pod, "Warning", "FailedCreatePodSandBox", message);
      const key = `${pod.metadata!.uid}/sandbox`;
      ctx.backoff.next(key, ctx.now(), ctx.now());
      return { requeueAfterMs: ctx.backoff.get(key), changedRuntime };
    }
  }
  if (!sandboxId) return { changedRuntime };

  // The runtime view changed if something was killed: re-read before starting.
  const fresh = killed ? await runtimePodStatus(ctx.runtime, pod.metadata!.uid!) : status;
  if (actions.nextInitContainerToStart) {
    const d = await startWithBackoff(
      ctx,
      pod,
      actions.nextInitContainerToStart,
      fresh,
      sandboxId,
      sandboxAttempt,
      true,
    );
    if (d !== undefined) delays.push(d);
    return { requeueAfterMs: requeue(), changedRuntime };
  }
  const results = await Promise.all(
    actions.containersToStart.map((i) =>
      startWithBackoff(ctx, pod, pod.spec!.containers[i], fresh, sandboxId!, sandboxAttempt, false)
    ),
  );
  for (const d of results) if (d !== undefined) delays.push(d);
  if (await pruneInstances(ctx.runtime, pod, fresh)) changedRuntime = true;
  return { requeueAfterMs: requeue(), changedRuntime };
}
