/**
 * NetworkPolicy end to end on a node enforcing it with nftables: Wasm HTTP components as the
 * servers (namespace `secure`) and as a client calling out through wasi:http (the `frontend` in
 * `default`), plus two client processes in network namespaces on the node's bridge. A default-deny
 * policy blocks everything; each allow rule then opens exactly the peer and port it names
 * (a pod selected across namespaces on a named port; an ipBlock on a numeric port); an egress
 * default-deny stops a Wasm pod's outgoing requests until an egress rule allows them.
 * @module
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../control/api/types.ts";
import { pushFixture } from "./fixtures/push.ts";
import { eventually, testWith } from "./harness.ts";
import {
  type ClientPod,
  NETWORK_PREREQUISITES,
  type NetworkCluster,
  readyPods,
  startNetworkCluster,
  wasmDeployment,
} from "./network_harness.ts";

async function apply(c: NetworkCluster, ...objs: KubeObject[]): Promise<void> {
  const r = await c.kubectl(["apply", "-f", "-"], objs.map((o) => JSON.stringify(o)).join("\n"));
  assert.equal(r.code, 0, r.stderr);
}

const policy = (name: string, namespace: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name, namespace },
  spec,
});

type Get = (maxTimeS: number) => Promise<{ code: number; body: string }>;

/** Whether `get` answers with the greeting within 2 s; a blocked connection times out (or the frontend says 502). */
async function reaches(get: Get): Promise<boolean> {
  const r = await get(2);
  return r.code === 200 && r.body.startsWith("hello from backend");
}

/** Whether `get` answers with the greeting, allowing a slow machine three tries of 6 s. */
async function opens(get: Get): Promise<boolean> {
  for (let i = 0; i < 3; i++) {
    const r = await get(6);
    if (r.code === 200 && r.body.startsWith("hello from backend")) return true;
  }
  return false;
}

/** Waits until the enforcer has applied the policies as they are now. */
async function settled(c: NetworkCluster): Promise<void> {
  const want = (await c.client.list({
    group: "networking.k8s.io",
    version: "v1",
    plural: "networkpolicies",
    namespaced: true,
  }, ""))
    .items.length;
  const n = c.agent.addons!.netpol!;
  await eventually(
    "the node to see the policies",
    () => Promise.resolve(n.opts.policies.list().length === want),
    15_000,
  );
  await n.nextSync();
}

testWith(
  NETWORK_PREREQUISITES,
  "a default-deny NetworkPolicy blocks traffic and each allow rule opens exactly what it names",
  async () => {
    await using c = await startNetworkCluster();
    const image = (await pushFixture(c.registry.host, "http_sm")).reference;
    const twoPorts = (name: string, namespace: string) => {
      const d = wasmDeployment(name, image, { greeting: "backend", namespace });
      d.spec.template.spec.containers[0].ports.push({ name: "alt", containerPort: 9090 });
      return d;
    };
    await apply(
      c,
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "secure" } },
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "open" } },
      twoPorts("backend", "secure"),
      twoPorts("backend", "open"),
      wasmDeployment("frontend", image, { greeting: "frontend" }),
    );
    for (const [ns, d] of [["secure", "backend"], ["open", "backend"], ["default", "frontend"]]) {
      const r = await c.kubectl(
        ["-n", ns, "rollout", "status", `deployment/${d}`, "--timeout=120s"],
        undefined,
        130_000,
      );
      assert.equal(r.code, 0, r.stderr + r.stdout);
    }
    const ip = (await readyPods(c, "app=backend", "secure"))[0].status.podIP;
    const openIP = (await readyPods(c, "app=backend", "open"))[0].status.podIP;
    const [frontend] = await readyPods(c, "app=frontend");
    const a = await c.clientPod({ dns: false });
    const b = await c.clientPod({ dns: false });
    const direct = (p: ClientPod, port: number): Get => (t) => p.curl(`http://${ip}:${port}/`, [], t);
    // The frontend keeps connections alive, and an established connection outlives a new policy
    // (conntrack, docs/networking.md): each check of a blocked path uses a destination the
    // frontend has not connected to yet.
    const viaFrontend = (to: string, port: number): Get => (t) =>
      a.curl(
        `http://${frontend.status.podIP}:8080/fetch?url=${encodeURIComponent(`http://${to}:${port}/`)}`,
        [],
        t + 2,
      );

    // No policy: everything is open.
    assert.ok(await opens(direct(a, 8080)), "a client reaches the backend before any policy");
    assert.ok(await opens(direct(b, 9090)));
    assert.ok(await opens(viaFrontend(ip, 8080)), "the Wasm frontend reaches the backend");

    // Default deny for ingress in `secure`.
    await apply(c, policy("default-deny", "secure", { podSelector: {}, policyTypes: ["Ingress"] }));
    await settled(c);
    assert.equal(await reaches(direct(a, 8080)), false, "default-deny blocks a client");
    assert.equal(await reaches(direct(b, 9090)), false, "on every port");
    assert.equal(await reaches(viaFrontend(ip, 9090)), false, "default-deny blocks a Wasm pod's request");
    assert.ok(await opens((t) => a.curl(`http://${openIP}:8080/`, [], t)), "other namespaces stay open");

    // Allow the frontend pods of `default`, on the named port `http` only.
    await apply(
      c,
      policy("from-frontend", "secure", {
        podSelector: { matchLabels: { app: "backend" } },
        ingress: [{
          from: [{
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "default" } },
            podSelector: { matchLabels: { app: "frontend" } },
          }],
          ports: [{ port: "http" }],
        }],
      }),
    );
    await settled(c);
    assert.ok(await opens(viaFrontend(ip, 8080)), "the frontend is allowed on the named port");
    assert.equal(await reaches(viaFrontend(ip, 9090)), false, "but on no other port");
    assert.equal(await reaches(direct(a, 8080)), false, "and the rule names no other peer");

    // Allow client a's address, on port 9090 only.
    await apply(
      c,
      policy("from-a", "secure", {
        podSelector: { matchLabels: { app: "backend" } },
        ingress: [{ from: [{ ipBlock: { cidr: `${a.ip}/32` } }], ports: [{ protocol: "TCP", port: 9090 }] }],
      }),
    );
    await settled(c);
    assert.ok(await opens(direct(a, 9090)), "the ipBlock is allowed on its port");
    assert.equal(await reaches(direct(a, 8080)), false, "but not on another");
    assert.equal(await reaches(direct(b, 9090)), false, "and no other address is");

    // Egress: default deny for the frontend stops its outgoing requests (to an unisolated pod); an
    // egress rule to the pods of `open` on 8080 opens exactly that.
    await apply(
      c,
      policy("frontend-egress", "default", {
        podSelector: { matchLabels: { app: "frontend" } },
        policyTypes: ["Egress"],
      }),
    );
    await settled(c);
    assert.equal(
      await reaches(viaFrontend(openIP, 9090)),
      false,
      "egress default-deny blocks the Wasm pod's request",
    );
    await apply(
      c,
      policy("frontend-egress", "default", {
        podSelector: { matchLabels: { app: "frontend" } },
        policyTypes: ["Egress"],
        egress: [{
          to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "open" } } }],
          ports: [{ port: 8080 }],
        }],
      }),
    );
    await settled(c);
    assert.ok(await opens(viaFrontend(openIP, 8080)), "the egress rule allows what it names");
    assert.equal(await reaches(viaFrontend(openIP, 9090)), false, "egress stays closed on other ports");

    // Deleting the policies opens everything again.
    for (
      const [ns, name] of [["secure", "default-deny"], ["secure", "from-frontend"], ["secure", "from-a"], [
        "default",
        "frontend-egress",
      ]]
    ) {
      await c.client.delete(
        { group: "networking.k8s.io", version: "v1", plural: "networkpolicies", namespaced: true },
        ns,
        name,
      );
    }
    await settled(c);
    assert.ok(await opens(direct(b, 8080)), "no policy, no isolation");
    assert.ok(await opens(viaFrontend(openIP, 9090)), "egress open again");
  },
);
