/**
 * Finding the owner of an object through the informer caches, as upstream's
 * `resolveControllerRef` and `getPodReplicaSets`-style lookups: a controller reference resolves
 * only when kind, name and UID all match; orphans map to every owner whose selector matches.
 * @module
 */
import type { Informer } from "../../api/informer.ts";
import { fromLabelSelectorObject, matchesLabels } from "../../api/selector.ts";
import { type KubeObject, objectKey } from "../../api/types.ts";
import { getControllerOf } from "./ownership.ts";

/** The owner of `obj` of `kind` in `owners`, if its controller reference points to it (UID included). */
export function resolveControllerRef<T extends KubeObject>(
  obj: KubeObject,
  kind: string,
  owners: Informer<T>,
): T | undefined {
  const ref = getControllerOf(obj);
  if (!ref || ref.kind !== kind) return undefined;
  const owner = owners.get(obj.metadata.namespace, ref.name);
  return owner && owner.metadata.uid === ref.uid ? owner : undefined;
}

/** Owners in `obj`'s namespace whose `spec.selector` matches `obj`'s labels (for orphans). */
export function ownersSelecting<T extends KubeObject>(obj: KubeObject, owners: Informer<T>): T[] {
  const out: T[] = [];
  for (const owner of owners.list(obj.metadata.namespace)) {
    let sel;
    try {
      sel = fromLabelSelectorObject(owner.spec?.selector);
    } catch {
      continue;
    }
    // An empty selector would match everything; upstream skips it for orphan lookups.
    if (!sel || sel.length === 0) continue;
    if (matchesLabels(sel, obj.metadata.labels)) out.push(owner);
  }
  return out;
}

/** Whether two label maps are equal. */
export function labelsEqual(
  a: Record<string, string> | undefined,
  b: Record<string, string> | undefined,
): boolean {
  const ka = Object.keys(a ?? {}), kb = Object.keys(b ?? {});
  return ka.length === kb.length && ka.every((k) => a![k] === b?.[k]);
}

/** Whether two owner references identify the same owner. */
export function sameRef(a: { uid?: string } | undefined, b: { uid?: string } | undefined): boolean {
  return (a?.uid ?? "") === (b?.uid ?? "");
}

export { objectKey };
