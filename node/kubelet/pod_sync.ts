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
import { formatPod } from "./format_pod.ts";
import { killContainer } from "./kill_container.ts";
import { computePodActions, type ContainerToKill, type ProbeVerdicts } from "./pod_actions.ts";
import type { StartFailure } from "./pod_status.ts";
import {
  containerSpec,
  isSidecar,
  latestStatus,
  podContainerSpecs,
  type RuntimePodStatus,
  sortNewestFirst,
  statusesOf,
} from "./runtime_pod.ts";
import { podSandboxConfig } from "./sandbox_config.ts";
import { pullPolicy, SandboxNetworkError, startContainer, type StartContext } from "./start_container.ts";

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

/**
 * The grace period of a container killed by a failed probe: the probe's own
 * `terminationGracePeriodSeconds` when set, else the pod's (upstream's `setTerminationGracePeriod`).
 */
export function killGrace(pod: Pod, why: ContainerToKill, podGrace: number): number {
  const spec = containerSpec(pod, why.name);
  const probe = why.reason === "LivenessProbe"
    ? spec?.livenessProbe
    : why.reason === "StartupProbe"
    ? spec?.startupProbe
    : undefined;
  return probe?.terminationGracePeriodSeconds ?? podGrace;
}

/** The IP of the pod's ready sandbox, for hooks that call the pod. */
function sandboxIP(status: RuntimePodStatus): () => Promise<string | undefined> {
  return () => Promise.resolve(status.sandboxes.find((s) => s.state === "SANDBOX_READY")?.network?.ip);
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
  const podIP = sandboxIP(status);
  const kill = (c: ContainerStatus, grace: number) =>
    killContainer({ runtime, recorder, pod, container: c, podIP }, grace);
  // Sidecars stop after the other containers, in reverse order, with what is left of the grace
  // period (upstream's KEP-753 termination order).
  const sidecarNames = (pod.spec?.initContainers ?? []).filter(isSidecar).map((c) => c.name).reverse();
  const isSidecarInstance = (c: ContainerStatus) => sidecarNames.includes(c.metadata.name);
  const started = Date.now();
  await Promise.all(running.filter((c) => !isSidecarInstance(c)).map((c) => kill(c, graceSeconds)));
  for (const name of sidecarNames) {
    const left = Math.max(0, graceSeconds - Math.floor((Date.now() - started) / 1000));
    await Promise.all(running.filter((c) => c.metadata.name === name).map((c) => kill(c, left)));
  }
  for (const s of ready) await runtime.stopPodSandbox(s.id);
  return running.length > 0 || ready.length > 0;
}

/**
 * Removes container instances beyond the newest two per name (current and previous). Resolves
 * to whether it removed any.
 */
async function pruneInstances(runtime: RuntimeService, pod: Pod, status: RuntimePodStatus): Promise<boolean> {
  let removed = false;
  for (const { name } of podContainerSpecs(pod)) {
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
  networkReady?: Promise<void>,
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
  const outcome = await startContainer(ctx, pod, c, sandboxId, sandboxAttempt, attempt, init, networkReady);
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
 * Whether the images of `containers` are on the node and need no pull (policy not `Always`): then
 * a new sandbox's network may be set up while they are created. A pull takes longer than the
 * network, and its failures and back-off are timed from the sync as upstream's (network first).
 */
async function imagesPresent(ctx: StartContext, containers: Container[]): Promise<boolean> {
  for (const c of containers) {
    if (pullPolicy(c) === "Always" || !(await ctx.images.imageStatus({ image: c.image ?? "" }))) return false;
  }
  return true;
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
    actions.nextInitContainerToStart !== undefined || actions.containersToStart.length > 0 ||
    actions.sidecarsToStart.length > 0 || actions.ephemeralToStart.length > 0;

  // A new pod's plan kills first too (upstream's KillPod with a new sandbox), with nothing to kill.
  let killed = actions.containersToKill.size > 0;
  if (actions.killPod) {
    killed = await killPod(ctx.runtime, ctx.recorder, pod, status, grace);
  } else {
    await Promise.all([...actions.containersToKill].map(async ([id, why]) => {
      const container = status.containers.find((c) => c.id === id);
      if (!container) return;
      const target = { runtime: ctx.runtime, recorder: ctx.recorder, pod, podIP: sandboxIP(status) };
      await killContainer({ ...target, container, message: why.message }, killGrace(pod, why, grace));
    }));
  }

  /** The sandbox could not be made: the event, its removal (with what was created in it), the back-off. */
  const sandboxFailed = async (e: unknown, made?: string): Promise<SyncPodResult> => {
    const message = `Failed to create pod sandbox: ${e instanceof Error ? e.message : e}`;
    podEvent(ctx.recorder, pod, "Warning", "FailedCreatePodSandBox", message);
    if (made) await ctx.runtime.removePodSandbox(made).catch(() => {});
    const key = `${pod.metadata!.uid}/sandbox`;
    ctx.backoff.next(key, ctx.now(), ctx.now());
    return { requeueAfterMs: ctx.backoff.get(key), changedRuntime };
  };

  let sandboxId = actions.sandboxId;
  let sandboxAttempt = actions.attempt;
  // A new sandbox's network may still be on its way while its containers are created (a runtime
  // with `runPodSandboxDeferred`); they start once it is there.
  let networkReady: Promise<void> | undefined;
  if (actions.createSandbox) {
    const config = podSandboxConfig(pod, actions.attempt, ctx.logRoot, ctx.clusterDns);
    try {
      const first = actions.nextInitContainerToStart
        ? [actions.nextInitContainerToStart]
        : actions.containersToStart.map((i) => pod.spec!.containers[i]);
      if (ctx.runtime.runPodSandboxDeferred && await imagesPresent(ctx, first)) {
        const made = await ctx.runtime.runPodSandboxDeferred(config, ctx.handler);
        sandboxId = made.id;
        networkReady = made.networkReady;
        networkReady.catch(() => {}); // awaited below
      } else {
        sandboxId = await ctx.runtime.runPodSandbox(config, ctx.handler);
      }
      sandboxAttempt = actions.attempt;
    } catch (e) {
      return await sandboxFailed(e);
    }
  }
  if (!sandboxId) return { changedRuntime };
  /** The starts' outcomes; a failed network fails the sandbox (whatever else failed). */
  const settle = async <T>(starts: Promise<T>[]): Promise<T[] | SyncPodResult> => {
    const settled = await Promise.allSettled(starts);
    const network = networkReady &&
      await networkReady.then(() => undefined, (e) => e ?? new Error("no network"));
    if (network) return await sandboxFailed(network, sandboxId);
    const failed = settled.find((r) => r.status === "rejected");
    if (failed) {
      throw failed.reason instanceof SandboxNetworkError ? failed.reason.reason : failed.reason;
    }
    return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
  };

  // The runtime view changed if something was killed: re-read before starting.
  const fresh = killed ? await runtimePodStatus(ctx.runtime, pod.metadata!.uid!) : status;
  const sidecars = [
    ...actions.sidecarsToStart.map((c) =>
      startWithBackoff(ctx, pod, c, fresh, sandboxId!, sandboxAttempt, true, networkReady)
    ),
    ...actions.ephemeralToStart.map((c) =>
      startWithBackoff(ctx, pod, c, fresh, sandboxId!, sandboxAttempt, false, networkReady)
    ),
  ];
  if (actions.nextInitContainerToStart) {
    const init = actions.nextInitContainerToStart;
    const started = await settle([
      startWithBackoff(ctx, pod, init, fresh, sandboxId, sandboxAttempt, true, networkReady),
      ...sidecars,
    ]);
    if (!Array.isArray(started)) return started;
    for (const d of started) if (d !== undefined) delays.push(d);
    // A sidecar that started and has no startup probe lets the next init container start now:
    // nothing else would bring the pod back (its own start is not an event to this sync).
    if (started[0] === undefined && isSidecar(init) && !init.startupProbe) delays.push(0);
    return { requeueAfterMs: requeue(), changedRuntime };
  }
  const results = await settle([
    ...actions.containersToStart.map((i) =>
      startWithBackoff(
        ctx,
        pod,
        pod.spec!.containers[i],
        fresh,
        sandboxId!,
        sandboxAttempt,
        false,
        networkReady,
      )
    ),
    ...sidecars,
  ]);
  if (!Array.isArray(results)) return results;
  for (const d of results) if (d !== undefined) delays.push(d);
  if (await pruneInstances(ctx.runtime, pod, fresh)) changedRuntime = true;
  return { requeueAfterMs: requeue(), changedRuntime };
}
