/**
 * StatefulSet revisions, pure (upstream `newRevision`, `ApplyRevision`, and the choice of update
 * revision in `getStatefulSetRevisions`): a revision is named `<set>-<hash of its data>`.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { hashRevisionData } from "../workload/hash.ts";
import {
  controllerRevisionName,
  equalRevision,
  newControllerRevision,
  REVISION_HASH_LABEL,
  revisionData,
} from "../workload/history.ts";

/** Upstream `newRevision` + `history.NewControllerRevision`: the revision for the set's template. */
export function newRevision(set: KubeObject, revision: number, collisionCount: number): KubeObject {
  const hash = hashRevisionData(revisionData(set), collisionCount);
  const labels = { ...(set.spec?.template?.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash };
  return newControllerRevision(
    set,
    "StatefulSet",
    controllerRevisionName(set.metadata.name!, hash),
    labels,
    revision,
    set.metadata.annotations,
  );
}

/** Upstream `ApplyRevision`: the set with the revision's template. */
export function applyRevision(set: KubeObject, revision: KubeObject): KubeObject {
  const template = structuredClone(revision.data?.spec?.template ?? {});
  delete template.$patch;
  return { ...set, spec: { ...set.spec, template } };
}

/** What to do about the update revision (upstream `getStatefulSetRevisions`). */
export type UpdateRevisionChoice =
  | { kind: "latest"; revision: KubeObject }
  | { kind: "renumber"; revision: KubeObject; to: number }
  | { kind: "create"; revision: KubeObject };

/**
 * The latest stored revision if it already holds the template; else the newest equal older one,
 * renumbered to the next revision (a rollback to it); else a new one to create.
 */
export function chooseUpdateRevision(set: KubeObject, sorted: KubeObject[]): UpdateRevisionChoice {
  const next = sorted.reduce((m, r) => Math.max(m, r.revision ?? 0), 0) + 1;
  const candidate = newRevision(set, next, set.status?.collisionCount ?? 0);
  const equal = sorted.filter((r) => equalRevision(r, candidate));
  if (equal.length && equalRevision(sorted.at(-1), equal.at(-1))) {
    return { kind: "latest", revision: sorted.at(-1)! };
  }
  if (equal.length) return { kind: "renumber", revision: equal.at(-1)!, to: next };
  return { kind: "create", revision: candidate };
}

/** Upstream `truncateHistory`: revisions not used by a pod, the current or the update revision, beyond the limit. */
export function revisionsToTruncate(
  set: KubeObject,
  sorted: KubeObject[],
  live: Set<string>,
): KubeObject[] {
  const history = sorted.filter((r) => !live.has(r.metadata.name!));
  const limit = set.spec?.revisionHistoryLimit ?? 10;
  return history.length <= limit ? [] : history.slice(0, history.length - limit);
}
