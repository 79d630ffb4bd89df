/**
 * The NamespaceDeletion* status conditions the namespace controller maintains while it empties a
 * Terminating namespace, with upstream's reasons and messages
 * (`pkg/controller/namespace/deletion/status_condition_utils.go`). Pure.
 * @module
 */

/** One `NamespaceCondition`. */
export interface NamespaceCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

/** The condition types the controller maintains, in upstream's order. */
export const CONDITION_TYPES = [
  "NamespaceDeletionDiscoveryFailure",
  "NamespaceDeletionGroupVersionParsingFailure",
  "NamespaceDeletionContentFailure",
  "NamespaceContentRemaining",
  "NamespaceFinalizersRemaining",
] as const;

const OK_MESSAGES: Record<string, string> = {
  NamespaceDeletionDiscoveryFailure: "All resources successfully discovered",
  NamespaceDeletionGroupVersionParsingFailure: "All legacy kube types successfully parsed",
  NamespaceDeletionContentFailure: "All content successfully deleted, may be waiting on finalization",
  NamespaceContentRemaining: "All content successfully removed",
  NamespaceFinalizersRemaining: "All content successfully removed",
};

const OK_REASONS: Record<string, string> = {
  NamespaceDeletionDiscoveryFailure: "ResourcesDiscovered",
  NamespaceDeletionGroupVersionParsingFailure: "ParsedGroupVersions",
  NamespaceDeletionContentFailure: "ContentDeleted",
  NamespaceContentRemaining: "ContentRemoved",
  NamespaceFinalizersRemaining: "ContentRemoved",
};

/** What one deletion pass found. */
export interface DeletionReport {
  /** Discovery failure message (whole or partial), if any. */
  discoveryError?: string;
  /** One message per resource whose content could not be deleted. */
  contentErrors: string[];
  /** Items left, by `resource.group` (core resources end with a dot: `pods.`). */
  remaining: Map<string, number>;
  /** Items left, by finalizer. */
  finalizers: Map<string, number>;
}

/** The failure conditions of a pass (types that are fine are absent). */
export function failureConditions(report: DeletionReport, now: string): NamespaceCondition[] {
  const out: NamespaceCondition[] = [];
  if (report.discoveryError) {
    out.push({
      type: "NamespaceDeletionDiscoveryFailure",
      status: "True",
      lastTransitionTime: now,
      reason: "DiscoveryFailed",
      message: report.discoveryError,
    });
  }
  if (report.contentErrors.length) {
    const msgs = [...report.contentErrors].sort();
    out.push({
      type: "NamespaceDeletionContentFailure",
      status: "True",
      lastTransitionTime: now,
      reason: "ContentDeletionFailed",
      message: `Failed to delete all resource types, ${msgs.length} remaining: ${msgs.join(", ")}`,
    });
  }
  const remaining = [...report.remaining].filter(([, n]) => n > 0).map(([gr, n]) =>
    `${gr} has ${n} resource instances`
  )
    .sort();
  if (remaining.length) {
    out.push({
      type: "NamespaceContentRemaining",
      status: "True",
      lastTransitionTime: now,
      reason: "SomeResourcesRemain",
      message: `Some resources are remaining: ${remaining.join(", ")}`,
    });
  }
  const byFinalizer = [...report.finalizers].filter(([, n]) => n > 0).map(([f, n]) =>
    `${f} in ${n} resource instances`
  ).sort();
  if (byFinalizer.length) {
    out.push({
      type: "NamespaceFinalizersRemaining",
      status: "True",
      lastTransitionTime: now,
      reason: "SomeFinalizerRemain",
      message: `Some finalizers are remaining: ${byFinalizer.join(", ")}`,
    });
  }
  return out;
}

/**
 * Merges a pass's failure conditions into the existing ones: every maintained type is present,
 * with its "ok" variant when it did not fail; `lastTransitionTime` changes only with the status.
 * Returns the new list and whether it differs.
 */
export function updateConditions(
  existing: NamespaceCondition[] | undefined,
  failures: NamespaceCondition[],
  now: string,
): { conditions: NamespaceCondition[]; changed: boolean } {
  const conditions = (existing ?? []).map((c) => ({ ...c }));
  let changed = false;
  for (const type of CONDITION_TYPES) {
    const next = failures.find((c) => c.type === type) ??
      {
        type,
        status: "False" as const,
        lastTransitionTime: now,
        reason: OK_REASONS[type],
        message: OK_MESSAGES[type],
      };
    const old = conditions.find((c) => c.type === type);
    if (!old) {
      conditions.push(next);
      changed = true;
    } else if (old.status !== next.status || old.message !== next.message || old.reason !== next.reason) {
      if (old.status !== next.status) old.lastTransitionTime = now;
      old.status = next.status;
      old.reason = next.reason;
      old.message = next.message;
      changed = true;
    }
  }
  return { conditions, changed };
}

/** The seconds to wait for pods in graceful termination, as upstream's estimate (0 once it has passed). */
/** The pod fields the estimate reads. */
export interface PodLike {
  status?: { phase?: string };
  spec?: { terminationGracePeriodSeconds?: number };
}

export function estimatePodTermination(
  pods: PodLike[],
  deletedAtMs: number,
  nowMs: number,
): number {
  let estimate = 0;
  for (const p of pods) {
    const phase = p.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") continue;
    const grace = p.spec?.terminationGracePeriodSeconds;
    if (grace !== undefined && grace > estimate) estimate = grace;
  }
  return nowMs - deletedAtMs >= estimate * 1000 ? 0 : estimate;
}

/** Seconds to wait before checking again when remaining items carry finalizers (upstream's 15 s). */
export const FINALIZER_ESTIMATE_SECONDS = 15;
