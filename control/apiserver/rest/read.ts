/**
 * GET of one object and LIST of a collection.
 * @module
 */
import { type FieldSelector, parseFieldSelector, parseLabelSelector } from "../../api/selector.ts";
import { badRequest, notFound } from "../../api/status.ts";
import type { ResourceDef } from "../../api/resource.ts";
import { selectableFields } from "../../api/resource.ts";
import { list } from "../../store/mod.ts";
import type { RequestContext } from "../context.ts";
import type { ApiServer } from "../server.ts";
import { listResponse, objectResponse, render } from "./response.ts";
import { scaleOf } from "./scale.ts";

export async function getObject(server: ApiServer, ctx: RequestContext): Promise<Response> {
  const { served, info } = ctx;
  const obj = await server.store.get(served.store, info.namespace, info.name);
  if (!obj) throw notFound(served.store.gr, info.name);
  if (info.subresource === "scale") return scaleResponse(ctx, obj);
  return objectResponse(ctx, obj);
}

export function scaleResponse(ctx: RequestContext, obj: Parameters<typeof scaleOf>[1]): Response {
  return render(ctx, { encoding: ctx.format.encoding, shape: "object" }, 200, () => scaleOf(ctx.served.def, obj));
}

/** Parses and checks a `fieldSelector` against the fields this kind supports. */
export function fieldSelectorFor(def: ResourceDef, raw: string | null): FieldSelector {
  const selector = parseFieldSelector(raw);
  if (!selector.length) return selector;
  let known: string[];
  try {
    known = Object.keys(selectableFields(def, { metadata: {} }));
  } catch {
    known = ["metadata.name", "metadata.namespace"];
  }
  for (const r of selector) {
    if (!known.includes(r.field)) {
      throw badRequest(`field label not supported: ${r.field}`);
    }
  }
  return selector;
}

export function parseLimit(raw: string | null): number | undefined {
  if (raw === null || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`limit: Invalid value: "${raw}": must be a non-negative integer`);
  return n || undefined;
}

export async function listObjects(server: ApiServer, ctx: RequestContext): Promise<Response> {
  const { served, info, query } = ctx;
  const result = await list(server.store, served.store, {
    namespace: served.def.namespaced && info.namespace ? info.namespace : undefined,
    labelSelector: parseLabelSelector(query.get("labelSelector")),
    fieldSelector: fieldSelectorFor(served.def, query.get("fieldSelector")),
    limit: parseLimit(query.get("limit")),
    continue: query.get("continue") ?? undefined,
    resourceVersion: query.get("resourceVersion") ?? undefined,
    resourceVersionMatch: query.get("resourceVersionMatch") ?? undefined,
  });
  return listResponse(ctx, result.items, {
    resourceVersion: result.resourceVersion,
    ...(result.continue ? { continue: result.continue } : {}),
  });
}
