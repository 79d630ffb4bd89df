/**
 * API approval of protected groups: CRDs in `*.k8s.io` and `*.kubernetes.io` groups must carry the
 * `api-approved.kubernetes.io` annotation (a URL, or a reason starting with "unapproved").
 * @module
 */

/** Groups under `k8s.io` / `kubernetes.io` need the `api-approved.kubernetes.io` annotation. */
export function isProtectedGroup(group: string): boolean {
  return group === "k8s.io" || group.endsWith(".k8s.io") || group === "kubernetes.io" ||
    group.endsWith(".kubernetes.io");
}

/** The annotation protected groups need. */
export const API_APPROVED_ANNOTATION = "api-approved.kubernetes.io";

/** `GetAPIApprovalState`: the state and upstream's reason text. */
export function approvalState(
  annotations: Record<string, string> | undefined,
): { state: string; reason: string } {
  const a = annotations?.[API_APPROVED_ANNOTATION] ?? "";
  const q = JSON.stringify(API_APPROVED_ANNOTATION);
  if (!a) {
    return {
      state: "Missing",
      reason:
        `protected groups must have approval annotation ${q}, see https://github.com/kubernetes/enhancements/pull/1111`,
    };
  }
  if (a.startsWith("unapproved")) return { state: "Bypassed", reason: `not approved: ${JSON.stringify(a)}` };
  try {
    const u = new URL(a);
    if (u.host && u.protocol) return { state: "Approved", reason: `approved in ${a}` };
  } catch { /* not a URL */ }
  return {
    state: "Invalid",
    reason:
      `protected groups must have approval annotation ${q} with either a URL or a reason starting with "unapproved", see https://github.com/kubernetes/enhancements/pull/1111`,
  };
}
