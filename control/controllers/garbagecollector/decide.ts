/**
 * The garbage collector's decisions, pure: what to do with a dependent given the state of its
 * owners (upstream's `attemptToDeleteItem` after `classifyReferences`), and what to do with an
 * owner that is being deleted with the `orphan` or `foregroundDeletion` finalizer
 * (`attemptToOrphan`, `processDeletingDependentsItem`).
 * @module
 */
import type { KubeObject, OwnerReference } from "../../api/types.ts";

/** The finalizer Foreground propagation adds. */
export const FOREGROUND = "foregroundDeletion";
/** The finalizer Orphan propagation adds. */
export const ORPHAN = "orphan";

/**
 * What an owner reference points at: `solid` (exists, not being deleted in the foreground),
 * `dangling` (absent, or a different object of that name), or `waiting` (being deleted with the
 * `foregroundDeletion` finalizer: it waits for its blocking dependents).
 */
export type OwnerState = "solid" | "dangling" | "waiting";

export type PropagationPolicy = "Background" | "Foreground" | "Orphan";

/** What to do with a dependent. */
export type DependentAction =
  | { action: "none" }
  | { action: "patch"; ownerReferences: OwnerReference[] }
  | { action: "delete"; propagationPolicy: PropagationPolicy };

/** The state an owner object puts its references in. */
export function ownerStateOf(owner: KubeObject | null, ref: OwnerReference): OwnerState {
  if (!owner || owner.metadata.uid !== ref.uid) return "dangling";
  if (owner.metadata.deletionTimestamp && owner.metadata.finalizers?.includes(FOREGROUND)) return "waiting";
  return "solid";
}

/**
 * The policy a dependent is deleted with once it has no solid owner: its own finalizers decide, as
 * upstream ("honor an existing orphan or foreground finalizer"), otherwise Background.
 */
export function ownPolicy(obj: KubeObject): PropagationPolicy {
  const f = obj.metadata.finalizers ?? [];
  if (f.includes(ORPHAN)) return "Orphan";
  if (f.includes(FOREGROUND)) return "Foreground";
  return "Background";
}

/**
 * Decides for a dependent whose owner references have been classified (`states` by owner uid).
 * `hasDependents` says whether something else names this object as owner.
 *
 * - Some owner is solid: keep the object; drop dangling references and make references to
 *   owners waiting in the foreground non-blocking, so they are not held up by an object that stays.
 * - No solid owner, some waiting, and dependents of its own: delete it in the foreground, so the
 *   wait propagates down the chain.
 * - Otherwise: delete it with the policy its own finalizers ask for (Background by default).
 */
export function decideDependent(
  obj: KubeObject,
  states: ReadonlyMap<string, OwnerState>,
  hasDependents: boolean,
): DependentAction {
  const refs = obj.metadata.ownerReferences ?? [];
  if (!refs.length || obj.metadata.deletionTimestamp) return { action: "none" };
  const stateOf = (r: OwnerReference) => states.get(r.uid) ?? "solid";
  const solid = refs.filter((r) => stateOf(r) === "solid");
  const dangling = refs.filter((r) => stateOf(r) === "dangling");
  const waiting = refs.filter((r) => stateOf(r) === "waiting");
  if (solid.length) {
    const blocking = waiting.filter((r) => r.blockOwnerDeletion);
    if (!dangling.length && !blocking.length) return { action: "none" };
    const ownerReferences = refs
      .filter((r) => stateOf(r) !== "dangling")
      .map((
        r,
      ) => (stateOf(r) === "waiting" && r.blockOwnerDeletion ? { ...r, blockOwnerDeletion: false } : r));
    return { action: "patch", ownerReferences };
  }
  if (waiting.length && hasDependents) return { action: "delete", propagationPolicy: "Foreground" };
  return { action: "delete", propagationPolicy: ownPolicy(obj) };
}

/** What to do with an owner that is being deleted. */
export type OwnerAction =
  | { action: "none" }
  /** Remove the owner's reference from these dependents, then the `orphan` finalizer. */
  | { action: "orphan"; dependents: KubeObject[] }
  /** Reconcile these blocking dependents (they get deleted); the owner waits for them. */
  | { action: "wait"; blocking: KubeObject[] }
  /** Nothing blocks any more: remove the finalizer. */
  | { action: "removeFinalizer"; finalizer: string };

/** Whether `dep` names `owner` in a reference with `blockOwnerDeletion: true`. */
export function blocksOwner(dep: KubeObject, ownerUid: string): boolean {
  return (dep.metadata.ownerReferences ?? []).some((r) =>
    r.uid === ownerUid && r.blockOwnerDeletion === true
  );
}

/** Decides for an owner with a deletionTimestamp, given the objects that name it as owner. */
export function decideOwner(owner: KubeObject, dependents: KubeObject[]): OwnerAction {
  const m = owner.metadata;
  if (!m.deletionTimestamp) return { action: "none" };
  const finalizers = m.finalizers ?? [];
  const uid = m.uid!;
  const referencing = dependents.filter((d) => (d.metadata.ownerReferences ?? []).some((r) => r.uid === uid));
  if (finalizers.includes(ORPHAN)) {
    return referencing.length
      ? { action: "orphan", dependents: referencing }
      : { action: "removeFinalizer", finalizer: ORPHAN };
  }
  if (finalizers.includes(FOREGROUND)) {
    const blocking = referencing.filter((d) => blocksOwner(d, uid));
    if (!blocking.length) return { action: "removeFinalizer", finalizer: FOREGROUND };
    // Dependents that are themselves deleting their dependents are already on their way.
    const toDelete = blocking.filter((d) =>
      !(d.metadata.deletionTimestamp && d.metadata.finalizers?.includes(FOREGROUND))
    );
    return { action: "wait", blocking: toDelete };
  }
  return { action: "none" };
}

/** The owner references left after removing the ones naming `ownerUids`. */
export function withoutOwners(
  refs: OwnerReference[] | undefined,
  ownerUids: ReadonlySet<string>,
): OwnerReference[] {
  return (refs ?? []).filter((r) => !ownerUids.has(r.uid));
}
