/**
 * Services end to end: a real node agent programming nftables (and, in one test, the userspace
 * fallback), Wasm HTTP components as endpoints, kubectl, and clients in test network namespaces
 * on the node's bridge. Checks spreading over ready endpoints, readiness, affinity, NodePort from
 * the host, named and multiple ports, traffic policies, draining, hairpin through a Service, and
 * that every rule, route and sysctl is gone when the agent (or `./skiff up`) stops.
 * @module
 */
import assert from "node:assert/strict";
import { R } from "../control/api/client.ts";
import type { KubeObject } from "../control/api/types.ts";
import { ipJson } from "../node/cni/ip.ts";
import { HostChanges, readSysctl } from "../node/proxy/host.ts";
import { nftTables } from "../node/proxy/nft.ts";
import { pushFixture } from "./fixtures/push.ts";
import { eventually, startClusterProcess, testWith } from "./harness.ts";
import {
  NETWORK_PREREQUISITES,
  type NetworkCluster,
  readyPods,
  service,
  startNetworkCluster,
  wasmDeployment,
} from "./network_harness.ts";

const test = (name: string, fn: () => Promise<void>) => testWith(NETWORK_PREREQUISITES, name, fn);

/** A Deployment whose pods greet with their own name and are ready while the readiness server says so. */
function identified(name: string, image: string, replicas: number, readiness?: string): KubeObject {
  const d = wasmDeployment(name, image, { replicas });
  const c = d.spec.template.spec.containers[0];
  c.env = [{ name: "GREETING", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }];
  if (readiness) {
    c.readinessProbe = {
      httpGet: { path: `/fetch?url=${encodeURIComponent(readiness)}`, port: 8080 },
      periodSeconds: 1,
      failureThreshold: 1,
      timeoutSeconds: 2,
    };
  }
  return d;
}

async function apply(c: NetworkCluster, ...objs: KubeObject[]): Promise<void> {
  const r = await c.kubectl(["apply", "-f", "-"], objs.map((o) => JSON.stringify(o)).join("\n"));
  assert.equal(r.code, 0, r.stderr);
}

async function rollout(c: NetworkCluster, name: string): Promise<void> {
  const r = await c.kubectl(
    ["rollout", "status", `deployment/${name}`, "--timeout=120s"],
    undefined,
    130_000,
  );
  assert.equal(r.code, 0, r.stderr + r.stdout);
}

async function clusterIP(c: NetworkCluster, name: string, ns = "default"): Promise<string> {
  return (await c.client.get(R.services, ns, name)).spec.clusterIP;
}

/** Counts the greetings of `n` sequential requests. */
async function spread(
  get: () => Promise<{ code: number; body: string }>,
  n: number,
): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = await get();
    const who = r.code === 200 ? r.body.trim().replace(/^hello from /, "") : `HTTP ${r.code}`;
    seen.set(who, (seen.get(who) ?? 0) + 1);
  }
  return seen;
}

/** Endpoints the proxy programmed for a service port. */
function programmed(c: NetworkCluster, id: string): string[] {
  const sp = c.agent.addons!.proxy!.ports.find((p) => p.id === id);
  return (sp?.clusterEndpoints ?? []).map((e) => e.ip).sort();
}

test("a ClusterIP spreads requests evenly over the ready endpoints, and readiness drives membership", async () => {
  await using c = await startNetworkCluster();
  assert.equal(c.agent.addons?.proxy?.mode, "nftables");
  const image = (await pushFixture(c.registry.host, "http_sm")).reference;
  // The readiness server on the node's gateway: a pod is ready unless its address is in `unready`.
  const unready = new Set<string>();
  await using ready = Deno.serve(
    { hostname: c.gateway, port: 0, onListen() {} },
    (_req, info) =>
      new Response(unready.has((info.remoteAddr as Deno.NetAddr).hostname) ? "no\n" : "yes\n", {
        status: unready.has((info.remoteAddr as Deno.NetAddr).hostname) ? 500 : 200,
      }),
  );
  await apply(
    c,
    identified("web", image, 3, `http://${c.gateway}:${ready.addr.port}/ready`),
    service("web", { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] }),
  );
  await rollout(c, "web");
  const pods = await readyPods(c, "app=web");
  assert.equal(pods.length, 3);
  const vip = await clusterIP(c, "web");
  assert.match(vip, /^198\.19\./);
  await eventually(
    "three programmed endpoints",
    () => Promise.resolve(programmed(c, "default/web/tcp/http").length === 3),
  );
  const client = await c.clientPod();
  const counts = await spread(() => client.curl(`http://${vip}/`), 30);
  assert.deepEqual([...counts.values()], [10, 10, 10], `even spread: ${JSON.stringify([...counts])}`);
  assert.deepEqual([...counts.keys()].sort(), pods.map((p) => p.metadata.name).sort());

  // One pod turns unready: it leaves the rotation (the pod stays Running).
  const victim = pods[0];
  unready.add(victim.status.podIP);
  await eventually("the pod to be unready", async () => (await readyPods(c, "app=web")).length === 2);
  await eventually(
    "two programmed endpoints",
    () => Promise.resolve(programmed(c, "default/web/tcp/http").length === 2),
  );
  const after = await spread(() => client.curl(`http://${vip}/`), 20);
  assert.ok(!after.has(victim.metadata.name!), `the unready pod got traffic: ${JSON.stringify([...after])}`);
  assert.deepEqual([...after.values()], [10, 10]);
  unready.clear();
  await eventually(
    "the pod back in rotation",
    () => Promise.resolve(programmed(c, "default/web/tcp/http").length === 3),
  );
});

test("ClientIP affinity pins a client; a NodePort answers from the host; named and numeric ports both work", async () => {
  await using c = await startNetworkCluster();
  const image = (await pushFixture(c.registry.host, "http_sm")).reference;
  await apply(
    c,
    identified("web", image, 3),
    service("web", {
      type: "NodePort",
      selector: { app: "web" },
      sessionAffinity: "ClientIP",
      ports: [
        { name: "http", port: 80, targetPort: "http" },
        { name: "alt", port: 8081, targetPort: 8080 },
      ],
    }),
  );
  await rollout(c, "web");
  const svc = await c.client.get(R.services, "default", "web");
  const vip = svc.spec.clusterIP;
  const nodePort = svc.spec.ports[0].nodePort;
  assert.ok(nodePort >= 30000 && nodePort <= 32767, `node port ${nodePort}`);
  assert.equal(svc.spec.sessionAffinityConfig.clientIP.timeoutSeconds, 10800);
  await eventually(
    "three programmed endpoints",
    () => Promise.resolve(programmed(c, "default/web/tcp/http").length === 3),
  );
  const client = await c.clientPod();
  const pinned = await spread(() => client.curl(`http://${vip}/`), 12);
  assert.equal(pinned.size, 1, `affinity keeps one endpoint: ${JSON.stringify([...pinned])}`);
  const alt = await client.curl(`http://${vip}:8081/`);
  assert.equal(alt.code, 200, "the numeric target port");

  // From the node itself: the node port on 127.0.0.1 and on the bridge address, and the cluster IP.
  for (const host of ["127.0.0.1", c.gateway]) {
    const res = await fetch(`http://${host}:${nodePort}/`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200, host);
    assert.match(await res.text(), /^hello from web-/);
  }
  const fromHost = await fetch(`http://${vip}/`, { signal: AbortSignal.timeout(5000) });
  assert.equal(fromHost.status, 200);
  await fromHost.body?.cancel();

  // A port of the cluster IP that the Service does not have is refused at once, not dropped.
  // curl exits 7 when the connection is refused, 28 when it times out. The refusal is an ICMP
  // port unreachable, which the kernel rate-limits per destination: on a machine busy with other
  // clusters one may be dropped, so a refusal in any of three tries counts; dropping always does not.
  const exits: number[] = [];
  for (let i = 0; i < 3 && exits.at(-1) !== 7; i++) {
    exits.push((await client.run(["curl", "-s", "--max-time", "8", `http://${vip}:9999/`], 15_000)).code);
  }
  assert.equal(exits.at(-1), 7, `rejected, not timed out (curl exits ${exits.join(", ")})`);
});

/** A "container" backend: busybox httpd in a client namespace, answering `text` on port 8080. */
async function httpd(c: NetworkCluster, text: string) {
  const pod = await c.clientPod();
  const dir = await Deno.makeTempDir({ prefix: "skiff-httpd-" });
  await Deno.writeTextFile(`${dir}/index.html`, text);
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", pod.ns, "/usr/bin/busybox", "httpd", "-f", "-p", `${pod.ip}:8080`, "-h", dir],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await eventually(
    "httpd to answer",
    async () => (await pod.curl(`http://${pod.ip}:8080/`)).code === 200,
    10_000,
  );
  return {
    ip: pod.ip,
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The guard routes of a node's bridge (they carry a metric unique to the bridge). */
async function guardRoutes(bridge: string): Promise<string[]> {
  const metric = new HostChanges(bridge).metric;
  const routes = await ipJson<{ dst: string; dev?: string; type?: string; metric?: number }[]>([
    "route",
    "show",
  ]);
  return routes.filter((r) => r.metric === metric).map((r) =>
    `${r.dst} ${r.type === "unreachable" ? "unreachable" : `dev ${r.dev}`}`
  )
    .sort();
}

function slice(name: string, svc: string, endpoints: Record<string, unknown>[]): KubeObject {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace: "default", labels: { "kubernetes.io/service-name": svc } },
    addressType: "IPv4",
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints,
  };
}

test("terminating endpoints drain only while nothing is ready, and internalTrafficPolicy Local never leaves the node", async () => {
  await using c = await startNetworkCluster({ controllers: ["node-ipam-controller"] });
  await using a = await httpd(c, "backend a\n");
  await using b = await httpd(c, "backend b\n");
  await apply(c, service("ext", { ports: [{ name: "http", port: 80, targetPort: 8080 }] }));
  const vip = await clusterIP(c, "ext");
  const client = await c.clientPod({ dns: false });
  const ep = (ip: string, conditions: Record<string, boolean>, nodeName = "node-1") => ({
    addresses: [ip],
    conditions,
    nodeName,
  });
  await c.client.create(
    R.endpointslices,
    slice("ext-1", "ext", [
      ep(a.ip, { ready: true, serving: true, terminating: false }),
      ep(b.ip, { ready: false, serving: true, terminating: true }),
    ]),
  );
  await eventually(
    "backend a programmed",
    () => Promise.resolve(programmed(c, "default/ext/tcp/http").length === 1),
  );
  const first = await spread(() => client.curl(`http://${vip}/`), 6);
  assert.deepEqual(
    [...first],
    [["backend a", 6]],
    "a terminating endpoint gets no new traffic while one is ready",
  );

  // Nothing ready: the serving, terminating endpoint drains the remaining traffic.
  const s = await c.client.get(R.endpointslices, "default", "ext-1");
  s.endpoints = [s.endpoints[1]];
  await c.client.update(R.endpointslices, s);
  await eventually(
    "backend b programmed",
    () => Promise.resolve(programmed(c, "default/ext/tcp/http")[0] === b.ip),
  );
  assert.deepEqual([...await spread(() => client.curl(`http://${vip}/`), 4)], [["backend b", 4]]);

  // internalTrafficPolicy: Local with the only endpoint on another node: dropped, not sent there.
  await apply(
    c,
    service("local", {
      internalTrafficPolicy: "Local",
      ports: [{ name: "http", port: 80, targetPort: 8080 }],
    }),
  );
  await c.client.create(R.endpointslices, slice("local-1", "local", [ep(a.ip, { ready: true }, "node-2")]));
  const localVip = await clusterIP(c, "local");
  await eventually(
    "the local service programmed",
    () => Promise.resolve(c.agent.addons!.proxy!.ports.some((p) => p.id === "default/local/tcp/http")),
  );
  assert.equal((await client.curl(`http://${localVip}/`, [], 2)).code, 0, "no local endpoint: dropped");
  const svc = await c.client.get(R.services, "default", "local");
  svc.spec.internalTrafficPolicy = "Cluster";
  await c.client.update(R.services, svc);
  await eventually(
    "the cluster policy to reach node-2's endpoint",
    async () => (await client.curl(`http://${localVip}/`, [], 2)).body === "backend a\n",
  );
});

test("a Wasm pod reaches itself and its namespace's other pods through their Services (hairpin)", async () => {
  await using c = await startNetworkCluster();
  const image = (await pushFixture(c.registry.host, "http_sm")).reference;
  await apply(
    c,
    identified("self", image, 1),
    service("self", { selector: { app: "self" }, ports: [{ port: 80, targetPort: 8080 }] }),
    identified("peer", image, 1),
    service("peer", { selector: { app: "peer" }, ports: [{ port: 80, targetPort: 8080 }] }),
  );
  await rollout(c, "self");
  await rollout(c, "peer");
  const [self] = await readyPods(c, "app=self");
  const [peer] = await readyPods(c, "app=peer");
  await eventually(
    "both services programmed",
    () =>
      Promise.resolve(
        programmed(c, "default/self/tcp/").length === 1 && programmed(c, "default/peer/tcp/").length === 1,
      ),
  );
  const client = await c.clientPod();
  const via = (vip: string) =>
    `http://${self.status.podIP}:8080/fetch?url=${encodeURIComponent(`http://${vip}/`)}`;
  // The pod calls its own Service: the request leaves its namespace and comes back to itself.
  const own = await client.curl(via(await clusterIP(c, "self")), [], 5);
  assert.deepEqual(own, { code: 200, body: `hello from ${self.metadata.name}\n` });
  // ...and another pod of its namespace, which shares its network namespace, through that pod's Service.
  const other = await client.curl(via(await clusterIP(c, "peer")), [], 5);
  assert.deepEqual(other, { code: 200, body: `hello from ${peer.metadata.name}\n` });
});

test("the userspace proxy serves cluster IPs and node ports, and the node condition says so", async () => {
  await using c = await startNetworkCluster({ network: { proxyMode: "userspace" } });
  assert.equal(c.agent.addons?.proxy?.mode, "userspace");
  assert.ok(!(await nftTables()).includes(`ip skiff-proxy-${c.bridge}`), "no nftables program");
  const image = (await pushFixture(c.registry.host, "http_sm")).reference;
  await apply(
    c,
    identified("web", image, 2),
    service("web", {
      type: "NodePort",
      selector: { app: "web" },
      ports: [{ name: "http", port: 80, targetPort: "http" }],
    }),
  );
  await rollout(c, "web");
  const svc = await c.client.get(R.services, "default", "web");
  await eventually(
    "two programmed endpoints",
    () => Promise.resolve(programmed(c, "default/web/tcp/http").length === 2),
  );
  const client = await c.clientPod();
  const seen = await spread(() => client.curl(`http://${svc.spec.clusterIP}/`), 8);
  assert.deepEqual([...seen.values()], [4, 4], JSON.stringify([...seen]));
  const res = await fetch(`http://127.0.0.1:${svc.spec.ports[0].nodePort}/`, {
    signal: AbortSignal.timeout(5000),
  });
  assert.match(await res.text(), /^hello from web-/);
  const node = await eventually("the condition on the Node", async () => {
    const n = await c.client.get(R.nodes, "", "node-1");
    return n.status.conditions.find((x: { type: string }) => x.type === "UserspaceServiceProxy")
      ? n
      : undefined;
  });
  const cond = node.status.conditions.find((x: { type: string }) => x.type === "UserspaceServiceProxy");
  assert.equal(cond.status, "True");
  assert.equal(cond.reason, "NftablesUnavailable");
  const addrs = async () =>
    (await ipJson<{ addr_info: { local: string }[] }[]>(["addr", "show", "dev", c.bridge]))[0].addr_info.map((
      a,
    ) => a.local);
  assert.ok((await addrs()).includes(svc.spec.clusterIP), "the cluster IP is on the bridge");
  await c.agent.addons!.stop();
  c.agent.addons = undefined;
  assert.ok(!(await addrs()).includes(svc.spec.clusterIP), "removed on stop");
});

test("stopping the node removes every table, route and sysctl the proxy and NetworkPolicy set", async () => {
  const brnf = readSysctl("net.bridge.bridge-nf-call-iptables");
  // Other software on the machine (the standard CNI bridge plugin, for one) may have turned the
  // global switch on; the proxy must leave it as it found it.
  const ipForward = readSysctl("net.ipv4.ip_forward");
  const c = await startNetworkCluster();
  let bridge = c.bridge;
  try {
    bridge = c.bridge;
    const tables = await nftTables();
    assert.ok(tables.includes(`ip skiff-proxy-${bridge}`), tables.join(","));
    assert.ok(tables.includes(`ip skiff-netpol-${bridge}`), tables.join(","));
    assert.equal(readSysctl(`net.ipv4.conf.${bridge}.forwarding`), "1");
    assert.equal(readSysctl(`net.ipv4.conf.${bridge}.route_localnet`), "1");
    assert.equal(readSysctl("net.ipv4.ip_forward"), ipForward, "the global switch stays as it was");
    assert.deepEqual(await guardRoutes(bridge), ["198.18.0.0/16 unreachable", "198.19.0.0/16 dev " + bridge]);
  } finally {
    await c.close();
  }
  const tables = await nftTables();
  assert.ok(!tables.some((t) => t.endsWith(`-${bridge}`)), `left behind: ${tables.join(",")}`);
  assert.deepEqual(await guardRoutes(bridge), [], "the guard routes are gone");
  assert.equal(readSysctl("net.bridge.bridge-nf-call-iptables"), brnf);
  assert.equal(readSysctl("net.ipv4.ip_forward"), ipForward);
});

testWith(
  NETWORK_PREREQUISITES,
  "./skiff up leaves no nftables rule, route or sysctl behind when it stops",
  async () => {
    const before = await nftTables();
    await using cluster = await startClusterProcess({
      node: true,
      readyTimeoutMs: 90_000,
      args: ["--no-ingress"],
    });
    // ./skiff up's node uses the bridge skiff0.
    const during = await eventually("the proxy's table", async () => {
      const t = await nftTables();
      return t.includes("ip skiff-proxy-skiff0") ? t : undefined;
    }, 30_000);
    assert.ok(during.includes("ip skiff-netpol-skiff0"), during.join(","));
    assert.equal(readSysctl("net.ipv4.conf.skiff0.forwarding"), "1");
    cluster.kill("SIGTERM");
    assert.equal((await cluster.exited).code, 0, cluster.stderr());
    const after = await nftTables();
    assert.ok(
      !after.includes("ip skiff-proxy-skiff0") && !after.includes("ip skiff-netpol-skiff0"),
      after.join(","),
    );
    assert.deepEqual(after.filter((t) => t.endsWith("-skiff0")), before.filter((t) => t.endsWith("-skiff0")));
    assert.deepEqual(await guardRoutes("skiff0"), [], "the guard routes are gone");
  },
);
