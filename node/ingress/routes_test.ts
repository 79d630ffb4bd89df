import assert from "node:assert/strict";
import type { KubeObject } from "../../control/api/types.ts";
import { buildRoutes, hostOf, prefixMatches, route, tlsSecretFor } from "./routes.ts";

function ing(
  name: string,
  created: string,
  rules: { host?: string; paths: [string, string, string][] }[],
  extra: Record<string, unknown> = {},
): KubeObject {
  return {
    metadata: { name, namespace: "default", creationTimestamp: created },
    spec: {
      rules: rules.map((r) => ({
        ...(r.host ? { host: r.host } : {}),
        http: {
          paths: r.paths.map(([path, pathType, svc]) => ({
            path,
            pathType,
            backend: { service: { name: svc, port: { number: 80 } } },
          })),
        },
      })),
      ...extra,
    },
  };
}

const svc = (b: { service: string } | undefined) => b?.service;

Deno.test("Prefix matches element-wise, ignoring a trailing slash in the rule", () => {
  assert.ok(prefixMatches("/foo", "/foo"));
  assert.ok(prefixMatches("/foo", "/foo/"));
  assert.ok(prefixMatches("/foo", "/foo/bar"));
  assert.ok(!prefixMatches("/foo", "/foobar"));
  assert.ok(prefixMatches("/", "/anything"));
  const t = buildRoutes([ing("a", "2024-01-01T00:00:00Z", [{ paths: [["/aaa/bbb/", "Prefix", "s"]] }])]);
  assert.equal(svc(route(t, "x", "/aaa/bbb")), "s");
  assert.equal(route(t, "x", "/aaa/bbbxyz"), undefined);
});

Deno.test("Exact beats Prefix, the longest Prefix wins, and ties go to the oldest Ingress", () => {
  const t = buildRoutes([
    ing("newer", "2024-02-01T00:00:00Z", [{ host: "shop.test", paths: [["/api", "Prefix", "newer-api"]] }]),
    ing("older", "2024-01-01T00:00:00Z", [{
      host: "shop.test",
      paths: [["/", "Prefix", "root"], ["/api", "Prefix", "api"], ["/api/v1", "ImplementationSpecific", "v1"], [
        "/api/v1/items",
        "Exact",
        "items",
      ]],
    }]),
  ]);
  assert.equal(svc(route(t, "shop.test", "/")), "root");
  assert.equal(svc(route(t, "shop.test", "/api/x")), "api", "the older Ingress wins the tie");
  assert.equal(svc(route(t, "shop.test", "/api/v1/x")), "v1");
  assert.equal(svc(route(t, "shop.test", "/api/v1/items")), "items");
  assert.equal(svc(route(t, "shop.test", "/api/v1/items/")), "v1", "Exact is exact");
});

Deno.test("hosts: exact over wildcard over host-less; a wildcard covers one label; no fall-through", () => {
  const t = buildRoutes([
    ing("a", "2024-01-01T00:00:00Z", [
      { host: "a.shop.test", paths: [["/only", "Prefix", "exact"]] },
      { host: "*.shop.test", paths: [["/", "Prefix", "wild"]] },
      { paths: [["/", "Prefix", "any"]] },
    ], { defaultBackend: { service: { name: "fallback", port: { number: 80 } } } }),
  ]);
  assert.equal(svc(route(t, "a.shop.test", "/only/x")), "exact");
  assert.equal(svc(route(t, "a.shop.test", "/other")), "fallback", "no fall-through to the wildcard");
  assert.equal(svc(route(t, "b.shop.test", "/x")), "wild");
  assert.equal(svc(route(t, "x.b.shop.test", "/x")), "any", "a wildcard covers exactly one label");
  assert.equal(svc(route(t, "shop.test", "/x")), "any");
  assert.equal(hostOf("A.Shop.Test:8080"), "a.shop.test");
});

Deno.test("the default backend comes from the oldest Ingress that has one; none gives undefined", () => {
  const t = buildRoutes([
    ing("b", "2024-02-01T00:00:00Z", [], { defaultBackend: { service: { name: "second", port: { name: "http" } } } }),
    ing("a", "2024-01-01T00:00:00Z", [{ host: "x.test", paths: [["/", "Prefix", "x"]] }], {
      defaultBackend: { service: { name: "first", port: { number: 8080 } } },
    }),
  ]);
  assert.deepEqual(route(t, "y.test", "/"), { namespace: "default", service: "first", port: 8080, ingress: "default/a" });
  assert.equal(route(buildRoutes([]), "y.test", "/"), undefined);
});

Deno.test("TLS secrets are found by SNI name, exact or wildcard", () => {
  const t = buildRoutes([
    ing("a", "2024-01-01T00:00:00Z", [], {
      tls: [{ hosts: ["a.test"], secretName: "a-tls" }, { hosts: ["*.b.test"], secretName: "b-tls" }],
      defaultBackend: { service: { name: "s", port: { number: 80 } } },
    }),
  ]);
  assert.equal(tlsSecretFor(t, "A.test"), "default/a-tls");
  assert.equal(tlsSecretFor(t, "x.b.test"), "default/b-tls");
  assert.equal(tlsSecretFor(t, "c.test"), undefined);
});
