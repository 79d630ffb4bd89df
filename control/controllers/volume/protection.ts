/**
 * The storage-object-in-use protection controllers (upstream `pvc-protection-controller` and
 * `pv-protection-controller`): a claim being deleted keeps its `kubernetes.io/pvc-protection`
 * finalizer while a pod that is not finished uses it; a volume being deleted keeps
 * `kubernetes.io/pv-protection` while it is Bound.
 * @module
 */
import { R } from "../../api/client.ts";
import { isApiError } from "../../api/status.ts";
import { PV_PROTECTION, PVC_PROTECTION } from "../../api/storage.ts";
import { clone, type KubeObject } from "../../api/types.ts";
import { type Controller, type ControllerContext, queueController, WorkQueue } from "../controller.ts";

/** The claims a pod uses (its persistentVolumeClaim volumes). Pure. */
export function podClaims(pod: KubeObject): string[] {
  return ((pod.spec?.volumes ?? []) as { persistentVolumeClaim?: { claimName?: string } }[])
    .map((v) => v.persistentVolumeClaim?.claimName)
    .filter((n): n is string => !!n);
}

/** Whether a pod still counts as a user of its claims (upstream: not Succeeded/Failed). Pure. */
export function podUsesClaims(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed";
}

async function dropFinalizer(
  ctx: ControllerContext,
  r: typeof R.pods,
  obj: KubeObject,
  f: string,
): Promise<void> {
  const next = clone(obj);
  next.metadata.finalizers = (next.metadata.finalizers ?? []).filter((x: string) => x !== f);
  await ctx.client.update(r, next);
}

const retryOnConflict = (e: unknown): { requeueAfterMs?: number } => {
  if (isApiError(e, 409)) return { requeueAfterMs: 200 };
  if (isApiError(e, 404)) return {};
  throw e;
};

/** pvc-protection-controller. */
export function pvcProtectionController(ctx: ControllerContext): Controller {
  const queue = new WorkQueue<string>();
  const claims = ctx.informers.get(R.persistentvolumeclaims);
  const pods = ctx.informers.get(R.pods);
  const onClaim = (c: KubeObject) => {
    if (c.metadata.deletionTimestamp) queue.add(`${c.metadata.namespace}/${c.metadata.name}`);
  };
  claims.addHandler({ onAdd: onClaim, onUpdate: (_o, c) => onClaim(c) });
  const onPod = (p: KubeObject) => {
    for (const n of podClaims(p)) queue.add(`${p.metadata.namespace}/${n}`);
  };
  pods.addHandler({ onUpdate: (_o, p) => onPod(p), onDelete: onPod });
  return queueController("pvc-protection-controller", queue, async (key) => {
    const [ns, name] = key.split("/");
    const claim = claims.get(ns, name);
    if (!claim?.metadata.deletionTimestamp || !claim.metadata.finalizers?.includes(PVC_PROTECTION)) return {};
    const inUse = pods.list(ns).some((p) => podUsesClaims(p) && podClaims(p).includes(name));
    if (inUse) return {};
    try {
      await dropFinalizer(ctx, R.persistentvolumeclaims, claim, PVC_PROTECTION);
    } catch (e) {
      return retryOnConflict(e);
    }
    return {};
  });
}

/** pv-protection-controller. */
export function pvProtectionController(ctx: ControllerContext): Controller {
  const queue = new WorkQueue<string>();
  const volumes = ctx.informers.get(R.persistentvolumes);
  const onVolume = (v: KubeObject) => {
    if (v.metadata.deletionTimestamp) queue.add(v.metadata.name!);
  };
  volumes.addHandler({ onAdd: onVolume, onUpdate: (_o, v) => onVolume(v) });
  return queueController("pv-protection-controller", queue, async (name) => {
    const pv = volumes.get(undefined, name);
    if (!pv?.metadata.deletionTimestamp || !pv.metadata.finalizers?.includes(PV_PROTECTION)) return {};
    if (pv.status?.phase === "Bound") return {};
    try {
      await dropFinalizer(ctx, R.persistentvolumes, pv, PV_PROTECTION);
    } catch (e) {
      return retryOnConflict(e);
    }
    return {};
  });
}
