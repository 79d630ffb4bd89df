/**
 * What a request without credentials may reach: health, version, discovery and the OpenAPI
 * documents. Everything else answers 401 Unauthorized. (Upstream lets anonymous requests through
 * to the authorizer, whose default bindings give `system:unauthenticated` only
 * `system:public-info-viewer`; the set below is that plus discovery, stated as a path rule.)
 *
 * @example
 * ```ts
 * isPublicPath("/livez/ping"); // true
 * isPublicPath("/api/v1/namespaces"); // false
 * ```
 * @module
 */

const EXACT = new Set(["/healthz", "/livez", "/readyz", "/version", "/api", "/apis", "/openapi/v3", "/openapi/v2"]);

/** Whether an anonymous request may read `path`. */
export function isPublicPath(path: string): boolean {
  const p = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  if (EXACT.has(p)) return true;
  if (/^\/(healthz|livez|readyz)\/[^/]+$/.test(p)) return true;
  if (p.startsWith("/openapi/v3/")) return true;
  // Discovery documents: /api/v1, /apis/{group}, /apis/{group}/{version} (no resource segment).
  if (/^\/api\/[^/]+$/.test(p)) return true;
  if (/^\/apis\/[^/]+(\/[^/]+)?$/.test(p)) return true;
  return false;
}
