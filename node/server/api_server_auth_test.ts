import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, type JSONWebKeySet, SignJWT } from "jose";
import { ApiServerVerifier, isApiServerCall } from "./api_server_auth.ts";
import { handle } from "./node_server.ts";

const ISSUER = "https://kubernetes.default.svc.cluster.local";

async function key(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  return { kid, privateKey, jwk: { ...await exportJWK(publicKey), kid, alg: "ES256", use: "sig" } };
}

type Key = Awaited<ReturnType<typeof key>>;

function sign(k: Key, claims: Record<string, unknown>, opts: { issuer?: string; ttl?: number } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: k.kid }).setIssuer(opts.issuer ?? ISSUER)
    .setIssuedAt(now).setNotBefore(now).setExpirationTime(now + (opts.ttl ?? 300)).sign(k.privateKey);
}

const apiServer = (node: string) => ({
  sub: "system:kube-apiserver",
  aud: [`system:node:${node}`],
  "skiff.dev/kubelet-client": true,
});

function request(token?: string, path = "/pods"): Request {
  return new Request(
    `https://127.0.0.1:10250${path}`,
    token ? { headers: { Authorization: `Bearer ${token}` } } : {},
  );
}

Deno.test("ApiServerVerifier lets only the API server's call to this node through: 401 without a cluster token, 403 for others", async () => {
  const k1 = await key("k1");
  const stranger = await key("k1"); // same kid, another key: a forged token
  let fetches = 0;
  const jwks: JSONWebKeySet = { keys: [k1.jwk] };
  const verifier = new ApiServerVerifier({
    nodeName: "n1",
    issuer: ISSUER,
    fetchJwks: () => (fetches++, Promise.resolve(jwks)),
  });
  const status = async (token?: string) => (await verifier.check(request(token)))?.status ?? 200;
  assert.equal(await status(await sign(k1, apiServer("n1"))), 200);
  assert.equal(fetches, 1, "the keys are fetched on first use");
  assert.equal(await status(), 401);
  assert.equal(await status("not-a-jwt"), 401);
  assert.equal(await status(await sign(stranger, apiServer("n1"))), 401, "bad signature");
  assert.equal(await status(await sign(k1, apiServer("n1"), { issuer: "https://elsewhere" })), 401);
  assert.equal(await status(await sign(k1, apiServer("n1"), { ttl: -120 })), 401, "expired");
  assert.equal(await status(await sign(k1, apiServer("n2"))), 403, "meant for another node");
  assert.equal(await status(await sign(k1, { sub: "system:serviceaccount:default:x", aud: [ISSUER] })), 403);
  assert.equal(
    await status(await sign(k1, { sub: "system:node:n1", aud: [ISSUER], "skiff.dev/node": { name: "n1" } })),
    403,
  );
  const refused = await verifier.check(request());
  assert.equal(refused?.headers.get("www-authenticate"), 'Bearer realm="skiff-node"');
  assert.equal(isApiServerCall({ ...apiServer("n1"), "skiff.dev/kubelet-client": undefined }, "n1"), false);
});

Deno.test("ApiServerVerifier fetches the keys again when a token names a new one", async () => {
  const k1 = await key("k1");
  const k2 = await key("k2");
  let jwks: JSONWebKeySet = { keys: [k1.jwk] };
  let fetches = 0;
  const verifier = new ApiServerVerifier({
    nodeName: "n1",
    issuer: ISSUER,
    jwks,
    minRefetchMs: 0,
    fetchJwks: () => (fetches++, Promise.resolve(jwks)),
  });
  assert.equal(await verifier.check(request(await sign(k1, apiServer("n1")))), null);
  assert.equal(fetches, 0);
  jwks = { keys: [k1.jwk, k2.jwk] }; // the cluster rotated its signing key
  assert.equal(await verifier.check(request(await sign(k2, apiServer("n1")))), null);
  assert.equal(fetches, 1);
});

Deno.test("the node endpoint answers /healthz to anyone and everything else only once authenticated", async () => {
  const k1 = await key("k1");
  const verifier = new ApiServerVerifier({
    nodeName: "n1",
    issuer: ISSUER,
    jwks: { keys: [k1.jwk] },
    fetchJwks: () => Promise.resolve({ keys: [k1.jwk] }),
  });
  const opts = {
    hostname: "127.0.0.1",
    port: 0,
    pods: () => [],
    logs: {
      pod: () => undefined,
      runtimeStatus: () => Promise.reject(new Error("unused")),
      runtime: undefined!,
    },
    authenticate: (req: Request) => verifier.check(req),
  };
  assert.equal((await handle(request(undefined, "/healthz"), opts)).status, 200);
  const denied = await handle(request(undefined, "/containerLogs/default/web/app"), opts);
  assert.equal(denied.status, 401);
  await denied.body?.cancel();
  const post = await handle(new Request("https://x/pods", { method: "POST" }), opts);
  assert.equal(post.status, 401, "authentication comes before anything else");
  await post.body?.cancel();
  const pods = await handle(request(await sign(k1, apiServer("n1"))), opts);
  assert.equal(pods.status, 200);
  assert.equal((await pods.json()).kind, "PodList");
});
