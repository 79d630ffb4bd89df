/**
 * OpenAPI v3 documents, written from our own registry: an index at `/openapi/v3` and one document
 * per group-version listing every path and operation with `x-kubernetes-group-version-kind`,
 * `x-kubernetes-action`, the query parameters (including `fieldValidation`) and the patch content
 * types. That is what lets `kubectl apply` leave field validation to the server.
 *
 * The documents carry no `components.schemas`: kubectl then computes strategic merge patches from
 * its compiled-in types, which agree with our server's patch metadata (see docs/api.md).
 * @module
 */
import type { ResourceRegistry, Served } from "./resources.ts";

const PATCH_TYPES_BUILTIN = [
  "application/apply-patch+yaml",
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
];
const PATCH_TYPES_CUSTOM = ["application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json"];

const q = (name: string, description: string, type = "string") => ({
  name,
  in: "query",
  description,
  schema: { type, uniqueItems: true },
});

const P = {
  dryRun: q("dryRun", "When present, indicates that modifications should not be persisted. Valid value: All"),
  fieldManager: q("fieldManager", "fieldManager is a name associated with the actor or entity that is making these changes."),
  fieldValidation: q(
    "fieldValidation",
    "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore (drop unknown and duplicate fields silently), Warn (drop them with a warning header; the default), Strict (fail the request with BadRequest).",
  ),
  force: q("force", "Force is going to \"force\" Apply requests.", "boolean"),
  pretty: q("pretty", "If 'true', then the output is pretty printed."),
  labelSelector: q("labelSelector", "A selector to restrict the list of returned objects by their labels."),
  fieldSelector: q("fieldSelector", "A selector to restrict the list of returned objects by their fields."),
  limit: q("limit", "limit is a maximum number of responses to return for a list call.", "integer"),
  continue: q("continue", "The continue option should be set when retrieving more results from the server."),
  resourceVersion: q("resourceVersion", "resourceVersion sets a constraint on what resource versions a request may be served from."),
  resourceVersionMatch: q("resourceVersionMatch", "resourceVersionMatch determines how resourceVersion is applied to list calls."),
  timeoutSeconds: q("timeoutSeconds", "Timeout for the list/watch call.", "integer"),
  watch: q("watch", "Watch for changes to the described resources.", "boolean"),
  allowWatchBookmarks: q("allowWatchBookmarks", "allowWatchBookmarks requests watch events with type \"BOOKMARK\".", "boolean"),
  gracePeriodSeconds: q("gracePeriodSeconds", "The duration in seconds before the object should be deleted.", "integer"),
  propagationPolicy: q("propagationPolicy", "Whether and how garbage collection will be performed."),
};

const pathParam = (name: string) => ({ name, in: "path", required: true, schema: { type: "string", uniqueItems: true } });

function jsonBody() {
  return {
    content: { "application/json": { schema: { type: "object" } }, "application/yaml": { schema: { type: "object" } } },
    required: true,
  };
}

function ok(description = "OK") {
  return { description, content: { "application/json": { schema: { type: "object" } } } };
}

function operations(s: Served, gvk: Record<string, string>, subresource: string) {
  const tagged = (action: string, extra: Record<string, unknown>) => ({
    ...extra,
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": gvk,
  });
  const patchTypes = s.custom ? PATCH_TYPES_CUSTOM : PATCH_TYPES_BUILTIN;
  const item = {
    get: tagged("get", { operationId: `read${s.def.kind}${subresource}`, responses: { "200": ok() } }),
    put: tagged("put", {
      operationId: `replace${s.def.kind}${subresource}`,
      parameters: [P.dryRun, P.fieldManager, P.fieldValidation],
      requestBody: jsonBody(),
      responses: { "200": ok(), "201": ok("Created") },
    }),
    patch: tagged("patch", {
      operationId: `patch${s.def.kind}${subresource}`,
      parameters: [P.dryRun, P.fieldManager, P.fieldValidation, P.force],
      requestBody: {
        content: Object.fromEntries(patchTypes.map((t) => [t, { schema: { type: "object" } }])),
        required: true,
      },
      responses: { "200": ok(), "201": ok("Created") },
    }),
  };
  return item;
}

/** The document for one group-version (`api/v1` or `apis/{group}/{version}`). */
export function openApiDocument(registry: ResourceRegistry, group: string, version: string) {
  const paths: Record<string, unknown> = {};
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  for (const s of registry.all().filter((s) => s.def.group === group && s.def.version === version)) {
    const d = s.def;
    const gvk = { group: d.group, version: d.version, kind: d.kind };
    const nsPart = d.namespaced ? "/namespaces/{namespace}" : "";
    const params = [...(d.namespaced ? [pathParam("namespace")] : []), P.pretty];
    const collection = `${base}${nsPart}/${d.plural}`;
    const tagged = (action: string, extra: Record<string, unknown>) => ({
      ...extra,
      "x-kubernetes-action": action,
      "x-kubernetes-group-version-kind": gvk,
    });
    paths[collection] = {
      parameters: params,
      get: tagged("list", {
        operationId: `list${d.kind}`,
        parameters: [
          P.allowWatchBookmarks,
          P.continue,
          P.fieldSelector,
          P.labelSelector,
          P.limit,
          P.resourceVersion,
          P.resourceVersionMatch,
          P.timeoutSeconds,
          P.watch,
        ],
        responses: { "200": ok() },
      }),
      post: tagged("post", {
        operationId: `create${d.kind}`,
        parameters: [P.dryRun, P.fieldManager, P.fieldValidation],
        requestBody: jsonBody(),
        responses: { "200": ok(), "201": ok("Created"), "202": ok("Accepted") },
      }),
      delete: tagged("deletecollection", {
        operationId: `deleteCollection${d.kind}`,
        parameters: [P.dryRun, P.gracePeriodSeconds, P.propagationPolicy, P.labelSelector, P.fieldSelector],
        responses: { "200": ok() },
      }),
    };
    if (d.namespaced) {
      paths[`${base}/${d.plural}`] = {
        parameters: [P.pretty],
        get: tagged("list", { operationId: `list${d.kind}ForAllNamespaces`, responses: { "200": ok() } }),
      };
    }
    const item = `${collection}/{name}`;
    paths[item] = {
      parameters: [pathParam("name"), ...params],
      ...operations(s, gvk, ""),
      delete: tagged("delete", {
        operationId: `delete${d.kind}`,
        parameters: [P.dryRun, P.gracePeriodSeconds, P.propagationPolicy],
        responses: { "200": ok(), "202": ok("Accepted") },
      }),
    };
    if (d.subresources?.status) {
      paths[`${item}/status`] = { parameters: [pathParam("name"), ...params], ...operations(s, gvk, "Status") };
    }
    if (d.subresources?.scale) {
      const scaleGvk = { group: "autoscaling", version: "v1", kind: "Scale" };
      paths[`${item}/scale`] = {
        parameters: [pathParam("name"), ...params],
        ...operations({ ...s, custom: s.custom }, scaleGvk, "Scale"),
      };
    }
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.0" },
    paths,
    components: {},
  };
}

/** `/openapi/v3`: one entry per served group-version, with a hash that changes with the registry. */
export function openApiIndex(registry: ResourceRegistry, hashes: (gv: string) => string) {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const g of registry.groups()) {
    for (const v of registry.versions(g)) {
      const gv = g ? `apis/${g}/${v}` : `api/${v}`;
      paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${hashes(gv)}` };
    }
  }
  return { paths };
}
