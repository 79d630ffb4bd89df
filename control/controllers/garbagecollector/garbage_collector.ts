/**
 * The garbage collector (upstream `pkg/controller/garbagecollector`): deletes objects whose
 * owners are gone, and carries out Foreground and Orphan deletion of owners.
 *
 * It monitors every discovered resource that supports list, watch and delete (except events),
 * sharing informers with the other controllers for built-in kinds and owning private ones for
 * custom resources (rediscovered every 30 s). One queue holds item keys; `reconcile` reads the item
 * from the informer cache and:
 * - for an item being deleted with the `orphan` finalizer, removes its references from its
 *   dependents, then the finalizer;
 * - for one being deleted with `foregroundDeletion`, deletes its blocking dependents and removes
 *   the finalizer once none is left;
 * - for an item with owners, classifies them (solid / dangling / waiting; owners missing from the
 *   caches are checked with a live GET) and deletes the item, or fixes its references, as
 *   `decideDependent` says. A destructive action is decided again on the live object first.
 * @module
 */
import { R, type ResourceRef } from "../../api/client.ts";
import { Informer } from "../../api/informer.ts";
import { sleep } from "../../api/leader.ts";
import { resourceKey } from "../../api/resource.ts";
import { isApiError } from "../../api/status.ts";
import { deepEqual, type KubeObject, type OwnerReference } from "../../api/types.ts";
import { type Controller, type ControllerContext, queueController, WorkQueue } from "../controller.ts";
import {
  decideDependent,
  decideOwner,
  ORPHAN,
  type OwnerState,
  ownerStateOf,
  withoutOwners,
} from "./decide.ts";
import { type ApiResource, discoverResources, ResourceMapper, supports } from "./discovery.ts";
import { DependentsIndex, type ItemKey, itemKey, parseItemKey } from "./graph.ts";

/** Resources the collector never monitors, as upstream's default `ignoredResources`. */
export const IGNORED_RESOURCES = new Set(["events", "events.events.k8s.io"]);

export interface GarbageCollectorOptions {
  /** How often discovery is repeated to pick up new kinds (default 30 s). */
  rediscoveryMs?: number;
}

interface Monitor {
  res: ApiResource;
  informer: Informer;
  /** Whether the informer is private to the collector (custom resources). */
  own: boolean;
}

const BUILTIN_KEYS = new Set(Object.values(R).map((r) => resourceKey(r)));

function ownerSignature(obj: KubeObject): string {
  const m = obj.metadata;
  return JSON.stringify([m.ownerReferences ?? [], m.deletionTimestamp ?? null, m.finalizers ?? []]);
}

/** The garbage collector controller. */
export function garbageCollector(ctx: ControllerContext, opts: GarbageCollectorOptions = {}): Controller {
  const { client } = ctx;
  const queue = new WorkQueue<ItemKey>();
  const index = new DependentsIndex();
  const mapper = new ResourceMapper();
  const monitors = new Map<string, Monitor>();
  const recorder = ctx.recorder("garbage-collector-controller");

  /** The item key of the owner a reference names, from a dependent in `namespace`. */
  const ownerKey = (ref: OwnerReference, namespace: string | undefined): ItemKey | null => {
    const res = mapper.forKind(ref.apiVersion, ref.kind);
    if (!res) return null;
    return itemKey(resourceKey(res), res.namespaced ? namespace : "", ref.name);
  };

  const enqueueOwners = (obj: KubeObject, refs: OwnerReference[] = obj.metadata.ownerReferences ?? []) => {
    for (const ref of refs) {
      const key = ownerKey(ref, obj.metadata.namespace);
      if (key) queue.add(key);
    }
  };

  const watchResource = (res: ApiResource) => {
    const key = resourceKey(res);
    if (monitors.has(key)) return;
    const own = !BUILTIN_KEYS.has(key);
    const informer = own ? new Informer(client, res) : ctx.informers.get(res as ResourceRef);
    monitors.set(key, { res, informer, own });
    informer.addHandler({
      onAdd(obj) {
        const k = itemKey(key, obj.metadata.namespace, obj.metadata.name!);
        index.set(k, obj);
        if (obj.metadata.ownerReferences?.length || obj.metadata.deletionTimestamp) queue.add(k);
      },
      onUpdate(old, obj) {
        const k = itemKey(key, obj.metadata.namespace, obj.metadata.name!);
        if (ownerSignature(old) === ownerSignature(obj)) return;
        index.set(k, obj);
        queue.add(k);
        // Owners waiting in the foreground may have been unblocked by a changed reference.
        const before = old.metadata.ownerReferences ?? [];
        const after = obj.metadata.ownerReferences ?? [];
        enqueueOwners(obj, before.filter((r) => !after.some((a) => deepEqual(a, r))));
      },
      onDelete(obj) {
        const k = itemKey(key, obj.metadata.namespace, obj.metadata.name!);
        index.remove(k);
        for (const dep of index.dependents(obj.metadata.uid)) queue.add(dep);
        enqueueOwners(obj);
      },
    });
    informer.start();
  };

  const syncMonitors = (resources: ApiResource[]) => {
    mapper.update(resources);
    const wanted = resources.filter((r) =>
      supports(r, "list", "watch", "delete") && !IGNORED_RESOURCES.has(resourceKey(r))
    );
    const keys = new Set(wanted.map((r) => resourceKey(r)));
    for (const r of wanted) watchResource(r);
    for (const [key, m] of monitors) {
      if (!keys.has(key) && m.own) {
        monitors.delete(key);
        void m.informer.stop();
      }
    }
  };

  const cached = (res: ApiResource, namespace: string, name: string): KubeObject | undefined =>
    monitors.get(resourceKey(res))?.informer.get(res.namespaced ? namespace : undefined, name);

  /** Classifies every owner reference of `obj`; owners the caches cannot confirm are read live. */
  const classify = async (obj: KubeObject): Promise<Map<string, OwnerState>> => {
    const states = new Map<string, OwnerState>();
    const ns = obj.metadata.namespace ?? "";
    for (const ref of obj.metadata.ownerReferences ?? []) {
      const res = mapper.forKind(ref.apiVersion, ref.kind);
      if (!res) {
        throw new Error(`unable to map owner kind ${ref.apiVersion}/${ref.kind} to a served resource`);
      }
      if (res.namespaced && !ns) {
        // A cluster-scoped object cannot have a namespaced owner: unresolvable, never collected.
        recorder.event(
          obj,
          "Warning",
          "OwnerRefInvalidNamespace",
          `ownerRef [${ref.apiVersion}/${ref.kind}, namespace: , name: ${ref.name}, uid: ${ref.uid}] does not exist in namespace ""`,
        );
        states.set(ref.uid, "solid");
        continue;
      }
      const hit = cached(res, ns, ref.name);
      if (hit && hit.metadata.uid === ref.uid) {
        states.set(ref.uid, ownerStateOf(hit, ref));
        continue;
      }
      const live = await client.tryGet(res, res.namespaced ? ns : "", ref.name);
      states.set(ref.uid, ownerStateOf(live, ref));
    }
    return states;
  };

  const refOf = (resource: string) => monitors.get(resource)?.res;

  /** Patches `metadata` of the live object (with its resourceVersion), retrying conflicts. */
  const patchLive = async (
    res: ApiResource,
    namespace: string,
    name: string,
    uid: string,
    change: (live: KubeObject) => Record<string, unknown> | null,
  ) => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const live = await client.tryGet(res, namespace, name);
      if (!live || live.metadata.uid !== uid) return;
      const meta = change(live);
      if (!meta) return;
      try {
        await client.patch(res, namespace, name, {
          metadata: { ...meta, resourceVersion: live.metadata.resourceVersion },
        });
        return;
      } catch (e) {
        if (isApiError(e, 404)) return;
        if (!isApiError(e, 409)) throw e;
      }
    }
    throw new Error(`too many conflicts patching ${res.plural} ${namespace}/${name}`);
  };

  const removeFinalizer = (res: ApiResource, obj: KubeObject, finalizer: string) =>
    patchLive(res, obj.metadata.namespace ?? "", obj.metadata.name!, obj.metadata.uid!, (live) => {
      const finalizers = live.metadata.finalizers ?? [];
      if (!finalizers.includes(finalizer)) return null;
      return { finalizers: finalizers.filter((f) => f !== finalizer) };
    });

  const processOwner = async (res: ApiResource, obj: KubeObject) => {
    const keyOf = new Map<KubeObject, ItemKey>();
    for (const k of index.dependents(obj.metadata.uid)) {
      const p = parseItemKey(k);
      const dep = monitors.get(p.resource)?.informer.get(p.namespace || undefined, p.name);
      if (dep) keyOf.set(dep, k);
    }
    const decision = decideOwner(obj, [...keyOf.keys()]);
    switch (decision.action) {
      case "orphan": {
        const uids = new Set([obj.metadata.uid!]);
        for (const dep of decision.dependents) {
          const depRes = refOf(parseItemKey(keyOf.get(dep)!).resource);
          if (!depRes) continue;
          await patchLive(
            depRes,
            dep.metadata.namespace ?? "",
            dep.metadata.name!,
            dep.metadata.uid!,
            (live) => {
              const refs = live.metadata.ownerReferences ?? [];
              const kept = withoutOwners(refs, uids);
              if (kept.length === refs.length) return null;
              return { ownerReferences: kept.length ? kept : null };
            },
          );
        }
        await removeFinalizer(res, obj, ORPHAN);
        return;
      }
      case "wait":
        for (const dep of decision.blocking) queue.add(keyOf.get(dep)!);
        return;
      case "removeFinalizer":
        await removeFinalizer(res, obj, decision.finalizer);
        return;
    }
  };

  const processDependent = async (res: ApiResource, obj: KubeObject) => {
    const hasDependents = index.hasDependents(obj.metadata.uid);
    const first = decideDependent(obj, await classify(obj), hasDependents);
    if (first.action === "none") return;
    // Decide again on the live object: the caches of different resources lag independently.
    const ns = obj.metadata.namespace ?? "";
    const live = await client.tryGet(res, ns, obj.metadata.name!);
    if (!live || live.metadata.uid !== obj.metadata.uid) return;
    const decision = decideDependent(live, await classify(live), hasDependents);
    if (decision.action === "patch") {
      await patchLive(res, ns, live.metadata.name!, live.metadata.uid!, (cur) => {
        if (!deepEqual(cur.metadata.ownerReferences ?? [], live.metadata.ownerReferences ?? [])) {
          throw new Error(`owner references of ${res.plural} ${ns}/${live.metadata.name} changed; retrying`);
        }
        return { ownerReferences: decision.ownerReferences.length ? decision.ownerReferences : null };
      });
    } else if (decision.action === "delete") {
      try {
        await client.delete(res, ns, live.metadata.name!, {
          propagationPolicy: decision.propagationPolicy,
          preconditions: { uid: live.metadata.uid },
        });
      } catch (e) {
        // Gone already, or replaced by another object of that name.
        if (!isApiError(e, 404) && !isApiError(e, 409)) throw e;
      }
    }
  };

  const reconcile = async (key: ItemKey) => {
    const { resource, namespace, name } = parseItemKey(key);
    const res = refOf(resource);
    if (!res) return;
    const obj = monitors.get(resource)!.informer.get(namespace || undefined, name);
    if (!obj) return;
    if (obj.metadata.deletionTimestamp) return await processOwner(res, obj);
    if (obj.metadata.ownerReferences?.length) await processDependent(res, obj);
  };

  const inner = queueController("garbage-collector-controller", queue, reconcile, ctx.options.workers ?? 8);
  const aborted = (signal: AbortSignal) =>
    new Promise<void>((r) =>
      signal.aborted ? r() : signal.addEventListener("abort", () => r(), { once: true })
    );
  return {
    name: inner.name,
    async run(signal) {
      // Discover until it works; start reconciling once every monitor has synced; then keep
      // rediscovering for new kinds.
      const firstSync = Promise.withResolvers<void>();
      const discoverLoop = (async () => {
        let synced = false;
        while (!signal.aborted) {
          try {
            syncMonitors((await discoverResources(client)).resources);
            if (!synced) {
              await Promise.race([
                Promise.all([...monitors.values()].map((m) => m.informer.synced())),
                aborted(signal),
              ]);
              synced = true;
              firstSync.resolve();
            }
          } catch (e) {
            if (!signal.aborted) {
              console.error(`garbage-collector-controller: discovery failed: ${(e as Error).message}`);
            }
          }
          await sleep(synced ? opts.rediscoveryMs ?? 30_000 : 1_000, signal);
        }
        firstSync.resolve();
      })();
      try {
        await firstSync.promise;
        if (signal.aborted) queue.shutdown();
        else await inner.run(signal);
      } finally {
        queue.shutdown();
        await discoverLoop;
        await Promise.all([...monitors.values()].filter((m) => m.own).map((m) => m.informer.stop()));
      }
    },
  };
}
