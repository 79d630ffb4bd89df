/**
 * Networking benchmarks (issue 7, "Service discovery and load balancing"), on one in-process
 * cluster with a real node agent (nftables service proxy, cluster DNS, Ingress controller) and a
 * Wasm HTTP component (`http_sm`) as the backend:
 *
 * - request latency through a ClusterIP against straight to the pod IP (target ≤ 1.1×), p50 of
 *   requests from the node, each on a new TCP connection (so every request crosses the DNAT
 *   rules), the two kinds interleaved;
 * - through the Ingress controller against straight to the pod (ratio reported);
 * - endpoint propagation: a new pod turns Ready (seen by a watch) → the first request through its
 *   Service that reaches it, p99 over `SKIFF_BENCH_NET_PROPAGATION` pods (default 15; target ≤ 1 s);
 * - DNS queries per second on the cluster DNS (A records, 64 in flight), against a trivial UDP
 *   echo server answering the same packets in this process.
 *
 * Needs root, iproute2, nftables and docker-registry. Run alone: `./skiff bench network`.
 * @module
 */
import dgram from "node:dgram";
import { Buffer } from "node:buffer";
// @ts-types="../../node/dns/dns_packet.d.ts"
import packet from "dns-packet";
import { R } from "../../control/api/client.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { pushFixture } from "../fixtures/push.ts";
import { eventually } from "../harness.ts";
import { readyPods, service, startNetworkCluster, wasmDeployment } from "../network_harness.ts";
import { type BenchRow, percentile } from "./bench_row.ts";

const REQUESTS = Number(Deno.env.get("SKIFF_BENCH_NET_REQUESTS") ?? 400);
const PROPAGATION_PODS = Number(Deno.env.get("SKIFF_BENCH_NET_PROPAGATION") ?? 15);
const DNS_SECONDS = 3;
const DNS_IN_FLIGHT = 64;

/** One GET on a new connection; resolves to its latency in ms (throws unless 200). */
async function timedGet(http: Deno.HttpClient, url: string, headers?: HeadersInit): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, { client: http, headers });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  return performance.now() - t0;
}

/** Interleaved latencies of several targets, after a warm-up. */
async function latencies(http: Deno.HttpClient, urls: string[], n: number): Promise<number[][]> {
  for (let i = 0; i < 20; i++) for (const u of urls) await timedGet(http, u);
  const out = urls.map(() => [] as number[]);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < urls.length; k++) {
      const j = (i + k) % urls.length; // rotate the order: no target always goes first
      out[j].push(await timedGet(http, urls[j]));
    }
  }
  return out;
}

/** Queries per second a UDP server answers, `inFlight` queries outstanding, for `seconds`. */
async function udpRate(
  port: number,
  host: string,
  query: Buffer,
  seconds: number,
  inFlight: number,
): Promise<number> {
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "0.0.0.0", () => r()));
  let answered = 0;
  let stop = false;
  const send = () => sock.send(query, port, host);
  const done = new Promise<void>((resolve) => {
    sock.on("message", () => {
      answered++;
      if (!stop) send();
    });
    setTimeout(() => {
      stop = true;
      resolve();
    }, seconds * 1000);
  });
  // Re-prime the window now and then: a datagram lost in a socket buffer must not shrink it.
  const primer = setInterval(() => {
    if (!stop) { for (let i = 0; i < 8; i++) send(); }
  }, 200);
  for (let i = 0; i < inFlight; i++) send();
  const t0 = performance.now();
  await done;
  const secs = (performance.now() - t0) / 1000;
  clearInterval(primer);
  await new Promise<void>((r) => sock.close(() => r()));
  return answered / secs;
}

/** A trivial UDP echo server (the DNS baseline). */
async function echoServer(hostname: string): Promise<{ port: number; close(): Promise<void> }> {
  const sock = dgram.createSocket("udp4");
  sock.on("message", (m: Buffer, r: { address: string; port: number }) => sock.send(m, r.port, r.address));
  await new Promise<void>((r) => sock.bind(0, hostname, () => r()));
  return {
    port: (sock.address() as { port: number }).port,
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}

function isReady(p: KubeObject): boolean {
  return (p.status?.conditions ?? []).some((c: { type: string; status: string }) =>
    c.type === "Ready" && c.status === "True"
  );
}

export async function benchNetwork(): Promise<BenchRow[]> {
  await using c = await startNetworkCluster({ network: { ingress: { httpPort: 0 } } });
  const image = (await pushFixture(c.registry.host, "http_sm")).reference;
  const apply = async (...objs: KubeObject[]) => {
    const r = await c.kubectl(["apply", "-f", "-"], objs.map((o) => JSON.stringify(o)).join("\n"));
    if (r.code !== 0) throw new Error(r.stderr);
  };
  await apply(
    wasmDeployment("backend", image, { greeting: "backend" }),
    service("backend", {
      selector: { app: "backend" },
      ports: [{ name: "http", port: 80, targetPort: "http" }],
    }),
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "backend", namespace: "default" },
      spec: {
        ingressClassName: "skiff",
        rules: [{
          http: {
            paths: [{
              path: "/",
              pathType: "Prefix",
              backend: { service: { name: "backend", port: { number: 80 } } },
            }],
          },
        }],
      },
    },
  );
  const r = await c.kubectl(
    ["rollout", "status", "deployment/backend", "--timeout=120s"],
    undefined,
    130_000,
  );
  if (r.code !== 0) throw new Error(r.stderr + r.stdout);
  const podIP = (await readyPods(c, "app=backend"))[0].status.podIP;
  const vip = (await c.client.get(R.services, "default", "backend")).spec.clusterIP;
  const ingressPort = c.agent.addons!.ingress!.server.httpPort!;
  const ingressHost = c.agent.addons!.ingress!.opts.hostname;
  using http = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  await eventually("the ClusterIP and the Ingress to answer", async () => {
    await timedGet(http, `http://${vip}/`);
    await timedGet(http, `http://${ingressHost}:${ingressPort}/`);
    return true;
  }, 30_000);

  const [direct, viaVip, viaIngress] = await latencies(http, [
    `http://${podIP}:8080/`,
    `http://${vip}/`,
    `http://${ingressHost}:${ingressPort}/`,
  ], REQUESTS);
  const p50 = (v: number[]) => percentile(v, 50);
  const directFig = { name: "straight to the pod IP, p50", value: p50(direct), unit: "ms" };
  const rows: BenchRow[] = [
    {
      name: "request through a ClusterIP (new connection each), p50",
      value: p50(viaVip),
      unit: "ms",
      baseline: directFig,
      ratio: p50(viaVip) / p50(direct),
      target: "≤ 1.1×",
      met: p50(viaVip) / p50(direct) <= 1.1,
    },
    {
      name: "request through the Ingress controller (new connection each), p50",
      value: p50(viaIngress),
      unit: "ms",
      baseline: directFig,
      ratio: p50(viaIngress) / p50(direct),
      target: "reported",
    },
  ];

  // Endpoint propagation: one Service per pod (programmed before the pod exists), so the first
  // answer through it can only come from that pod.
  const delays: number[] = [];
  for (let i = 0; i < PROPAGATION_PODS; i++) {
    const name = `prop-${i}`;
    await c.client.create(
      R.services,
      service(name, { selector: { prop: name }, ports: [{ port: 80, targetPort: 8080 }] }),
    );
    const svcIP = (await c.client.get(R.services, "default", name)).spec.clusterIP;
    await eventually(
      `the proxy to program ${name}`,
      () => Promise.resolve(c.agent.addons!.proxy!.ports.some((p) => p.clusterIP === svcIP)),
      10_000,
    );
    const ac = new AbortController();
    const ready = (async () => {
      const list = await c.client.list(R.pods, "default", { labelSelector: `prop=${name}` });
      for await (
        const ev of c.client.watch(R.pods, "default", {
          labelSelector: `prop=${name}`,
          resourceVersion: list.metadata.resourceVersion,
          signal: ac.signal,
        })
      ) {
        if (ev.type !== "ERROR" && isReady(ev.object as KubeObject)) return performance.now();
      }
      throw new Error("the watch ended");
    })();
    await c.client.create(R.pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default", labels: { prop: name } },
      spec: {
        runtimeClassName: "wasm",
        terminationGracePeriodSeconds: 0,
        containers: [{
          name: "web",
          image,
          ports: [{ containerPort: 8080 }],
          env: [{ name: "GREETING", value: name }],
        }],
      },
    });
    let served = 0;
    const deadline = Date.now() + 60_000;
    while (!served && Date.now() < deadline) {
      try {
        const res = await fetch(`http://${svcIP}/`, { client: http, signal: AbortSignal.timeout(1000) });
        const body = await res.text();
        if (res.status === 200 && body.includes(name)) served = performance.now();
      } catch { /* rejected: no endpoint yet */ }
      if (!served) await new Promise((r) => setTimeout(r, 5));
    }
    if (!served) throw new Error(`${name} never received traffic through its Service`);
    const readyAt = await Promise.race([
      ready,
      new Promise<number>((_, rej) => setTimeout(() => rej(new Error("no Ready event")), 10_000)),
    ]);
    ac.abort();
    await ready.catch(() => {});
    delays.push(Math.max(0, served - readyAt));
    await c.client.delete(R.pods, "default", name, { gracePeriodSeconds: 0 });
    await c.client.delete(R.services, "default", name);
  }
  const p99 = percentile(delays, 99);
  rows.push({
    name: `endpoint propagation, pod Ready → Service traffic, p99 of ${delays.length} (p50 ${
      percentile(delays, 50).toFixed(0)
    } ms)`,
    value: p99,
    unit: "ms",
    target: "≤ 1,000 ms",
    met: p99 <= 1000,
  });

  // DNS throughput against a UDP echo on the same address.
  const dns = c.agent.addons!.dns!;
  const query = Buffer.from(packet.encode({
    type: "query",
    id: 7,
    flags: packet.RECURSION_DESIRED,
    questions: [{ type: "A", class: "IN", name: "backend.default.svc.cluster.local" }],
  }));
  const echo = await echoServer(c.gateway);
  try {
    const dnsRate = await udpRate(dns.address.port, dns.address.ip, query, DNS_SECONDS, DNS_IN_FLIGHT);
    const echoRate = await udpRate(echo.port, c.gateway, query, DNS_SECONDS, DNS_IN_FLIGHT);
    rows.push({
      name: `cluster DNS, A queries/s (${DNS_IN_FLIGHT} in flight)`,
      value: dnsRate,
      unit: "q/s",
      baseline: { name: "UDP echo server", value: echoRate, unit: "q/s" },
      ratio: dnsRate / echoRate,
      target: "reported",
    });
  } finally {
    await echo.close();
  }
  return rows;
}

if (import.meta.main) {
  const { table } = await import("./bench_row.ts");
  console.log(table(await benchNetwork()));
}
