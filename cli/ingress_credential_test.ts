import assert from "node:assert/strict";
import { isIngressControllerToken, renewalTime, tokenExpired, tokenLifetime } from "./ingress_credential.ts";

const b64url = (o: unknown) => btoa(JSON.stringify(o)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const jwt = (claims: Record<string, unknown>) => `${b64url({ alg: "ES256" })}.${b64url(claims)}.c2ln`;

Deno.test("a token is renewed at 80 % of its life", () => {
  assert.deepEqual(tokenLifetime(jwt({ iat: 1000, exp: 2000, sub: "x" })), { iat: 1000, exp: 2000 });
  assert.equal(renewalTime(jwt({ iat: 1000, exp: 2000 })), 1_800_000);
  assert.equal(renewalTime(jwt({ iat: 1_700_000_000, exp: 1_700_086_400 })), (1_700_000_000 + 69_120) * 1000);
});

Deno.test("a token without iat and exp is never renewed", () => {
  assert.equal(renewalTime("opaque-token"), undefined);
  assert.equal(renewalTime(jwt({ exp: 2000 })), undefined);
  assert.equal(renewalTime(jwt({ iat: 2000, exp: 1000 })), undefined);
  assert.equal(renewalTime("a.!!!.c"), undefined);
});

Deno.test("only the Ingress controller's own tokens are renewed as such", () => {
  assert.equal(isIngressControllerToken(jwt({ sub: "system:serviceaccount:skiff-system:ingress-controller" })), true);
  assert.equal(isIngressControllerToken(jwt({ sub: "system:serviceaccount:skiff-system:plugin-host" })), false);
  assert.equal(isIngressControllerToken("opaque-token"), false);
});

Deno.test("a token has lapsed once its exp has passed; one without exp never does", () => {
  assert.equal(tokenExpired(jwt({ iat: 1000, exp: 2000 }), 1_999_999), false);
  assert.equal(tokenExpired(jwt({ iat: 1000, exp: 2000 }), 2_000_000), true);
  assert.equal(tokenExpired("opaque-token", Date.now()), false);
});
