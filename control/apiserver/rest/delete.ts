/**
 * DELETE and DELETECOLLECTION: DeleteOptions (preconditions, propagationPolicy,
 * gracePeriodSeconds, dryRun), finalizers and `deletionTimestamp`, and the final removal.
 * @module
 */
import { parseLabelSelector } from "../../api/selector.ts";
import { badRequest, conflict, notFound } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import { list } from "../../store/mod.ts";
import { type RequestContext, requestBody } from "../context.ts";
import { decodeBody } from "../negotiate.ts";
import type { ApiServer } from "../server.ts";
import { FOREGROUND, ORPHAN, timestamp } from "./object_meta.ts";
import { fieldSelectorFor } from "./read.ts";
import { objectResponse, render, successStatus } from "./response.ts";
import type { DeleteOutcome } from "./strategy.ts";
import { isDryRun } from "./write.ts";

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun: boolean;
}

/** Reads DeleteOptions from the body (if any) and the query. */
export async function parseDeleteOptions(ctx: RequestContext): Promise<DeleteOptions> {
  const bytes = await requestBody(ctx);
  const body: unknown = bytes.length ? decodeBody(ctx.req.headers.get("content-type"), bytes) : {};
  return deleteOptionsFrom(body, ctx.query);
}

/** DeleteOptions from a decoded body (a DeleteOptions object) and the query. */
// deno-lint-ignore no-explicit-any
export function deleteOptionsFrom(body: any, q: URLSearchParams): DeleteOptions {
  if (body === null || typeof body !== "object") throw badRequest("DeleteOptions must be a JSON object");
  const opts: DeleteOptions = { dryRun: isDryRun(q) || (Array.isArray(body.dryRun) && body.dryRun.includes("All")) };
  const grace = q.get("gracePeriodSeconds") ?? body.gracePeriodSeconds;
  if (grace !== undefined && grace !== null && grace !== "") {
    const n = Number(grace);
    if (!Number.isInteger(n)) throw badRequest(`gracePeriodSeconds: Invalid value: "${grace}": must be an integer`);
    opts.gracePeriodSeconds = Math.max(0, n);
  }
  let policy = q.get("propagationPolicy") ?? body.propagationPolicy;
  const orphan = q.get("orphanDependents") ?? body.orphanDependents;
  if (!policy && orphan !== undefined && orphan !== null) policy = String(orphan) === "true" ? "Orphan" : "Background";
  if (policy) {
    if (!["Orphan", "Background", "Foreground"].includes(policy)) {
      throw badRequest(`propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`);
    }
    opts.propagationPolicy = policy;
  }
  if (body.preconditions) opts.preconditions = body.preconditions;
  return opts;
}

function checkPreconditions(ctx: RequestContext, obj: KubeObject, pre: DeleteOptions["preconditions"]) {
  if (!pre) return;
  const gr = ctx.served.store.gr;
  if (pre.uid && pre.uid !== obj.metadata.uid) {
    throw conflict(gr, obj.metadata.name!, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid}`);
  }
  if (pre.resourceVersion && pre.resourceVersion !== obj.metadata.resourceVersion) {
    throw conflict(
      gr,
      obj.metadata.name!,
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion}`,
    );
  }
}

/** Finalizers after applying a propagation policy, as upstream's `deletionFinalizersForGarbageCollection`. */
function finalizersFor(obj: KubeObject, policy: DeleteOptions["propagationPolicy"]): string[] {
  const current = obj.metadata.finalizers ?? [];
  if (policy === "Foreground") return [...current.filter((f) => f !== ORPHAN && f !== FOREGROUND), FOREGROUND];
  if (policy === "Orphan") return [...current.filter((f) => f !== ORPHAN && f !== FOREGROUND), ORPHAN];
  if (policy === "Background") return current.filter((f) => f !== ORPHAN && f !== FOREGROUND);
  return current;
}

/** Deletes one object following DeleteOptions; returns whether it is gone and its last state. */
export async function deleteOne(
  server: ApiServer,
  ctx: RequestContext,
  name: string,
  namespace: string,
  opts: DeleteOptions,
): Promise<DeleteOutcome> {
  const { served } = ctx;
  const strategy = server.strategy(served);
  const cur = await server.store.get(served.store, namespace, name);
  if (!cur) throw notFound(served.store.gr, name);
  checkPreconditions(ctx, cur, opts.preconditions);
  for (const p of server.admission) {
    await p.validate?.({
      operation: "DELETE",
      def: served.def,
      object: null,
      oldObject: cur,
      namespace,
      name,
      subresource: "",
      user: ctx.user,
      dryRun: opts.dryRun,
    });
  }
  const started = await strategy.beginDelete?.(server, cur, opts);
  // An object already finalized with no grace left (its last finalizer went while an earlier
  // DELETE was being applied) is removed now, as upstream's Delete does; it would wait forever.
  if (started) return started.deleted || opts.dryRun ? started : await finishDeleteIfFinalized(server, ctx, started.object);
  const finalizers = finalizersFor(cur, opts.propagationPolicy);
  if (finalizers.length) {
    if (opts.dryRun) return { deleted: false, object: cur };
    const updated = await server.store.update(served.store, namespace, name, (obj) => {
      checkPreconditions(ctx, obj, opts.preconditions);
      obj.metadata.finalizers = finalizersFor(obj, opts.propagationPolicy);
      if (!obj.metadata.deletionTimestamp) {
        obj.metadata.deletionTimestamp = timestamp(server.now());
        if (served.def.generation) obj.metadata.generation = (obj.metadata.generation ?? 0) + 1;
      }
      obj.metadata.deletionGracePeriodSeconds = 0;
      return obj;
    });
    await strategy.afterWrite?.(server, updated, false);
    // The finalizers read above may have gone before this update applied: then it goes now.
    return await finishDeleteIfFinalized(server, ctx, updated);
  }
  return await removeNow(server, ctx, cur, opts.dryRun);
}

/** The final removal from storage, with the kind's release mutations. */
export async function removeNow(
  server: ApiServer,
  ctx: RequestContext,
  cur: KubeObject,
  dryRun: boolean,
): Promise<DeleteOutcome> {
  const { served } = ctx;
  if (dryRun) return { deleted: true, object: cur };
  const strategy = server.strategy(served);
  const release = strategy.onDelete?.(server, cur) ?? {};
  const deleted = await server.store.delete(served.store, cur.metadata.namespace ?? "", cur.metadata.name!, {
    ...release,
    precondition: (now) => {
      if (now.metadata.uid !== cur.metadata.uid) throw notFound(served.store.gr, cur.metadata.name!);
    },
  });
  await strategy.afterWrite?.(server, deleted, true);
  return { deleted: true, object: deleted };
}

/**
 * After an update: an object being deleted whose finalizers are all gone (and whose grace period
 * is over) is removed, as upstream's `ShouldDeleteDuringUpdate`.
 */
export async function finishDeleteIfFinalized(
  server: ApiServer,
  ctx: RequestContext,
  obj: KubeObject,
): Promise<DeleteOutcome> {
  const m = obj.metadata;
  if (!m.deletionTimestamp || (m.finalizers?.length ?? 0) > 0 || (m.deletionGracePeriodSeconds ?? 0) > 0) {
    return { deleted: false, object: obj };
  }
  if (server.strategy(ctx.served).mayRemove?.(obj) === false) return { deleted: false, object: obj };
  try {
    return await removeNow(server, ctx, obj, false);
  } catch (e) {
    if ((e as { code?: number }).code === 404) return { deleted: true, object: obj };
    throw e;
  }
}

/** Kinds whose DELETE returns the object rather than a Status, as upstream. */
function returnsObject(ctx: RequestContext): boolean {
  return ctx.served.custom || ctx.served.store.key === "pods";
}

export async function deleteObject(server: ApiServer, ctx: RequestContext): Promise<Response> {
  const opts = await parseDeleteOptions(ctx);
  const out = await deleteOne(server, ctx, ctx.info.name, ctx.info.namespace, opts);
  if (!out.deleted) return objectResponse(ctx, out.object, 202);
  if (returnsObject(ctx)) return objectResponse(ctx, out.object, 200);
  return render(ctx, { encoding: ctx.format.encoding, shape: "object" }, 200, () => successStatus(ctx, out.object));
}

export async function deleteCollection(server: ApiServer, ctx: RequestContext): Promise<Response> {
  const { served, info, query } = ctx;
  const opts = await parseDeleteOptions(ctx);
  const result = await list(server.store, served.store, {
    namespace: served.def.namespaced && info.namespace ? info.namespace : undefined,
    labelSelector: parseLabelSelector(query.get("labelSelector")),
    fieldSelector: fieldSelectorFor(served.def, query.get("fieldSelector")),
  });
  const items: KubeObject[] = [];
  for (const obj of result.items) {
    try {
      const out = await deleteOne(server, ctx, obj.metadata.name!, obj.metadata.namespace ?? "", opts);
      items.push(out.object);
    } catch (e) {
      if ((e as { code?: number }).code !== 404) throw e;
    }
  }
  return render(ctx, { encoding: ctx.format.encoding, shape: "object" }, 200, () => ({
    kind: served.def.listKind ?? `${served.def.kind}List`,
    apiVersion: served.apiVersion,
    metadata: { resourceVersion: result.resourceVersion },
    items,
  }));
}
