/**
 * Parses a request path into Kubernetes request attributes (upstream's `RequestInfo`): verb, API
 * group and version, namespace, resource, name and subresource.
 *
 * @example
 * ```ts
 * parseRequestInfo("GET", "/apis/apps/v1/namespaces/default/deployments/web", new URLSearchParams());
 * // { isResourceRequest: true, verb: "get", group: "apps", version: "v1", namespace: "default",
 * //   resource: "deployments", name: "web", subresource: "" , ... }
 * ```
 * @module
 */

export type Verb =
  | "get"
  | "list"
  | "watch"
  | "create"
  | "update"
  | "patch"
  | "delete"
  | "deletecollection"
  | "connect";

export interface RequestInfo {
  isResourceRequest: boolean;
  path: string;
  verb: Verb | string;
  group: string;
  version: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** Path segments after the subresource (the `/proxy/...` tail). */
  parts: string[];
}

const METHOD_VERBS: Record<string, Verb> = {
  POST: "create",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete",
  GET: "get",
  HEAD: "get",
};

/** A path segment, percent-decoded (most have no escapes: no decoding, no new string). */
function decodeSegment(s: string): string {
  return s.includes("%") ? decodeURIComponent(s) : s;
}

/** Parses `/api/v1/...` and `/apis/{group}/{version}/...` paths; anything else is a non-resource request. */
export function parseRequestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const info: RequestInfo = {
    isResourceRequest: false,
    path,
    verb: method.toLowerCase(),
    group: "",
    version: "",
    namespace: "",
    resource: "",
    subresource: "",
    name: "",
    parts: [],
  };
  const segs = path.split("/").filter((s) => s !== "").map(decodeSegment);
  let i: number;
  if (segs[0] === "api" && segs.length >= 2) {
    info.version = segs[1];
    i = 2;
  } else if (segs[0] === "apis" && segs.length >= 3) {
    info.group = segs[1];
    info.version = segs[2];
    i = 3;
  } else {
    return info;
  }
  if (i >= segs.length) return info; // /api/v1 or /apis/g/v: discovery
  info.isResourceRequest = true;
  info.verb = METHOD_VERBS[method.toUpperCase()] ?? method.toLowerCase();

  let watchPath = false;
  if (segs[i] === "watch") {
    watchPath = true;
    i++;
  }
  let rest = segs.slice(i);
  if (rest[0] === "namespaces") {
    if (rest.length >= 2) {
      info.namespace = rest[1];
      if (rest.length >= 3) rest = rest.slice(2);
      else {
        // /namespaces/{name}: the namespace object itself
        info.resource = "namespaces";
        info.name = rest[1];
        info.namespace = "";
        rest = [];
      }
    } else {
      info.resource = "namespaces";
      rest = [];
    }
  }
  if (rest.length) {
    info.resource = rest[0];
    if (rest.length >= 2) info.name = rest[1];
    if (rest.length >= 3) info.subresource = rest[2];
    if (rest.length >= 4) info.parts = rest.slice(3);
  }
  // A namespace's own subresources: /api/v1/namespaces/{name}/status|finalize
  if (info.namespace && !info.name && ["status", "finalize"].includes(info.resource) && rest.length === 1) {
    info.subresource = info.resource;
    info.resource = "namespaces";
    info.name = info.namespace;
    info.namespace = "";
  }

  const isWatch = watchPath || ["true", "1"].includes(query.get("watch") ?? "");
  if (info.verb === "get") {
    if (isWatch) info.verb = "watch";
    else if (!info.name) info.verb = "list";
  } else if (info.verb === "delete" && !info.name) {
    info.verb = "deletecollection";
  }
  if (["exec", "attach", "portforward", "proxy"].includes(info.subresource)) info.verb = "connect";
  return info;
}
