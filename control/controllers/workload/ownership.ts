/**
 * Owner references: building controller references, and claiming objects as upstream's
 * `ControllerRefManager` does. A controller claims the objects whose controller reference is its
 * own and that its selector still matches, adopts matching orphans, and releases objects it owns
 * that no longer match. Deciding is pure ({@link planClaims}); the patches are {@link applyClaims}.
 * @module
 */
import type { Client, ResourceRef } from "../../api/client.ts";
import { type LabelSelector, matchesLabels } from "../../api/selector.ts";
import { isApiError } from "../../api/status.ts";
import type { KubeObject, OwnerReference } from "../../api/types.ts";

/** `metav1.NewControllerRef`: a controlling, deletion-blocking reference to `owner`. */
export function controllerRef(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The controlling owner reference of `obj`, if any (`metav1.GetControllerOf`). */
export function getControllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** Whether `obj` is controlled by the object with `uid` (`metav1.IsControlledBy`). */
export function isControlledBy(obj: KubeObject, uid: string | undefined): boolean {
  return uid !== undefined && getControllerOf(obj)?.uid === uid;
}

/** What claiming decided for each object. */
export interface ClaimPlan<T extends KubeObject = KubeObject> {
  /** Ours and matching: claimed as they are. */
  owned: T[];
  /** Orphans that match: to adopt. */
  adopt: T[];
  /** Ours but no longer matching: to release. */
  release: T[];
}

/**
 * Upstream `ClaimObject` over a list. `filter` narrows what may be claimed at all (e.g. active
 * pods only, or StatefulSet members). A null selector matches nothing.
 */
export function planClaims<T extends KubeObject>(
  owner: KubeObject,
  selector: LabelSelector | null,
  objects: T[],
  filter: (obj: T) => boolean = () => true,
): ClaimPlan<T> {
  const plan: ClaimPlan<T> = { owned: [], adopt: [], release: [] };
  const ownerDeleting = !!owner.metadata.deletionTimestamp;
  for (const obj of objects) {
    if (obj.metadata.namespace !== owner.metadata.namespace) continue;
    const ref = getControllerOf(obj);
    const matches = selector !== null && matchesLabels(selector, obj.metadata.labels) && filter(obj);
    if (ref) {
      if (ref.uid !== owner.metadata.uid) continue;
      if (matches) plan.owned.push(obj);
      else if (!ownerDeleting) plan.release.push(obj);
      continue;
    }
    if (ownerDeleting || !matches || obj.metadata.deletionTimestamp) continue;
    plan.adopt.push(obj);
  }
  return plan;
}

/** The strategic-merge patch that adopts `obj` (plus finalizers some controllers add). */
export function adoptPatch(obj: KubeObject, ref: OwnerReference, finalizers: string[] = []): unknown {
  return {
    metadata: {
      ownerReferences: [ref],
      uid: obj.metadata.uid,
      ...(finalizers.length ? { finalizers } : {}),
    },
  };
}

/** The strategic-merge patch that removes `ownerUid`'s reference from `obj`. */
export function releasePatch(obj: KubeObject, ownerUid: string): unknown {
  return { metadata: { ownerReferences: [{ $patch: "delete", uid: ownerUid }], uid: obj.metadata.uid } };
}

export interface ApplyClaimsOptions {
  /** The controller reference to write on adopted objects. */
  ref: OwnerReference;
  /**
   * Called once before the first adoption: confirms with a fresh read that the owner still
   * exists (same UID) and is not being deleted (upstream `RecheckDeletionTimestamp`).
   */
  canAdopt: () => Promise<boolean>;
  /** Finalizers to add on adoption (the Job controller's tracking finalizer). */
  finalizers?: string[];
}

/**
 * Patches adoptions and releases; resolves to the claimed objects (owned plus successfully
 * adopted). Objects that vanished meanwhile are skipped; other errors are thrown after all
 * patches were tried.
 */
export async function applyClaims<T extends KubeObject>(
  client: Client,
  resource: ResourceRef,
  plan: ClaimPlan<T>,
  opts: ApplyClaimsOptions,
): Promise<T[]> {
  const claimed = [...plan.owned];
  const errors: unknown[] = [];
  let allowed: boolean | undefined;
  for (const obj of plan.adopt) {
    allowed ??= await opts.canAdopt();
    if (!allowed) break;
    try {
      const patched = await client.patch<T>(
        resource,
        obj.metadata.namespace!,
        obj.metadata.name!,
        adoptPatch(obj, opts.ref, opts.finalizers),
        "strategic",
      );
      claimed.push(patched);
    } catch (e) {
      if (!isApiError(e, 404)) errors.push(e);
    }
  }
  for (const obj of plan.release) {
    try {
      await client.patch(
        resource,
        obj.metadata.namespace!,
        obj.metadata.name!,
        releasePatch(obj, opts.ref.uid),
        "strategic",
      );
    } catch (e) {
      if (!isApiError(e, 404) && !isApiError(e, 422)) errors.push(e);
    }
  }
  if (errors.length) throw errors[0];
  return claimed;
}

/** A `canAdopt` check that re-reads the owner (upstream `RecheckDeletionTimestamp`). */
export function recheckOwner(
  client: Client,
  resource: ResourceRef,
  owner: KubeObject,
): () => Promise<boolean> {
  return async () => {
    const fresh = await client.tryGet(resource, owner.metadata.namespace!, owner.metadata.name!);
    return !!fresh && fresh.metadata.uid === owner.metadata.uid && !fresh.metadata.deletionTimestamp;
  };
}
