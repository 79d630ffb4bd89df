/**
 * ControllerRevisions, the template history of DaemonSets and StatefulSets (upstream
 * `pkg/controller/history` and the DaemonSet's `snapshot`): a revision stores a patch that
 * replaces `spec.template`, a number, and the owner.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { canonicalJson } from "./hash.ts";
import { controllerRef } from "./ownership.ts";

/** The label on pods (and DaemonSet revisions) naming their revision: `controller-revision-hash`. */
export const CONTROLLER_REVISION_HASH = "controller-revision-hash";
/** The label `history.NewControllerRevision` puts on StatefulSet revisions. */
export const REVISION_HASH_LABEL = "controller.kubernetes.io/hash";

/** Upstream `getPatch`: `{"spec":{"template":{..., "$patch":"replace"}}}`. */
export function revisionData(owner: KubeObject): KubeObject["spec"] {
  return { spec: { template: { ...structuredClone(owner.spec?.template ?? {}), $patch: "replace" } } };
}

/** Whether two revisions hold the same data (upstream `history.EqualRevision`). */
export function equalRevision(a: KubeObject | undefined, b: KubeObject | undefined): boolean {
  if (!a || !b) return false;
  return canonicalJson(a.data) === canonicalJson(b.data);
}

/** Whether `rev` holds exactly the owner's current template. */
export function revisionMatches(owner: KubeObject, rev: KubeObject): boolean {
  return canonicalJson(rev.data) === canonicalJson(revisionData(owner));
}

/** Ascending by revision, ties by creation then name (upstream `history.SortControllerRevisions`). */
export function sortRevisions(revs: KubeObject[]): KubeObject[] {
  return [...revs].sort((a, b) =>
    (a.revision ?? 0) - (b.revision ?? 0) ||
    (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") ||
    (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "")
  );
}

/** One more than the highest revision (1 for none). */
export function nextRevisionNumber(revs: KubeObject[]): number {
  return revs.reduce((m, r) => Math.max(m, r.revision ?? 0), 0) + 1;
}

/** A ControllerRevision owned by `owner` (kind `ownerKind`), ready to create. */
export function newControllerRevision(
  owner: KubeObject,
  ownerKind: string,
  name: string,
  labels: Record<string, string>,
  revision: number,
  annotations?: Record<string, string>,
): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: {
      name,
      namespace: owner.metadata.namespace,
      labels,
      ...(annotations && Object.keys(annotations).length ? { annotations: { ...annotations } } : {}),
      ownerReferences: [controllerRef(owner, "apps/v1", ownerKind)],
    },
    data: revisionData(owner),
    revision,
  };
}

/** Upstream `ControllerRevisionName`: `<prefix>-<hash>`, the prefix cut to 223 characters. */
export function controllerRevisionName(prefix: string, hash: string): string {
  return `${prefix.length > 223 ? prefix.slice(0, 223) : prefix}-${hash}`;
}
