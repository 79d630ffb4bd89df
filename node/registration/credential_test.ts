import assert from "node:assert/strict";
import { credentialLifetime, NodeCredential, renewalTime } from "./credential.ts";

/** An unsigned JWT-shaped token with these claims (the node never verifies its own credential). */
function jwt(claims: Record<string, unknown>): string {
  const b64 = (v: unknown) =>
    btoa(JSON.stringify(v)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${b64({ alg: "ES256" })}.${b64(claims)}.c2ln`;
}

Deno.test("credentialLifetime() and renewalTime(): renew 80 % into the credential's lifetime", () => {
  const life = credentialLifetime(jwt({ iat: 1000, exp: 2000 }))!;
  assert.deepEqual(life, { issuedAt: 1_000_000, expiresAt: 2_000_000 });
  assert.equal(renewalTime(life), 1_800_000);
  assert.equal(credentialLifetime("static-admin-token"), null);
  assert.equal(credentialLifetime(jwt({ sub: "x" })), null, "no exp: never renewed");
});

Deno.test("NodeCredential renews only when due, uses the new token at once and reports it", async () => {
  const now = 1_000_000_000_000;
  const old = jwt({ iat: now / 1000 - 100, exp: now / 1000 + 900 }); // 10 % of 1000 s used
  const fresh = jwt({ iat: now / 1000, exp: now / 1000 + 1000 });
  const asked: string[] = [];
  const renewed: string[] = [];
  let clock = now;
  const cred = new NodeCredential(old, {
    request: (current) => {
      asked.push(current);
      return Promise.resolve({ token: fresh, expirationTimestamp: "2030-01-01T00:00:00Z" });
    },
    onRenewed: (issued) => void renewed.push(issued.token),
    now: () => clock,
    log: () => {},
  });
  assert.equal(await cred.renewIfDue(), false);
  clock = now + 701_000; // 80.1 %
  assert.equal(await cred.renewIfDue(), true);
  assert.deepEqual(asked, [old], "asked with the current credential");
  assert.equal(cred.token, fresh);
  assert.deepEqual(renewed, [fresh]);
  assert.equal(cred.renewAt, now + 800_000);
});

Deno.test("NodeCredential.start() renews a due credential in the background and retries failures", async () => {
  const nowS = Math.floor(Date.now() / 1000);
  const due = jwt({ iat: nowS - 1000, exp: nowS + 100 });
  let calls = 0;
  const done = Promise.withResolvers<string>();
  const logs: string[] = [];
  const cred = new NodeCredential(due, {
    request: () => {
      calls++;
      if (calls === 1) return Promise.reject(new Error("API server unavailable"));
      return Promise.resolve({ token: jwt({ iat: nowS, exp: nowS + 3600 }) });
    },
    onRenewed: (issued) => done.resolve(issued.token),
    log: (line) => logs.push(line),
  });
  // A first failure is retried after 30 s: make the retry immediate by renewing by hand meanwhile.
  cred.start();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(calls, 1);
  assert.match(logs[0], /renewing the node credential failed; retrying in 30 s: API server unavailable/);
  assert.equal(await cred.renew(), true);
  assert.equal(await done.promise, cred.token);
  await cred.stop();
});
