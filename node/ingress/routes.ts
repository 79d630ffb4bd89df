/**
 * Ingress routing, pure: the Ingresses of our class merged into one table, and the match of a
 * request's host and path against it, with upstream's precedence.
 *
 * - Host: a rule whose `host` equals the request's host wins over a wildcard rule (`*.foo.com`
 *   matches exactly one more label: `bar.foo.com`, not `foo.com` or `a.bar.foo.com`), which
 *   wins over rules without a host. The most specific host that has rules is used; a request
 *   matching none of its paths gets the default backend (no fall-through to less specific
 *   hosts, as ingress-nginx's server blocks).
 * - Path: `Exact` matches the path exactly (case-sensitive); `Prefix` matches element-wise on
 *   `/` (`/foo` matches `/foo`, `/foo/` and `/foo/bar`, not `/foobar`; a trailing slash in the
 *   rule is ignored); `ImplementationSpecific` is treated as `Prefix`. An Exact match beats any
 *   Prefix match; among Prefix matches the longest wins; on a tie the oldest Ingress wins.
 * - Default backend: `spec.defaultBackend` of the oldest Ingress of the class that has one.
 * @module
 */
import type { KubeObject } from "../../control/api/types.ts";

/** Where a request goes. */
export interface Backend {
  namespace: string;
  service: string;
  /** A service port number, or a port name. */
  port: number | string;
  /** The Ingress it came from (`ns/name`). */
  ingress: string;
}

interface PathRule {
  path: string;
  type: "Exact" | "Prefix";
  backend: Backend;
  /** Creation order (older first). */
  order: number;
}

export interface RouteTable {
  /** Exact hosts → their path rules. */
  hosts: Map<string, PathRule[]>;
  /** Wildcard suffixes (`.foo.com` for `*.foo.com`) → their path rules. */
  wildcards: Map<string, PathRule[]>;
  /** Rules without a host. */
  any: PathRule[];
  defaultBackend?: Backend;
  /** TLS hosts → `ns/secretName`. */
  tls: Map<string, string>;
}

function backendOf(ns: string, ingress: string, b: { service?: { name: string; port?: { number?: number; name?: string } } }) {
  if (!b?.service?.name) return undefined;
  const port = b.service.port?.number || b.service.port?.name;
  if (port === undefined || port === "") return undefined;
  return { namespace: ns, service: b.service.name, port, ingress };
}

/** Orders Ingresses oldest first (creationTimestamp, then namespace/name). */
function byAge(a: KubeObject, b: KubeObject): number {
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Builds the table from the Ingresses this controller owns. */
export function buildRoutes(ingresses: KubeObject[]): RouteTable {
  const table: RouteTable = { hosts: new Map(), wildcards: new Map(), any: [], tls: new Map() };
  let order = 0;
  for (const ing of [...ingresses].sort(byAge)) {
    const ns = ing.metadata.namespace!;
    const key = `${ns}/${ing.metadata.name}`;
    const spec = ing.spec ?? {};
    if (!table.defaultBackend && spec.defaultBackend) table.defaultBackend = backendOf(ns, key, spec.defaultBackend);
    for (const t of spec.tls ?? []) {
      if (!t.secretName) continue;
      for (const h of t.hosts ?? []) if (!table.tls.has(h.toLowerCase())) table.tls.set(h.toLowerCase(), `${ns}/${t.secretName}`);
    }
    for (const rule of spec.rules ?? []) {
      const host = String(rule.host ?? "").toLowerCase();
      const list = host.startsWith("*.")
        ? table.wildcards.get(host.slice(1)) ?? table.wildcards.set(host.slice(1), []).get(host.slice(1))!
        : host
        ? table.hosts.get(host) ?? table.hosts.set(host, []).get(host)!
        : table.any;
      for (const p of rule.http?.paths ?? []) {
        const backend = backendOf(ns, key, p.backend);
        if (!backend) continue;
        const type = p.pathType === "Exact" ? "Exact" : "Prefix";
        let path = String(p.path || "/");
        if (type === "Prefix" && path.length > 1) path = path.replace(/\/+$/, "") || "/";
        list.push({ path, type, backend, order: order++ });
      }
    }
  }
  return table;
}

/** Whether a Prefix rule's path matches the request path element-wise. */
export function prefixMatches(rule: string, path: string): boolean {
  if (rule === "/") return true;
  return path === rule || path.startsWith(`${rule}/`);
}

function bestPath(rules: PathRule[], path: string): PathRule | undefined {
  let best: PathRule | undefined;
  for (const r of rules) {
    const hit = r.type === "Exact" ? r.path === path : prefixMatches(r.path, path);
    if (!hit) continue;
    if (!best) {
      best = r;
      continue;
    }
    const rank = (x: PathRule) => (x.type === "Exact" ? 1e6 : 0) + x.path.length;
    if (rank(r) > rank(best) || (rank(r) === rank(best) && r.order < best.order)) best = r;
  }
  return best;
}

/** The rules for a host (exact, else wildcard, else host-less), or undefined when none exist. */
function rulesFor(table: RouteTable, host: string): PathRule[] | undefined {
  const exact = table.hosts.get(host);
  if (exact) return exact;
  const dot = host.indexOf(".");
  if (dot > 0) {
    const wild = table.wildcards.get(host.slice(dot));
    if (wild) return wild;
  }
  return table.any.length ? table.any : undefined;
}

/** The request host without port, lower case. */
export function hostOf(header: string | undefined): string {
  const h = (header ?? "").toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  return h.replace(/:\d+$/, "");
}

/** The backend for a request, or undefined (404). */
export function route(table: RouteTable, host: string, path: string): Backend | undefined {
  const rules = rulesFor(table, host);
  const hit = rules ? bestPath(rules, path) : undefined;
  return hit?.backend ?? table.defaultBackend;
}

/** The `ns/secret` serving TLS for an SNI name (exact, then `*.` wildcard). */
export function tlsSecretFor(table: RouteTable, servername: string): string | undefined {
  const name = servername.toLowerCase();
  const exact = table.tls.get(name);
  if (exact) return exact;
  const dot = name.indexOf(".");
  return dot > 0 ? table.tls.get(`*${name.slice(dot)}`) : undefined;
}
