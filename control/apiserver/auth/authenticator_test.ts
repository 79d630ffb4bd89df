import assert from "node:assert/strict";
import { ApiError } from "../../api/status.ts";
import { isPublicPath } from "./anonymous.ts";
import { bearerToken, requestAuthenticator, staticTokens, unionTokens } from "./authenticator.ts";
import { bootstrapTokens } from "./bootstrap_tokens.ts";
import { InflightLimiter } from "./inflight.ts";

Deno.test("bearerToken() reads Bearer tokens, ignores other schemes and refuses an empty token", () => {
  assert.equal(bearerToken("Bearer abc"), "abc");
  assert.equal(bearerToken("bearer abc"), "abc");
  assert.equal(bearerToken("Basic abc"), null);
  assert.equal(bearerToken(null), null);
  assert.throws(() => bearerToken("Bearer  abc"), (e) => e instanceof ApiError && e.code === 401);
});

Deno.test("requestAuthenticator() is anonymous without a token and 401 for an unknown one", async () => {
  const authn = requestAuthenticator(unionTokens([staticTokens(new Map([["t", { username: "u", groups: [] }]]))]), { log: () => {} });
  const req = (h?: string) => new Request("https://x/api", { headers: h ? { Authorization: h } : {} });
  assert.equal(await authn.authenticate(req()), null);
  assert.deepEqual(await authn.authenticate(req("Bearer t")), { username: "u", groups: ["system:authenticated"] });
  await assert.rejects(authn.authenticate(req("Bearer nope")), (e) => e instanceof ApiError && e.code === 401);
});

Deno.test("isPublicPath() admits health, version, discovery and OpenAPI only", () => {
  for (const p of ["/healthz", "/livez/ping", "/readyz/", "/version", "/api", "/apis", "/api/v1", "/apis/apps", "/apis/apps/v1", "/openapi/v3/apis/apps/v1"]) {
    assert.ok(isPublicPath(p), p);
  }
  for (const p of ["/api/v1/pods", "/apis/apps/v1/deployments", "/openid/v1/jwks", "/metrics", "/", "/healthz/a/b"]) {
    assert.ok(!isPublicPath(p), p);
  }
});

Deno.test("bootstrapTokens() checks the Secret's type, secret, usage and expiration", async () => {
  const b64 = (s: string) => btoa(s);
  let secret: Record<string, unknown> | null = null;
  const boot = bootstrapTokens(() => Promise.resolve(secret as never), () => Date.parse("2026-01-01T00:00:00Z"));
  const make = (over: Record<string, string> = {}, type = "bootstrap.kubernetes.io/token") => ({
    metadata: { name: "bootstrap-token-abcdef" },
    type,
    data: Object.fromEntries(Object.entries({
      "token-id": "abcdef",
      "token-secret": "0123456789abcdef",
      "usage-bootstrap-authentication": "true",
      expiration: "2026-01-02T00:00:00Z",
      ...over,
    }).map(([k, v]) => [k, b64(v)])),
  });
  assert.equal(await boot.authenticateToken("not-a-bootstrap-token"), null);
  secret = make({ "auth-extra-groups": "system:bootstrappers:workers" });
  const ok = await boot.authenticateToken("abcdef.0123456789abcdef");
  assert.deepEqual(ok?.user, { username: "system:bootstrap:abcdef", groups: ["system:bootstrappers", "system:bootstrappers:workers"] });
  for (const s of [make({ "token-secret": "ffffffffffffffff" }), make({ expiration: "2025-12-31T00:00:00Z" }), make({ "usage-bootstrap-authentication": "false" }), make({}, "Opaque"), null]) {
    secret = s;
    await assert.rejects(boot.authenticateToken("abcdef.0123456789abcdef"));
  }
});

Deno.test("InflightLimiter bounds each user's share and the total, and releases once", () => {
  const l = new InflightLimiter({ maxInflight: 3, maxPerUser: 2, maxLongRunning: 1, maxLongRunningPerUser: 1 });
  const a1 = l.acquire("a", false);
  l.acquire("a", false);
  assert.throws(() => l.acquire("a", false), (e) => e instanceof ApiError && e.code === 429 && e.status.details?.retryAfterSeconds === 1);
  const b = l.acquire("b", false);
  assert.throws(() => l.acquire("c", false), (e) => e instanceof ApiError && e.code === 429);
  a1();
  a1();
  l.acquire("c", false);
  b();
  l.acquire("w", true);
  assert.throws(() => l.acquire("x", true));
  assert.deepEqual(l.inUse, { short: 2, longRunning: 1 });
});
