/**
 * NetworkPolicy end to end on a node enforcing it with nftables: Wasm HTTP components as the
 * servers (namespace `secure`) and as a client calling out through wasi:http (the `frontend` in
 * `default`), plus two client processes in network namespaces on the node's bridge. A default-deny
 * policy blocks everything; each allow rule then opens exactly the peer and port it names
 * (a pod selected across namespaces on a named port; an ipBlock on a numeric port); an egress
 * default-deny stops a Wasm pod's outgoing requests until an egress rule allows them. A TCP
 * connection open before a policy denies it (a Wasm pod's pooled connection to another pod; a
 * client's connection to a pod) stops at its next exchange and carries on when the policy is
 * removed.
 * @module
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../control/api/types.ts";
import { pushFixture } from "./fixtures/push.ts";
import { BUSYBOX, BUSYBOX_STATIC } from "./fixtures/oci/images.ts";
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
    // The frontend keeps connections alive; a policy also stops those it no longer allows (the
    // last test), but each check of a blocked path here uses a destination the frontend has not
    // connected to yet, so that it tests new connections.
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

/**
 * One TCP connection kept open from a client pod: `busybox nc` in its network namespace, fed HTTP
 * requests on stdin; `greetings()` counts the answers that came back on that same connection.
 */
function openConnection(p: ClientPod, ip: string, port: number) {
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", p.ns, BUSYBOX, "nc", ip, String(port)],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  let out = "";
  const reading = child.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (out += chunk) }),
  );
  const stderr = new Response(child.stderr).text();
  let exited = false;
  const status = child.status.then((s) => (exited = true, s));
  const greetings = () => out.split("hello from backend").length - 1;
  return {
    greetings,
    get exited() {
      return exited;
    },
    send: () => writer.write(new TextEncoder().encode(`GET / HTTP/1.1\r\nHost: backend\r\n\r\n`)),
    /** Whether the count of answers reaches `n` within `ms`. */
    async answered(n: number, ms: number): Promise<boolean> {
      const end = Date.now() + ms;
      while (Date.now() < end && greetings() < n && !exited) await new Promise((r) => setTimeout(r, 50));
      return greetings() >= n;
    },
    async [Symbol.asyncDispose]() {
      await writer.close().catch(() => {});
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await Promise.all([status, reading.catch(() => {}), stderr]);
    },
  };
}

testWith(
  [...NETWORK_PREREQUISITES, BUSYBOX_STATIC],
  "an established connection stops when a policy denies it, in both directions, and carries on once the policy is removed",
  async () => {
    await using c = await startNetworkCluster();
    const image = (await pushFixture(c.registry.host, "http_sm")).reference;
    await apply(
      c,
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "front" } },
      wasmDeployment("backend", image, { greeting: "backend" }),
      wasmDeployment("frontend", image, { greeting: "frontend", namespace: "front" }),
    );
    for (const [ns, d] of [["default", "backend"], ["front", "frontend"]]) {
      const rollout = await c.kubectl(
        ["-n", ns, "rollout", "status", `deployment/${d}`, "--timeout=120s"],
        undefined,
        130_000,
      );
      assert.equal(rollout.code, 0, rollout.stderr + rollout.stdout);
    }
    const ip = (await readyPods(c, "app=backend"))[0].status.podIP;
    const frontendIP = (await readyPods(c, "app=frontend", "front"))[0].status.podIP;
    const client = await c.clientPod({ dns: false });

    // Between two pods: the Wasm frontend keeps its connection to the backend open in a pool; an
    // egress default-deny on the frontend stops that open connection (its next request gets no
    // answer), and removing the policy lets it through again.
    const viaFrontend: Get = (t) =>
      client.curl(
        `http://${frontendIP}:8080/fetch?url=${encodeURIComponent(`http://${ip}:8080/`)}`,
        [],
        t + 2,
      );
    assert.ok(await opens(viaFrontend), "the frontend reaches the backend before any policy");
    const pooled = () =>
      Deno.readTextFileSync("/proc/net/nf_conntrack").split("\n").filter((l) =>
        l.includes("ESTABLISHED") && l.includes(`src=${frontendIP} dst=${ip} `) && l.includes(" dport=8080 ")
      );
    assert.ok(pooled().length > 0, "the frontend holds an open connection to the backend");
    await apply(c, policy("no-egress", "front", { podSelector: {}, policyTypes: ["Egress"] }));
    await settled(c);
    assert.equal(
      await reaches(viaFrontend),
      false,
      "the frontend's open connection is cut by the new policy",
    );
    assert.ok(pooled().length > 0, "the connection stalls, it is not closed");
    await c.client.delete(
      { group: "networking.k8s.io", version: "v1", plural: "networkpolicies", namespaced: true },
      "front",
      "no-egress",
    );
    await settled(c);
    assert.ok(await opens(viaFrontend), "the frontend reaches the backend again once the policy is gone");

    // From a client holding one TCP connection to the backend.
    await using conn = openConnection(client, ip, 8080);
    await conn.send();
    assert.ok(await conn.answered(1, 20_000), "the connection answers before any policy");

    // A default-deny for the backend's ingress: the open connection's next exchange gets nothing
    // (neither the request nor, were it through, the answer passes), and a new one is refused too.
    await apply(
      c,
      policy("deny", "default", {
        podSelector: { matchLabels: { app: "backend" } },
        policyTypes: ["Ingress"],
      }),
    );
    await settled(c);
    await conn.send();
    assert.equal(await conn.answered(2, 4_000), false, "the established connection is cut by the new policy");
    assert.equal(
      await reaches((t) => client.curl(`http://${ip}:8080/`, [], t)),
      false,
      "new connections are refused",
    );
    assert.equal(conn.exited, false, "the client still holds its connection");

    // Without the policy the same connection carries on: TCP retransmits the pending request, its
    // answer arrives, and a further exchange works.
    await c.client.delete(
      { group: "networking.k8s.io", version: "v1", plural: "networkpolicies", namespaced: true },
      "default",
      "deny",
    );
    await settled(c);
    assert.ok(await conn.answered(2, 30_000), "the pending exchange completes once the policy is gone");
    await conn.send();
    assert.ok(await conn.answered(3, 10_000), "and the connection works again");

    // An egress default-deny on the answering side does not stop what it serves (its answers are
    // replies), while an ingress rule naming another address stops it again.
    await apply(
      c,
      policy("no-egress", "default", {
        podSelector: { matchLabels: { app: "backend" } },
        policyTypes: ["Egress"],
      }),
    );
    await settled(c);
    await conn.send();
    assert.ok(await conn.answered(4, 10_000), "replies of an allowed connection pass an egress default-deny");
    await apply(
      c,
      policy("deny", "default", {
        podSelector: { matchLabels: { app: "backend" } },
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ ipBlock: { cidr: `${c.gateway}/32` } }] }],
      }),
    );
    await settled(c);
    await conn.send();
    assert.equal(await conn.answered(5, 4_000), false, "a rule that no longer names the client cuts it");

    // Let the connection finish cleanly (a socket closed while its packets are dropped would keep
    // retransmitting, and its network namespace alive, for minutes).
    for (const name of ["deny", "no-egress"]) {
      await c.client.delete(
        { group: "networking.k8s.io", version: "v1", plural: "networkpolicies", namespaced: true },
        "default",
        name,
      );
    }
    await settled(c);
    assert.ok(await conn.answered(5, 30_000), "and carries on once the policies are gone");
  },
);
