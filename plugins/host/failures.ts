/**
 * Which outcomes of a plugin call are the plugin's *failures*, as opposed to its answers. Pure.
 *
 * A failure — the guest trapped, ran past its deadline, exhausted its memory, called an
 * ungranted capability or answered garbage — says the plugin is broken: it is recorded in the
 * Plugin's `status.components[].lastError` (and the instance is recycled). An answer of the
 * kind's WIT `error` variant (reason `PluginError`) is a well-formed answer: a runtime refusing
 * a container (`runAsNonRoot`, CRI `FailedPrecondition`), a CNI error, a CSI error, an admission
 * plugin that cannot decide. Upstream tells them apart the same way — a CRI runtime's gRPC error
 * reply or a CNI plugin's error result does not make the runtime or the network unhealthy — so
 * the caller reports it where upstream does (the container's `CreateContainerConfigError`, a
 * `FailedCreatePodSandBox` or `FailedMount` Event, admission's failurePolicy, the scheduler's
 * `SchedulerError`), and the Plugin's status stays clean. The same rule holds for every kind.
 * @module
 */
import type { FailureReason } from "../../control/api/plugins.ts";

/** Whether a call that ended with `reason` counts against the plugin (its `lastError`). */
export function isPluginFailure(reason: FailureReason): boolean {
  return reason !== "PluginError";
}
