/**
 * Response rendering: objects, lists, Tables and PartialObjectMetadata, in the negotiated encoding.
 * @module
 */
import type { ResourceDef, TableColumn } from "../../api/resource.ts";
import type { KubeObject } from "../../api/types.ts";
import type { RequestContext } from "../context.ts";
import { encodeBody, type ResponseFormat } from "../negotiate.ts";

const DEFAULT_COLUMNS: TableColumn[] = [
  { name: "Name", type: "string", format: "name", description: "Name must be unique within a namespace." },
  { name: "Created At", type: "date", description: "CreationTimestamp is a timestamp representing the server time when this object was created." },
];

/** The Table column definitions of a kind (upstream's default when the kind has none). */
export function columnsOf(def: ResourceDef): TableColumn[] {
  return def.table?.columns ?? DEFAULT_COLUMNS;
}

function cellsOf(def: ResourceDef, obj: KubeObject, now: number): unknown[] {
  if (def.table) return def.table.cells(obj, now);
  return [obj.metadata.name, obj.metadata.creationTimestamp];
}

/** PartialObjectMetadata of an object. */
export function partialMetadata(obj: KubeObject) {
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: obj.metadata };
}

function rowObject(obj: KubeObject, include: string | null) {
  if (include === "None") return undefined;
  if (include === "Object") return obj;
  return partialMetadata(obj);
}

/** A `meta.k8s.io/v1` Table of some objects. */
export function toTable(
  def: ResourceDef,
  objects: KubeObject[],
  opts: { resourceVersion?: string; continue?: string; include: string | null; columns: boolean; now: number },
) {
  const table: Record<string, unknown> = {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: {
      ...(opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {}),
      ...(opts.continue ? { continue: opts.continue } : {}),
    },
  };
  if (opts.columns) table.columnDefinitions = columnsOf(def);
  table.rows = objects.map((o) => {
    const row: Record<string, unknown> = { cells: cellsOf(def, o, opts.now) };
    const object = rowObject(o, opts.include);
    if (object) row.object = object;
    return row;
  });
  return table;
}

/** Ensures apiVersion and kind are set, as the API returns them. */
export function withTypeMeta(obj: KubeObject, apiVersion: string, kind: string): KubeObject {
  if (obj.apiVersion === apiVersion && obj.kind === kind) return obj;
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  return { apiVersion, kind, ...rest } as KubeObject;
}

/** A response's headers, as pairs (a Headers object would be copied again by the Response). */
export function headers(ctx: RequestContext, contentType: string): [string, string][] {
  const h: [string, string][] = [["Content-Type", contentType], ["Cache-Control", "no-cache, private"]];
  for (const w of ctx.warnings) h.push(["Warning", `299 - ${JSON.stringify(w)}`]);
  return h;
}

/** Renders one object in the requested shape. */
export function objectResponse(ctx: RequestContext, obj: KubeObject, status = 200): Response {
  const { def, apiVersion } = ctx.served;
  const typed = withTypeMeta(obj, apiVersion, def.kind);
  return render(ctx, ctx.format, status, () =>
    ctx.format.shape === "table"
      ? toTable(def, [typed], {
        resourceVersion: obj.metadata.resourceVersion,
        include: ctx.query.get("includeObject"),
        columns: true,
        now: Date.now(),
      })
      : ctx.format.shape === "metadata"
      ? partialMetadata(typed)
      : typed);
}

const jsonCache = new WeakMap<object, string>();

/** The JSON text of an object if {@linkcode jsonOf} already cached it. */
export function cachedJsonOf(obj: KubeObject): string | undefined {
  return jsonCache.get(obj);
}

/**
 * The JSON text of an object, cached per object: stored versions are immutable and shared, so
 * listing or watching the same version again reuses its text.
 */
export function jsonOf(obj: KubeObject): string {
  let text = jsonCache.get(obj);
  if (text === undefined) {
    text = JSON.stringify(obj);
    jsonCache.set(obj, text);
  }
  return text;
}

/** Renders a list in the requested shape. */
export function listResponse(
  ctx: RequestContext,
  items: KubeObject[],
  meta: { resourceVersion: string; continue?: string },
): Response {
  const { def, apiVersion } = ctx.served;
  if (ctx.format.encoding === "json" && ctx.format.shape === "object") {
    // Fast path: splice the cached JSON of each item instead of serializing the list anew.
    const items_ = items.map((o) => jsonOf(withTypeMeta(o, apiVersion, def.kind)));
    const head = JSON.stringify({ kind: def.listKind ?? `${def.kind}List`, apiVersion, metadata: meta });
    const body = `${head.slice(0, -1)},"items":[${items_.join(",")}]}`;
    return new Response(ctx.req.method === "HEAD" ? null : body, { status: 200, headers: headers(ctx, "application/json") });
  }
  return render(ctx, ctx.format, 200, () => {
    if (ctx.format.shape === "table") {
      return toTable(def, items, {
        ...meta,
        include: ctx.query.get("includeObject"),
        columns: ctx.query.get("includeObject") !== "None" || true,
        now: Date.now(),
      });
    }
    if (ctx.format.shape === "metadata") {
      return {
        kind: "PartialObjectMetadataList",
        apiVersion: "meta.k8s.io/v1",
        metadata: meta,
        items: items.map((o) => partialMetadata(withTypeMeta(o, apiVersion, def.kind))),
      };
    }
    return {
      kind: def.listKind ?? `${def.kind}List`,
      apiVersion,
      metadata: meta,
      items: items.map((o) => withTypeMeta(o, apiVersion, def.kind)),
    };
  });
}

export function render(ctx: RequestContext, format: ResponseFormat, status: number, body: () => unknown): Response {
  const { body: bytes, contentType } = encodeBody(body(), format.encoding);
  return new Response(ctx.req.method === "HEAD" ? null : bytes as BodyInit, { status, headers: headers(ctx, contentType) });
}

/** A `Status` of success, as DELETE returns for most kinds. */
export function successStatus(ctx: RequestContext, obj: KubeObject) {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: { name: obj.metadata.name, group: ctx.served.def.group || undefined, kind: ctx.served.def.plural, uid: obj.metadata.uid },
  };
}
