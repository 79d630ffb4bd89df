import assert from "node:assert/strict";
import type { Pod } from "kubernetes-types/core/v1.d.ts";
import {
  type IssuedToken,
  refreshTime,
  TokenManager,
  type TokenRequestBody,
  tokenRequestFor,
} from "./token_manager.ts";
import { VolumeManager } from "./volume_manager.ts";

const pod: Pod = {
  metadata: { name: "web", namespace: "team", uid: "u1" },
  spec: {
    serviceAccountName: "robot",
    containers: [{ name: "app", image: "i" }],
    volumes: [{
      name: "kube-api-access-abcde",
      projected: {
        defaultMode: 0o644,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
          { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
          { downwardAPI: { items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }] } },
        ],
      },
    }],
  },
};

/** A requester issuing `tok-<n>` tokens valid for the asked lifetime, from a fake clock. */
function fakeApi(clock: () => number) {
  const calls: { namespace: string; sa: string; body: TokenRequestBody }[] = [];
  const request = (namespace: string, sa: string, body: TokenRequestBody): Promise<IssuedToken> => {
    calls.push({ namespace, sa, body });
    const ttl = body.spec.expirationSeconds;
    return Promise.resolve({
      token: `tok-${calls.length}`,
      expirationTimestamp: new Date(clock() + ttl * 1000).toISOString(),
      expirationSeconds: ttl,
    });
  };
  return { calls, request };
}

Deno.test("tokenRequestFor() binds the token to the pod with the projection's audience and lifetime", () => {
  assert.deepEqual(tokenRequestFor(pod, { path: "token", audience: "vault", expirationSeconds: 600 }), {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: {
      audiences: ["vault"],
      expirationSeconds: 600,
      boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "web", uid: "u1" },
    },
  });
  assert.equal(tokenRequestFor(pod, { path: "token" }).spec.audiences, undefined, "the API server's own");
  assert.equal(tokenRequestFor(pod, { path: "token" }).spec.expirationSeconds, 3600);
});

Deno.test("refreshTime() is 80 % into the lifetime, or 24 h after issue for long-lived tokens", () => {
  assert.equal(refreshTime({ expiresAt: 10_000_000, lifetimeMs: 3_600_000 }), 10_000_000 - 720_000);
  const year = 365 * 24 * 3600_000;
  assert.equal(refreshTime({ expiresAt: year, lifetimeMs: year }), 24 * 3600_000);
});

Deno.test("TokenManager reuses a token until it is due, then asks again; forgetting the pod drops them", async () => {
  let now = Date.UTC(2026, 0, 1);
  const api = fakeApi(() => now);
  const tokens = new TokenManager(api.request, { now: () => now });
  const source = { path: "token", expirationSeconds: 3600 };
  assert.equal((await tokens.tokensFor(pod, [source])).get("|3600"), "tok-1");
  assert.deepEqual([api.calls[0].namespace, api.calls[0].sa], ["team", "robot"]);
  now += 2_800_000; // 77 %
  assert.equal((await tokens.tokensFor(pod, [source])).get("|3600"), "tok-1");
  assert.equal(tokens.nextRefresh("u1"), Date.UTC(2026, 0, 1) + 2_880_000);
  now += 100_000; // 80.5 %
  assert.equal((await tokens.tokensFor(pod, [source])).get("|3600"), "tok-2");
  assert.equal(api.calls.length, 2);
  tokens.forgetPod("u1");
  assert.equal(tokens.nextRefresh("u1"), undefined);
});

Deno.test("VolumeManager projects the token with the CA and namespace atomically, and rewrites it when refreshed", async () => {
  const root = await Deno.makeTempDir();
  try {
    let now = Date.now();
    const api = fakeApi(() => now);
    const vm = new VolumeManager(root, { tokens: new TokenManager(api.request, { now: () => now }) });
    const lookups = {
      configMap: (_ns: string, name: string) =>
        name === "kube-root-ca.crt" ? { data: { "ca.crt": new TextEncoder().encode("PEM") } } : undefined,
      secret: () => undefined,
      allocatable: {},
    };
    const dir = (await vm.setUp(pod, lookups)).get("kube-api-access-abcde")!;
    assert.equal(await Deno.readTextFile(`${dir}/token`), "tok-1");
    assert.equal(await Deno.readTextFile(`${dir}/ca.crt`), "PEM");
    assert.equal(await Deno.readTextFile(`${dir}/namespace`), "team");
    assert.equal((await Deno.lstat(`${dir}/token`)).isSymlink, true, "through ..data, swapped at once");
    const first = await Deno.readLink(`${dir}/..data`);
    await vm.setUp(pod, lookups);
    assert.equal(api.calls.length, 1, "a sync before the refresh time asks for nothing");
    now = vm.nextRefresh("u1")! + 1;
    await vm.setUp(pod, lookups);
    assert.equal(await Deno.readTextFile(`${dir}/token`), "tok-2");
    assert.notEqual(await Deno.readLink(`${dir}/..data`), first);

    const failing = new VolumeManager(root, {
      tokens: new TokenManager(() => Promise.reject(new Error('serviceaccounts "robot" not found'))),
    });
    await assert.rejects(
      failing.setUp({ ...pod, metadata: { ...pod.metadata, uid: "u2" } }, lookups),
      /^MountError: MountVolume.SetUp failed for volume "kube-api-access-abcde" : failed to fetch token: serviceaccounts "robot" not found$/,
    );
    await assert.rejects(
      new VolumeManager(root).setUp(pod, lookups),
      /serviceAccountToken projections are not supported/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
